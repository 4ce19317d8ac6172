#include "samplers/hmc.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels.hpp"

namespace samplers {

template <class T>
Hmc<T>::Hmc(BatchEnergy<T> energy, HmcOptions options) : energy_(std::move(energy)), options_(std::move(options)) {
  if (!(options_.step_size > 0) || !std::isfinite(options_.step_size))
    throw std::invalid_argument("samplers::Hmc: step_size must be positive and finite");
  if (options_.leapfrog_steps < 1) throw std::invalid_argument("samplers::Hmc: leapfrog_steps must be >= 1");
  if (!(options_.jitter >= 0 && options_.jitter < 1)) throw std::invalid_argument("samplers::Hmc: jitter must lie in [0, 1)");
  for (double m : options_.mass)
    if (!(m > 0) || !std::isfinite(m)) throw std::invalid_argument("samplers::Hmc: masses must be positive and finite");
}

template <class T>
SamplerStats Hmc<T>::run(ChainState<T>& state, int64_t steps, const Observer<T>& observe) {
  return go(state, steps, observe, false);
}

template <class T>
SamplerStats Hmc<T>::warmup(ChainState<T>& state, int64_t steps) {
  return go(state, steps, {}, true);
}

template <class T>
SamplerStats Hmc<T>::go(ChainState<T>& state, int64_t steps, const Observer<T>& observe, bool adapt) {
  const int64_t n = state.chains(), d = state.dim();
  detail::check_batch("Hmc", n, d);
  if (!options_.mass.empty() && int64_t(options_.mass.size()) != d)
    throw std::invalid_argument("samplers::Hmc: mass has " + std::to_string(options_.mass.size()) +
                                " entries for dimension " + std::to_string(d));
  std::vector<double> inv_mass(size_t(d), 1.0);
  for (size_t k = 0; k < options_.mass.size(); ++k) inv_mass[k] = 1.0 / options_.mass[k];

  detail::Workspace<T> w;
  w.init(eval_, energy_, state, true);
  ad::Tensor<T> mom(state.x.shape());
  std::vector<double> eps(static_cast<size_t>(n)), h0(static_cast<size_t>(n));
  std::vector<uint8_t> divergent(static_cast<size_t>(n));
  detail::StepFlags flags;
  DualAveraging da(options_.step_size, options_.target_accept);
  double step = options_.step_size;
  const int L = options_.leapfrog_steps;
  SamplerStats stats;

  auto kinetic = [&](const T* p) {
    double k = 0;
    for (int64_t j = 0; j < d; ++j) k += 0.5 * double(p[j]) * double(p[j]) * inv_mass[size_t(j)];
    return k;
  };
  for (int64_t t = 0; t < steps; ++t) {
    flags.reset(n);
    // Momentum refresh, H(start), and the first half step of the momentum.
    detail::for_each_chain(n, [&](int64_t c) {
      ad::Rng& rng = state.rngs[size_t(c)];
      T* p = mom.data() + c * d;
      for (int64_t j = 0; j < d; ++j) p[j] = T(std::sqrt(1.0 / inv_mass[size_t(j)]) * rng.normal());
      eps[size_t(c)] = options_.jitter > 0 ? step * (1 + options_.jitter * (2 * rng.uniform() - 1)) : step;
      h0[size_t(c)] = double(w.e[size_t(c)]) + kinetic(p);
      const T* g = w.g.data() + c * d;
      const T* x = state.row(c);
      T* q = w.prop.data() + c * d;
      for (int64_t j = 0; j < d; ++j) {
        q[j] = x[j];
        p[j] = T(p[j] - 0.5 * eps[size_t(c)] * g[j]);
      }
    });
    for (int l = 1; l <= L; ++l) {
      detail::for_each_chain(n, [&](int64_t c) {
        T* q = w.prop.data() + c * d;
        const T* p = mom.data() + c * d;
        for (int64_t j = 0; j < d; ++j) q[j] = T(q[j] + eps[size_t(c)] * inv_mass[size_t(j)] * p[j]);
      });
      eval_.energy_grad(energy_, w.prop, w.e_new, w.g_new);
      const double frac = l < L ? 1.0 : 0.5;  // the last momentum update is a half step
      detail::for_each_chain(n, [&](int64_t c) {
        T* p = mom.data() + c * d;
        const T* g = w.g_new.data() + c * d;
        for (int64_t j = 0; j < d; ++j) p[j] = T(p[j] - frac * eps[size_t(c)] * g[j]);
      });
    }
    detail::for_each_chain(n, [&](int64_t c) {
      const size_t i = size_t(c);
      const T* q = w.prop.data() + c * d;
      const T* g = w.g_new.data() + c * d;
      const T* p = mom.data() + c * d;
      if (!ad::all_finite(q, d) || detail::bad_energy(w.e_new[i]) ||
          (std::isfinite(w.e_new[i]) && (!ad::all_finite(g, d) || !ad::all_finite(p, d)))) {
        flags.nan[i] = 1;
        divergent[i] = 1;
        return;
      }
      const double dh = double(w.e_new[i]) + kinetic(p) - h0[i];
      const bool current_ok = std::isfinite(double(w.e[i]));
      divergent[i] = current_ok && !(dh <= options_.max_energy_error);
      if (divergent[i]) return;
      if (detail::metropolis(-dh, w.e[i], state.rngs[i], flags.accept_prob[i])) {
        flags.accepted[i] = 1;
        std::copy(q, q + d, state.row(c));
        std::copy(g, g + d, w.g.data() + c * d);
        w.e[i] = w.e_new[i];
      }
    });
    flags.add_to(stats);
    for (uint8_t v : divergent) stats.divergences += v;
    std::fill(divergent.begin(), divergent.end(), uint8_t(0));
    if (adapt) step = da.update(flags.mean_accept(0, n));
    if (observe) observe(t, state);
  }
  if (adapt && steps > 0) options_.step_size = da.final_step();
  stats.step_size = options_.step_size;
  return stats;
}

template class Hmc<float>;
template class Hmc<double>;

}  // namespace samplers
