#include "ebm/objectives/score_matching.hpp"

#include <stdexcept>

namespace ebm {

template <class T>
ScoreMatching<T>::ScoreMatching(int hutchinson_probes) : probes_(hutchinson_probes) {
  if (hutchinson_probes < 0) throw std::invalid_argument("ScoreMatching: probes must be >= 0");
}

template <class T>
Loss<T> ScoreMatching<T>::loss(const LossInput<T>& in) {
  const ad::Var<T> x = in.tape.variable(in.x);  // a variable so that ∇ₓ exists; the data themselves are fixed
  const ad::Var<T> f = ad::sum(in.model.energy(in.theta, x));
  const ad::Var<T> g = ad::grad(f, x, true);  // rows: ∇ₓE(x_n), recorded so θ-gradients flow through it
  const ad::Var<T> tr = probes_ == 0 ? ad::hessian_trace(f, x, true, g)
                                     : ad::hutchinson_trace(f, x, probes_, in.rng, ad::Probe::rademacher, true, g);
  const ad::Var<T> half = 0.5 * ad::sum(ad::square(g), 1);
  return {ad::mean(half - tr), {mean_term("grad_sq", half), mean_term("trace", tr)}};
}

template class ScoreMatching<float>;
template class ScoreMatching<double>;

}  // namespace ebm
