#pragma once
// Energies built from other energies.
//
// SumEnergy (product of experts): E(x) = (1/τ) Σ_k w_k E_k(x), i.e. p(x) ∝ Π_k p_k(x)^{w_k/τ}.
//   The weights w_k and the temperature τ are fixed numbers, not parameters: learning them jointly with the
//   experts would be redundant with each expert's own scale. The sum owns copies of the experts; its
//   params() are the experts' parameters concatenated in order and renamed "e<k>.<name>", and they are the
//   authoritative values (the experts held inside only describe structure; expert_snapshot(k) returns an
//   expert carrying the current values).
//
// NoiseConditionalEnergy: E(x, σ) for noise-conditional score matching (NCSN-style ladders), three ways:
//   Conditioning::input_column  E(x, σ) = E_inner([x, log σ]), the inner energy takes d + 1 columns;
//   Conditioning::scale         E(x, σ) = E_inner(x) / σ, so the score is s_inner(x)/σ (the scaling NCSNv2
//                               found adequate; the inner energy then models the σ = 1 score shape);
//   Conditioning::column_and_scale  E(x, σ) = E_inner([x, log σ]) / σ: the shape may change with σ while the
//                               1/σ keeps the inner output O(1) across the ladder (the true score near the
//                               data grows like 1/σ², which a plain input column must produce on its own).
//   energy(params, x) evaluates at a fixed default σ (the smallest of a ladder, for sampling).
#include "ebm/models/energy.hpp"

namespace ebm {

template <class T>
class SumEnergy : public Energy<T> {
 public:
  /// weights default to 1 each; all experts must share dim().
  SumEnergy(std::vector<std::unique_ptr<Energy<T>>> experts, std::vector<double> weights = {}, double temperature = 1.0);
  SumEnergy(const SumEnergy& other);
  SumEnergy& operator=(const SumEnergy&) = delete;

  std::string name() const override { return "sum"; }
  int64_t dim() const override { return experts_.front()->dim(); }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<SumEnergy>(*this); }
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;

  size_t experts() const { return experts_.size(); }
  const std::vector<double>& weights() const { return weights_; }
  double temperature() const { return temperature_; }
  /// Expert k with the sum's current parameter values.
  std::unique_ptr<Energy<T>> expert_snapshot(size_t k) const;

 private:
  std::vector<std::unique_ptr<Energy<T>>> experts_;
  std::vector<size_t> offset_;  // experts_[k]'s parameters start at params_[offset_[k]]
  std::vector<double> weights_;
  double temperature_;
};

template <class T>
class NoiseConditionalEnergy : public Energy<T> {
 public:
  enum class Conditioning { input_column, scale, column_and_scale };
  NoiseConditionalEnergy(std::unique_ptr<Energy<T>> inner, Conditioning how, double default_sigma);
  NoiseConditionalEnergy(const NoiseConditionalEnergy& other);
  NoiseConditionalEnergy& operator=(const NoiseConditionalEnergy&) = delete;

  std::string name() const override { return "noise_conditional"; }
  int64_t dim() const override { return how_ == Conditioning::scale ? inner_->dim() : inner_->dim() - 1; }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<NoiseConditionalEnergy>(*this); }
  /// E(x, default σ).
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;
  /// E(x_n, σ_n), sigma of shape [B] (one noise level per row, positive).
  ad::Var<T> energy_at(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x, const ad::Var<T>& sigma) const;

  Conditioning conditioning() const { return how_; }
  double default_sigma() const { return default_sigma_; }
  void set_default_sigma(double s) { default_sigma_ = s; }

 private:
  std::unique_ptr<Energy<T>> inner_;
  Conditioning how_;
  double default_sigma_;
};

extern template class SumEnergy<float>;
extern template class SumEnergy<double>;
extern template class NoiseConditionalEnergy<float>;
extern template class NoiseConditionalEnergy<double>;

}  // namespace ebm
