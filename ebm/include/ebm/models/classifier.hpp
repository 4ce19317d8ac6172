#pragma once
// The classifier as an energy model (JEM, Grathwohl et al. 2020): logits f(x) ∈ R^K from an MLP define
//   E(x, y) = −f(x)[y],   E(x) = −log Σ_y exp f(x)[y],   p(y | x) = softmax f(x).
// energy(params, x) is the marginal E(x), so samplers and unsupervised objectives see an ordinary energy.
#include "ebm/models/mlp.hpp"

namespace ebm {

template <class T>
class ClassifierEnergy : public Energy<T> {
 public:
  /// widths {d, hidden..., classes}.
  ClassifierEnergy(int64_t d, std::vector<int64_t> hidden, int64_t classes, Activation act, ad::Rng& rng);

  std::string name() const override { return "classifier"; }
  int64_t dim() const override { return widths_.front(); }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<ClassifierEnergy>(*this); }
  /// E(x) = −logsumexp_y f(x)[y], [B].
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;

  int64_t classes() const { return widths_.back(); }
  Activation activation() const { return act_; }
  /// f(x), [B, K].
  ad::Var<T> logits(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const;
  /// E(x, y) = −f(x)[y], [B]; labels in [0, K).
  ad::Var<T> energy_xy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x, const std::vector<int64_t>& labels) const;
  /// log p(y | x) for the given labels, [B] (the cross-entropy term of JEM is its negative mean).
  ad::Var<T> log_prob_y_given_x(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x,
                                const std::vector<int64_t>& labels) const;
  /// p(y | x) = softmax f(x), [B, K], θ fixed.
  ad::Tensor<T> class_probabilities(const ad::Tensor<T>& x) const;

 private:
  std::vector<int64_t> widths_;
  Activation act_;
};

extern template class ClassifierEnergy<float>;
extern template class ClassifierEnergy<double>;

}  // namespace ebm
