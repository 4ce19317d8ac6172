#pragma once
// A small normalising flow: RealNVP affine couplings (Dinh et al. 2017) followed by an elementwise affine map,
// y = g(z) with z ~ N(0, I_d), with the log-determinant of the Jacobian alongside. It is a sampler with a
// tractable density (log q(y) = log N(z) − log|det ∂g/∂z|), used by adversarial training for its entropy and by
// flow contrastive estimation for the noise density at the data (through inverse()).
//
// Coupling layer k keeps the coordinates with (i + k) even (mask m) and moves the others:
//   y = z ⊙ exp(s) + t,   s = tanh(S_k(z ⊙ m)) ⊙ (1 − m),   t = T_k(z ⊙ m) ⊙ (1 − m),
// with S_k, T_k MLPs. Since s and t vanish on the kept coordinates, the Jacobian is triangular after a
// permutation and log|det| = Σ_i s_i. The tanh bounds each layer's log-scale to (−1, 1): a step of the
// optimiser cannot blow a layer up, and the final affine layer y = loc + exp(log_scale) ⊙ y supplies the
// overall scale (log|det| += Σ log_scale). The last layers of S_k and T_k start at zero, so the flow starts
// as the affine map alone. Couplings need d ≥ 2 (with d = 1 only the affine layer is allowed).
// Parameters ("<prefix>S<k>.W0", ..., "<prefix>T<k>.W0", ..., "<prefix>loc", "<prefix>log_scale") are held by
// the owner (e.g. an objective's extra_params()); forward() reads them from Vars in params() order.
//
// The inverse is analytic: a coupling leaves its kept coordinates unchanged, so s and t can be recomputed from
// the output's kept coordinates, and the moved ones are z = (y − t) ⊙ exp(−s). inverse() undoes the affine
// layer, then the couplings from the last to the first.
#include <string>
#include <utility>
#include <vector>

#include "ebm/models/mlp.hpp"

namespace ebm {

template <class T>
struct FlowOutput {
  ad::Var<T> y;        // [B, d]
  ad::Var<T> log_det;  // [B]: log|det ∂y/∂z| per row
};

template <class T>
class CouplingFlow {
 public:
  CouplingFlow(int64_t d, int layers, std::vector<int64_t> hidden, Activation act, ad::Rng& rng, const std::string& prefix = "flow.");

  int64_t dim() const { return d_; }
  int layers() const { return layers_; }
  /// Initial parameters (owned by the caller from here on).
  const std::vector<Param<T>>& initial_params() const { return init_; }
  /// Pushes z [B, d] through the flow with parameters params[first .. first + initial_params().size()).
  FlowOutput<T> forward(const std::vector<ad::Var<T>>& params, size_t first, const ad::Var<T>& z) const;
  /// z = g⁻¹(y) for y [B, d] (same parameters), returned in FlowOutput::y, with log|det ∂g/∂z| at that z (the
  /// forward map's, not the inverse's), so log q(y) = log N(z) − log_det in either direction.
  FlowOutput<T> inverse(const std::vector<ad::Var<T>>& params, size_t first, const ad::Var<T>& y) const;

 private:
  int64_t d_;
  int layers_;
  std::vector<int64_t> widths_;  // of each S_k and T_k: {d, hidden..., d}
  Activation act_;
  std::vector<Param<T>> init_;

  /// Coupling k's log-scale s and shift t from the kept coordinates of `v` (the same before and after the layer).
  std::pair<ad::Var<T>, ad::Var<T>> coupling(const std::vector<ad::Var<T>>& params, size_t first, int k, const ad::Var<T>& v) const;
};

extern template class CouplingFlow<float>;
extern template class CouplingFlow<double>;

}  // namespace ebm
