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
//
// Improved CD (Du, Li, Tenenbaum & Mordatch 2020), with ImprovedCd::enabled: the loss adds w · L_KL, a surrogate
// whose θ-gradient estimates the part of ∇θ KL(q_θ‖p_θ) that plain CD drops (q_θ: the sampler's law), Note
// [Improved CD]. Langevin negatives only. Terms "kl" (L_KL) and "entropy" (its nearest-neighbour entropy H).
//
// Note [Improved CD]
// ~~~~~~~~~~~~~~~~~~
// KL(q_θ‖p_θ) = E_{q_θ}[E_θ(x)] + log Z_θ − H(q_θ). Its θ-gradient has two parts:
//   (a) θ in E_θ and log Z_θ with q held fixed: E_q[∇θE_θ] − E_p[∇θE_θ], which vanishes as q → p and needs
//       exact samples of p_θ to estimate; dropped, as Du et al. do;
//   (b) θ in the law q_θ: ∂/∂θ (E_{q_θ}[E_θ̄(x)] − H(q_θ)) with θ̄ = θ held fixed inside E.
// (b) is estimated by reparametrising the last Langevin transition: with x_{K−1} and the noise z held fixed,
//   x_K(θ) = x_{K−1} − (ε/2) ∇ₓE_θ(x_{K−1}) + σ z
// is a sample of q_θ given x_{K−1} whose dependence on θ is explicit (the earlier K − 1 transitions' dependence
// is dropped, as Du et al. do). So the surrogate
//   L_KL = mean_i E_{sg θ}(x_K,i(θ)) − H,   H = mean_i log ‖x_K,i(θ) − r_i‖
// has gradient (b): E_{sg θ} = E_θ̄ is the energy with every parameter held constant, so ∇θ reaches it only
// through x_K, i.e. through ∇ₓE_θ(x_{K−1}) recorded with create_graph (a second-order path). θ̄ is bound as
// constants from the model's parameter values (the values the chains were drawn with) rather than as
// ad::stop_gradient(θ): in training the two are the same numbers, but with the constants L_KL is a function of
// θ whose derivative is its gradient, so it passes a gradcheck (θ̄ = stop_gradient(θ) would make the value move
// with θ while the gradient ignores it: the surrogate of no function). For the same reason the chains (and the
// CD surrogate's negatives) move with θ̄, x̄_K = x_{K−1} − (ε/2)∇ₓE_θ̄(x_{K−1}) + σz, and the taped positions are
// x_K(θ) = x̄_K − (ε/2)(∇ₓE_θ − ∇ₓE_θ̄)(x_{K−1}): equal in value in training, and the ∇θ path of x_K. This costs
// one more first-order ∇ₓE of the batch per step.
// H is the nearest-neighbour (Kozachenko–Leonenko) entropy estimate without its constants and, as in Du et al.'s
// code, without its factor d (the dimension): in d dimensions the entropy term's gradient is 1/d of the
// estimator's.
// r_i, the nearest neighbour of x_K,i, is a constant: chosen among the positions of the pool's other chains (the
// slots not drawn this step, before the draw) for a replay buffer, and among the other chains of this batch at
// x_K (leave one out) for chains from the data and for PCD (every chain drawn). A chain's own earlier position
// is never its neighbour: the term would reward moving away from it, not spreading the samples. The choice of r_i is piecewise constant in θ, so it carries no gradient anyway.
//
// Design: the NegativePhase makes k − 1 transitions with the configured sampler (no tape) and hands the chains to
// the objective (LastStep), which takes the k-th on the tape with the same noise the sampler would have drawn
// (each chain's generator, ad::fill_normal) and leaves x_K in the chains, so persistent pools keep x_K. The CD
// surrogate sees x_K as constants: with w = 0 the loss and gradients are plain CD's with the same draws. The
// last step is plain ULA: gradient clipping and clamping are refused, and non-finite positions are not rejected
// (the training loop's divergence guard sees a non-finite loss instead).
#include "ebm/objectives/negatives.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

/// Improved CD's KL term (Note [Improved CD]).
struct ImprovedCd {
  bool enabled = false;
  double weight = 1.0;  // w
  bool entropy = true;  // include −H in L_KL
};

template <class T>
class ContrastiveDivergence : public Objective<T> {
 public:
  ContrastiveDivergence(NegativePhase<T> negatives, double energy_reg = 0.0, ImprovedCd kl = {});

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
  ImprovedCd kl_;
  ad::Tensor<T> last_;
};

/// The CD surrogate for given energies of data [B] and negatives [M] (both on one tape): shared by CD and JEM.
/// Appends its terms to `terms`.
template <class T>
ad::Var<T> contrastive_surrogate(const ad::Var<T>& e_data, const ad::Var<T>& e_samples, double alpha, std::vector<Term>& terms);

extern template class ContrastiveDivergence<float>;
extern template class ContrastiveDivergence<double>;

}  // namespace ebm
