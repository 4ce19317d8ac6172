#include "samplers/metropolis.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels.hpp"

namespace samplers {

template <class T>
RandomWalkMetropolis<T>::RandomWalkMetropolis(BatchEnergy<T> energy, MetropolisOptions options)
    : energy_(std::move(energy)), options_(std::move(options)) {
  if (!(options_.step_size > 0) || !std::isfinite(options_.step_size))
    throw std::invalid_argument("samplers::RandomWalkMetropolis: step_size must be positive and finite");
}

template <class T>
SamplerStats RandomWalkMetropolis<T>::run(ChainState<T>& state, int64_t steps, const Observer<T>& observe) {
  return go(state, steps, observe, false);
}

template <class T>
SamplerStats RandomWalkMetropolis<T>::warmup(ChainState<T>& state, int64_t steps) {
  return go(state, steps, {}, true);
}

template <class T>
SamplerStats RandomWalkMetropolis<T>::go(ChainState<T>& state, int64_t steps, const Observer<T>& observe,
                                         bool adapt) {
  const int64_t n = state.chains(), d = state.dim();
  detail::check_batch("RandomWalkMetropolis", n, d);
  if (!options_.scale.empty() && int64_t(options_.scale.size()) != d)
    throw std::invalid_argument("samplers::RandomWalkMetropolis: scale has " + std::to_string(options_.scale.size()) +
                                " entries for dimension " + std::to_string(d));
  detail::Workspace<T> w;
  w.init(eval_, energy_, state, false);
  detail::StepFlags flags;
  std::vector<double> scale(size_t(n), options_.step_size), beta(size_t(n), 1.0);
  DualAveraging da(options_.step_size, options_.target_accept);
  SamplerStats stats;
  for (int64_t t = 0; t < steps; ++t) {
    detail::rwmh_step(eval_, energy_, state, w, scale.data(), options_.scale.empty() ? nullptr : options_.scale.data(),
                      beta.data(), flags);
    flags.add_to(stats);
    if (adapt) scale.assign(size_t(n), da.update(flags.mean_accept(0, n)));
    if (observe) observe(t, state);
  }
  if (adapt && steps > 0) options_.step_size = da.final_step();
  stats.step_size = options_.step_size;
  return stats;
}

template class RandomWalkMetropolis<float>;
template class RandomWalkMetropolis<double>;

}  // namespace samplers
