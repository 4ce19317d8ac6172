#include "samplers/mala.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

#include "kernels.hpp"

namespace samplers {

template <class T>
Mala<T>::Mala(BatchEnergy<T> energy, MalaOptions options) : energy_(std::move(energy)), options_(options) {
  if (!(options_.step_size > 0) || !std::isfinite(options_.step_size))
    throw std::invalid_argument("samplers::Mala: step_size must be positive and finite");
}

template <class T>
SamplerStats Mala<T>::run(ChainState<T>& state, int64_t steps, const Observer<T>& observe) {
  return go(state, steps, observe, false);
}

template <class T>
SamplerStats Mala<T>::warmup(ChainState<T>& state, int64_t steps) {
  return go(state, steps, {}, true);
}

template <class T>
SamplerStats Mala<T>::go(ChainState<T>& state, int64_t steps, const Observer<T>& observe, bool adapt) {
  const int64_t n = state.chains();
  detail::check_batch("Mala", n, state.dim());
  detail::Workspace<T> w;
  w.init(eval_, energy_, state, true);
  detail::StepFlags flags;
  std::vector<double> eps(size_t(n), options_.step_size), beta(size_t(n), 1.0);
  DualAveraging da(options_.step_size, options_.target_accept);
  SamplerStats stats;
  for (int64_t t = 0; t < steps; ++t) {
    detail::mala_step(eval_, energy_, state, w, eps.data(), beta.data(), flags);
    flags.add_to(stats);
    if (adapt) eps.assign(size_t(n), da.update(flags.mean_accept(0, n)));
    if (observe) observe(t, state);
  }
  if (adapt && steps > 0) options_.step_size = da.final_step();
  stats.step_size = options_.step_size;
  return stats;
}

template class Mala<float>;
template class Mala<double>;

}  // namespace samplers
