#include "samplers/annealed.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

#include "kernels.hpp"

namespace samplers {

std::vector<double> AnnealedLangevinOptions::geometric(double sigma_max, double sigma_min, int levels) {
  if (!(sigma_max >= sigma_min && sigma_min > 0) || levels < 1)
    throw std::invalid_argument("samplers::AnnealedLangevinOptions::geometric: need sigma_max >= sigma_min > 0, levels >= 1");
  std::vector<double> s(static_cast<size_t>(levels));
  for (int i = 0; i < levels; ++i)
    s[size_t(i)] = levels == 1 ? sigma_max : sigma_max * std::pow(sigma_min / sigma_max, double(i) / (levels - 1));
  return s;
}

template <class T>
AnnealedLangevin<T>::AnnealedLangevin(NoiseConditionedEnergy<T> energy, AnnealedLangevinOptions options)
    : energy_(std::move(energy)), options_(std::move(options)) {
  const auto& s = options_.sigmas;
  if (s.empty()) throw std::invalid_argument("samplers::AnnealedLangevin: no noise levels given");
  for (size_t i = 0; i < s.size(); ++i) {
    if (!(s[i] > 0) || !std::isfinite(s[i])) throw std::invalid_argument("samplers::AnnealedLangevin: sigmas must be positive");
    if (i > 0 && !(s[i] < s[i - 1]))
      throw std::invalid_argument("samplers::AnnealedLangevin: sigmas must be strictly decreasing (σ₁ > … > σ_L)");
  }
  if (!(options_.step_size > 0)) throw std::invalid_argument("samplers::AnnealedLangevin: step_size must be positive");
  if (options_.steps_per_level < 0) throw std::invalid_argument("samplers::AnnealedLangevin: steps_per_level must be >= 0");
}

template <class T>
double AnnealedLangevin<T>::level_step(int i) const {
  const double r = options_.sigmas[size_t(i)] / options_.sigmas.back();
  return options_.step_size * r * r;
}

template <class T>
SamplerStats AnnealedLangevin<T>::run(ChainState<T>& state, const Observer<T>& observe) {
  detail::check_batch("AnnealedLangevin", state.chains(), state.dim());
  detail::Workspace<T> w;
  detail::StepFlags flags;
  SamplerStats stats;
  const int levels = int(options_.sigmas.size());
  int64_t counter = 0;
  for (int i = 0; i < levels; ++i) {
    const double sigma = options_.sigmas[size_t(i)];
    const BatchEnergy<T> level = [this, sigma](ad::Tape<T>& tape, const ad::Var<T>& x) { return energy_(tape, x, sigma); };
    detail::LangevinKnobs k;
    k.step = level_step(i);
    k.noise = std::sqrt(k.step);
    k.clamp = options_.clamp, k.lo = options_.lo, k.hi = options_.hi;
    // E(·; σ) changed with the level, so the values kept at the current positions are recomputed.
    if (options_.steps_per_level > 0) w.init(eval_, level, state, true);
    for (int t = 0; t < options_.steps_per_level; ++t) {
      detail::langevin_step(eval_, level, state, w, k, flags);
      flags.add_to(stats);
      if (observe) observe(counter, state);
      ++counter;
    }
  }
  if (options_.denoise) {
    // x − σ_L² ∇E: a Langevin step with ε = 2σ_L² and no noise.
    const double sigma = options_.sigmas.back();
    const BatchEnergy<T> level = [this, sigma](ad::Tape<T>& tape, const ad::Var<T>& x) { return energy_(tape, x, sigma); };
    detail::LangevinKnobs k;
    k.step = 2 * sigma * sigma;
    k.clamp = options_.clamp, k.lo = options_.lo, k.hi = options_.hi;
    w.init(eval_, level, state, true);
    detail::langevin_step(eval_, level, state, w, k, flags);
    flags.add_to(stats);
    if (observe) observe(counter, state);
  }
  stats.step_size = options_.step_size;
  stats.temperature = 1;
  return stats;
}

template class AnnealedLangevin<float>;
template class AnnealedLangevin<double>;

}  // namespace samplers
