#pragma once
// Adversarial (variational) training of an EBM (Song & Kingma 2021 §adversarial; Ermon & Song lecture 12).
//
// Derivation. For any density q, Gibbs' inequality KL(q‖p_θ) ≥ 0 with p_θ = e^{−E_θ}/Z_θ gives
//   log Z_θ ≥ E_q[−E_θ(y)] + H(q),   equality iff q = p_θ,
// so the negative log-likelihood E_p[E_θ] + log Z_θ equals max_q of
//   J(θ, φ) = E_p[E_θ(x)] − E_{q_φ}[E_θ(y)] + H(q_φ),
// and maximum likelihood becomes the maximin game min_θ max_φ J. (For fixed θ, maximising J over φ is
// minimising KL(q_φ‖p_θ), a reverse-KL fit of q to the model.) The sampler q_φ is reparameterised,
// y = g_φ(z) with z ~ N(0, I), so ∇φ comes through the samples; its entropy is tractable:
//   gaussian:  y = m + e^{s} ⊙ z,          H = Σ s + (d/2)(1 + log 2π)                       (closed form)
//   flow:      y = g_φ(z) (CouplingFlow), H = (d/2)(1 + log 2π) + E_z[log|det ∂g/∂z|]       (change of variables)
// In the flow's entropy E[−log N(z)] = (d/2)(1 + log 2π) is taken exactly; only the log-det is averaged.
//
// One surrogate for one optimiser (θ descends J, φ ascends it), with sg = stop_gradient:
//   S = [mean E_θ(x) − mean E_θ(sg y) + sg H] + P − sg P,   P = mean E_{sg θ}(y) − H,
// so ∇θ S = ∇θ J, ∇φ S = ∇φ P = −∇φ J, and the value of S is J (a lower bound on the negative
// log-likelihood at the current θ; tight when q = p_θ).
// (∇θ J, −∇φ J) is not the gradient of any function, so `ebm check-grad` (finite differences of the
// surrogate's value) must fail on this objective; bound() is the function to gradcheck.
// Terms: "bound" (J), "data_energy", "sample_energy", "entropy", "log_z_bound" (−mean E(y) + H ≤ log Z_θ).
#include <optional>
#include <vector>

#include "ebm/models/flow.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

enum class SamplerFamily { gaussian, flow };

struct AdversarialOptions {
  SamplerFamily family = SamplerFamily::gaussian;
  int flow_layers = 4;
  std::vector<int64_t> flow_hidden{32, 32};
  Activation flow_activation = Activation::tanh;
  int64_t samples = 0;    // draws from q per batch; 0: as many as the batch has rows
  uint64_t init_seed = 0; // the flow's initialisation
};

template <class T>
struct SamplerDraw {
  ad::Var<T> y;        // [B, d]
  ad::Var<T> entropy;  // scalar: H(q_φ), exact (gaussian) or a Monte Carlo estimate (flow)
};

template <class T>
class AdversarialTraining : public Objective<T> {
 public:
  /// q starts as N(mean, diag var) of `data` when given (a start in the data's region), else N(0, I).
  AdversarialTraining(int64_t dim, AdversarialOptions options, const ad::Tensor<T>* data = nullptr);
  std::string name() const override { return "adversarial"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<AdversarialTraining>(*this); }
  /// The shard's share of `samples` (when set).
  std::unique_ptr<Objective<T>> shard(int s, int count) const override {
    auto part = std::make_unique<AdversarialTraining>(*this);
    if (options_.samples > 0) part->options_.samples = shard_share(options_.samples, s, count, "samples");
    return part;
  }
  Loss<T> loss(const LossInput<T>& in) override;
  /// bound() on loss()'s base draws.
  ad::Var<T> gradcheck_value(const LossInput<T>& in) override;

  const AdversarialOptions& options() const { return options_; }
  int64_t dim() const { return dim_; }

  /// y = g_φ(z) and H(q_φ) from the parameters φ as Vars (in extra_params() order) and base draws z [B, d].
  SamplerDraw<T> draw(const std::vector<ad::Var<T>>& phi, const ad::Var<T>& z) const;
  /// J(θ, φ) on in.x with the base draws z held fixed: a plain function of θ and φ for gradcheck.
  ad::Var<T> bound(const LossInput<T>& in, const ad::Tensor<T>& z) const;

  /// n draws from q at the current parameters, [n, d].
  ad::Tensor<double> sample(int64_t n, ad::Rng& rng) const;
  /// H(q): exact for the Gaussian, for the flow a Monte Carlo estimate over n draws.
  double entropy(int64_t n, ad::Rng& rng) const;

 private:
  AdversarialOptions options_;
  int64_t dim_;
  std::optional<CouplingFlow<T>> flow_;
};

extern template class AdversarialTraining<float>;
extern template class AdversarialTraining<double>;

}  // namespace ebm
