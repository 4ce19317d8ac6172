#include "samplers/langevin.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

#include "kernels.hpp"

namespace samplers {

double LangevinOptions::noise() const { return noise_scale < 0 ? std::sqrt(step_size) : noise_scale; }
double LangevinOptions::temperature() const { return noise() * noise() / step_size; }

template <class T>
Langevin<T>::Langevin(BatchEnergy<T> energy, LangevinOptions options)
    : energy_(std::move(energy)), options_(options) {
  if (!(options_.step_size > 0) || !std::isfinite(options_.step_size))
    throw std::invalid_argument("samplers::Langevin: step_size must be positive and finite");
  if (!std::isfinite(options_.noise_scale)) throw std::invalid_argument("samplers::Langevin: noise_scale must be finite");
  if (options_.clamp && !(options_.lo <= options_.hi))
    throw std::invalid_argument("samplers::Langevin: clamp box needs lo <= hi");
}

template <class T>
SamplerStats Langevin<T>::run(ChainState<T>& state, int64_t steps, const Observer<T>& observe) {
  detail::check_batch("Langevin", state.chains(), state.dim());
  detail::LangevinKnobs k;
  k.step = options_.step_size;
  k.noise = options_.noise();
  k.clip_value = options_.grad_clip_value;
  k.clip_norm = options_.grad_clip_norm;
  k.clamp = options_.clamp;
  k.lo = options_.lo, k.hi = options_.hi;
  detail::StepFlags flags;
  SamplerStats stats;
  stats.step_size = options_.step_size;
  stats.temperature = options_.temperature();
  if (steps <= 0) return stats;
  detail::Workspace<T> w;
  w.init(eval_, energy_, state, true);  // not cached across calls: the energy may have changed since
  for (int64_t t = 0; t < steps; ++t) {
    detail::langevin_step(eval_, energy_, state, w, k, flags);
    flags.add_to(stats);
    if (observe) observe(t, state);
  }
  return stats;
}

template class Langevin<float>;
template class Langevin<double>;

}  // namespace samplers
