#pragma once
// Flow contrastive estimation (Gao, Nijkamp, Kingma, Xu, Dai & Wu 2020): noise-contrastive estimation whose
// noise is a normalising flow q_φ trained against the energy model instead of being fixed.
//
// The value function is NCE's loss (nce.hpp) with q = q_φ, ν noise draws per data row and B data rows:
//   G(x) = −E_θ(x) − c − log q_φ(x) − log ν,
//   L(θ, c, φ) = (1/B) [ Σ_data softplus(−G(x)) + Σ_noise softplus(G(y)) ],   y = g_φ(z), z ~ N(0, I).
// The model (θ) and the log-normaliser c minimise L, as in NCE; the flow maximises it, i.e. it makes its draws
// as hard as it can to tell from the data. For a fixed q the inner minimum is NCE's, whose optimum is p_θ = p_data
// and c = log Z_θ for any q that covers the data; the flow's part is to keep the classification problem hard, so
// that the contrast stays informative where a fixed noise would be told apart from the data at a glance.
// log q_φ is needed at two kinds of points: at the flow's draws y = g_φ(z), log q_φ(y) = log N(z) − log|det ∂g/∂z|
// from the forward pass; at the data, z = g_φ⁻¹(x) from the flow's analytic inverse (CouplingFlow::inverse).
// Both depend on φ, and the draws y also through their position (reparameterisation).
//
// Note [FCE's surrogate]. One optimiser descends every parameter, so the loss returned is a surrogate whose
// gradient is (∇θ L, ∇c L, −∇φ L). With sg = ad::stop_gradient,
//   S = L(θ, c; sg φ) − L(sg θ, sg c; φ) + sg L(sg θ, sg c; φ).
// The first term carries ∇θ and ∇c only (φ is stopped); the second carries ∇φ only, with a minus sign; the third
// has no gradient and cancels the second's value, so value(S) = L. (The draws z and the data are the same in
// both evaluations, so the two L's are equal in value.) (∇θ L, ∇c L, −∇φ L) is not the gradient of any function,
// so finite differences of S cannot check it; gradcheck_value() returns L itself with the same draws, whose
// gradient is (∇θ S, ∇c S, −∇φ S).
// Terms: "data_term", "noise_term", "log_z" (c), "accuracy" (as NCE) and "flow_log_det" (mean log|det ∂g/∂z|
// over the noise draws: the flow's log-volume change, which follows how it spreads or contracts).
#include <optional>
#include <vector>

#include "ebm/models/flow.hpp"
#include "ebm/objectives/objective.hpp"

namespace ebm {

struct FceOptions {
  double noise_ratio = 1.0;  // ν: flow draws per data row
  int flow_layers = 4;       // coupling layers; 1-D data takes the affine layer alone (couplings need d >= 2)
  std::vector<int64_t> flow_hidden{32, 32};
  Activation flow_activation = Activation::tanh;
  double init_log_z = 0.0;
  uint64_t init_seed = 0;  // the flow's initialisation
};

template <class T>
class FlowContrastiveEstimation : public Objective<T> {
 public:
  /// The flow starts as N(mean, diag var) of `data` when given (so the first contrasts are against noise in the
  /// data's region), else N(0, I). extra_params(): "log_z", then the flow's ("q.S0.W0", ..., "q.loc", "q.log_scale").
  FlowContrastiveEstimation(int64_t dim, FceOptions options, const ad::Tensor<T>* data = nullptr);
  std::string name() const override { return "fce"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<FlowContrastiveEstimation>(*this); }
  Loss<T> loss(const LossInput<T>& in) override;
  /// L(θ, c, φ) on the same draws loss() makes from in.rng (Note [FCE's surrogate]).
  ad::Var<T> gradcheck_value(const LossInput<T>& in) override;

  /// L with the flow's base draws z [νB, d] given: a plain function of θ = in.theta, c = in.extra[0] and
  /// φ = in.extra[1..], for gradcheck.
  ad::Var<T> value(const LossInput<T>& in, const ad::Tensor<T>& z) const;

  /// The learnt log-normaliser c.
  double log_z() const { return static_cast<double>(this->extra_[0].value.item()); }
  const FceOptions& options() const { return options_; }
  int64_t dim() const { return dim_; }
  /// n draws from the flow at its current parameters, [n, d].
  ad::Tensor<double> sample(int64_t n, ad::Rng& rng) const;
  /// log q_φ(x) for each row of x [N, d] at the current parameters, [N].
  ad::Tensor<double> log_density(const ad::Tensor<T>& x) const;

 private:
  struct Pass {
    ad::Var<T> g_data, g_noise;          // the logits G, [B] and [νB]
    ad::Var<T> data_term, noise_term;    // softplus(−G(x)), softplus(G(y))
    ad::Var<T> value;                    // L
    ad::Var<T> log_det;                  // log|det ∂g/∂z| of the noise draws, [νB]
  };
  Pass pass(const LossInput<T>& in, const std::vector<ad::Var<T>>& theta, const ad::Var<T>& c, const std::vector<ad::Var<T>>& phi,
            const ad::Tensor<T>& z) const;
  int64_t draws(int64_t rows) const;
  ad::Tensor<T> base_draws(int64_t rows, ad::Rng& rng) const;

  FceOptions options_;
  int64_t dim_;
  CouplingFlow<T> flow_;
};

extern template class FlowContrastiveEstimation<float>;
extern template class FlowContrastiveEstimation<double>;

}  // namespace ebm
