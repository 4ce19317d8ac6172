#pragma once
// JEM (Grathwohl et al. 2020): a classifier trained as a joint energy model,
//   log p_θ(x, y) = log p_θ(y | x) + log p_θ(x),  p_θ(y | x) = softmax f_θ(x),  E_θ(x) = −logsumexp_y f_θ(x)[y].
// The loss per batch is the cross-entropy −mean log p(y | x) plus `px_weight` times the maximum-likelihood
// surrogate of log p(x) (contrastive_divergence.hpp) with negatives from SGLD on a replay buffer (as in the
// paper) or any other NegativePhase. px_weight = 0 gives a plain classifier.
// Needs a ClassifierEnergy model and labels in [0, K). Terms: "cross_entropy", "accuracy" (on the batch),
// "energy_data", "energy_samples", "accept_rate", and "energy_reg" if α > 0.
#include "ebm/objectives/contrastive_divergence.hpp"

namespace ebm {

template <class T>
class JointEnergyModel : public Objective<T> {
 public:
  JointEnergyModel(NegativePhase<T> negatives, double px_weight = 1.0, double energy_reg = 0.0);

  std::string name() const override { return "jem"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<JointEnergyModel>(*this); }
  /// Its negative phase's shard (NegativePhase::shard).
  std::unique_ptr<Objective<T>> shard(int s, int count) const override {
    auto part = std::make_unique<JointEnergyModel>(*this);
    part->negatives_ = negatives_.shard(s, count);
    return part;
  }
  Loss<T> loss(const LossInput<T>& in) override;
  std::vector<uint8_t> save_state() const override { return negatives_.save_state(); }
  void load_state(const std::vector<uint8_t>& blob) override { negatives_.load_state(blob); }

  const NegativePhase<T>& negatives() const { return negatives_; }
  const ad::Tensor<T>& last_negatives() const { return last_; }

 private:
  NegativePhase<T> negatives_;
  double px_weight_, alpha_;
  ad::Tensor<T> last_;
};

extern template class JointEnergyModel<float>;
extern template class JointEnergyModel<double>;

}  // namespace ebm
