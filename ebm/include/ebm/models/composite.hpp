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
//   Conditioning::preconditioned  the EDM preconditioning (Karras et al. 2022) written as an energy, with m and
//                               σ_d the data's mean and standard deviation (scalars over all pixels):
//       E(x, σ) = ‖x − m‖² / (2(σ² + σ_d²)) − c_out(σ)/σ² · E_inner([c_in (x − m), log σ]),
//       c_in = 1/√(σ² + σ_d²),  c_out = σ σ_d / √(σ² + σ_d²).
//     The first term is the exact energy of N(m, σ_d²I) data noised by σ; Tweedie's denoiser is then
//       x − σ²∇E = m + c_skip (x − m) + c_out ∇ₓE_inner,  c_skip = σ_d² / (σ² + σ_d²),
//     so the inner network only adds a correction with a unit-variance DSM target at every σ. Without the skip
//     term, the denoiser x − σ²∇E must cancel the noise in all d directions through ∇E = W₁ᵀ(…), whose rank is
//     at most the first hidden width: with fewer hidden units than pixels, noise stays in the other directions.
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
  enum class Conditioning { input_column, scale, column_and_scale, preconditioned };
  /// data_mean and data_sd (m and σ_d) are used by Conditioning::preconditioned only.
  NoiseConditionalEnergy(std::unique_ptr<Energy<T>> inner, Conditioning how, double default_sigma, double data_mean = 0,
                         double data_sd = 1);
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
  double data_mean() const { return data_mean_; }
  double data_sd() const { return data_sd_; }

 private:
  std::unique_ptr<Energy<T>> inner_;
  Conditioning how_;
  double default_sigma_;
  double data_mean_ = 0, data_sd_ = 1;
};

extern template class SumEnergy<float>;
extern template class SumEnergy<double>;
extern template class NoiseConditionalEnergy<float>;
extern template class NoiseConditionalEnergy<double>;

}  // namespace ebm
