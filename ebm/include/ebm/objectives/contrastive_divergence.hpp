#pragma once
// Maximum likelihood with MCMC negatives: contrastive divergence (CD-k), persistent CD and replay buffers.
//
// For p_θ ∝ exp(−E_θ), ∇θ[−log p_θ(x)] = ∇θE_θ(x) − E_{p_θ}[∇θE_θ]. With negatives x⁻ drawn from (an MCMC
// approximation of) p_θ and held fixed, the surrogate
//   L = mean_data E_θ(x⁺) − mean_neg E_θ(x⁻)  [+ α (mean E_θ(x⁺)² + mean E_θ(x⁻)²)]
// has exactly that gradient. Its value is not the log-likelihood (log Z is missing); it is the gap between
// data and sample energies, which goes to 0 as the sampler's law approaches the data. The optional energy
// regulariser (Du & Mordatch 2019) keeps energies near 0, which keeps Langevin step sizes meaningful.
// Terms: "energy_data", "energy_samples", "accept_rate" (of the sampler's k steps), and "energy_reg" if α > 0.
#include "ebm/objectives/negatives.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

template <class T>
class ContrastiveDivergence : public Objective<T> {
 public:
  ContrastiveDivergence(NegativePhase<T> negatives, double energy_reg = 0.0);

  std::string name() const override { return "cd"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<ContrastiveDivergence>(*this); }
  /// Its negative phase's shard (NegativePhase::shard).
  std::unique_ptr<Objective<T>> shard(int s, int count) const override {
    auto part = std::make_unique<ContrastiveDivergence>(*this);
    part->negatives_ = negatives_.shard(s, count);
    return part;
  }
  Loss<T> loss(const LossInput<T>& in) override;
  /// Bernoulli RBMs without the energy regulariser: the free energy's closed-form gradients (no tape), the same
  /// negatives and terms as loss(); std::nullopt for any other model.
  std::optional<LossAndGrad<T>> direct_loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x, ad::Rng& rng,
                                                     const std::vector<int64_t>* labels) override;
  std::vector<uint8_t> save_state() const override { return negatives_.save_state(); }
  void load_state(const std::vector<uint8_t>& blob) override { negatives_.load_state(blob); }

  const NegativePhase<T>& negatives() const { return negatives_; }
  /// The negatives of the last loss() call, [count, d].
  const ad::Tensor<T>& last_negatives() const { return last_; }

 private:
  NegativePhase<T> negatives_;
  double alpha_;
  ad::Tensor<T> last_;
};

/// The CD surrogate for given energies of data [B] and negatives [M] (both on one tape): shared by CD and JEM.
/// Appends its terms to `terms`.
template <class T>
ad::Var<T> contrastive_surrogate(const ad::Var<T>& e_data, const ad::Var<T>& e_samples, double alpha, std::vector<Term>& terms);

extern template class ContrastiveDivergence<float>;
extern template class ContrastiveDivergence<double>;

}  // namespace ebm
