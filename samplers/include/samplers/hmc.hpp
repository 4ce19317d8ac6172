#pragma once
// Hamiltonian Monte Carlo with a leapfrog integrator and a diagonal mass matrix, many chains as one batch.
//
// Hamiltonian H(x, p) = E(x) + ½ pᵀ M⁻¹ p with M = diag(mass). Each iteration draws p ~ N(0, M), runs L
// leapfrog steps of size ε (each chain's ε optionally jittered uniformly in ε[1 − j, 1 + j], which breaks
// the periodic orbits a fixed ε·L can fall into), and accepts the end point with probability
// min(1, exp(H(start) − H(end))). A step costs L batched evaluations of E and ∇E (the gradient at the
// current point is kept).
//
// Divergences (as Stan): a trajectory whose energy error H(end) − H(start) exceeds `max_energy_error`, or
// is not finite, is rejected and counted in stats.divergences; if it ran into a non-finite position,
// energy or gradient it is also counted in stats.nan_proposals.
//
// Warm-up adapts ε by dual averaging of the acceptance probability (averaged over chains) toward
// `target_accept`; sampling then uses the averaged ε, so the kernel is fixed. The mass matrix is given by
// the user (e.g. the inverse of posterior variances estimated from a pilot run); it is not adapted here.
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct HmcOptions {
  double step_size = 0.1;   // ε
  int leapfrog_steps = 10;  // L
  std::vector<double> mass{}; // diagonal of M; empty means the identity
  double target_accept = 0.8;
  double max_energy_error = 1000;
  double jitter = 0;        // in [0, 1)
};

template <class T>
class Hmc final : public Sampler<T> {
 public:
  Hmc(BatchEnergy<T> energy, HmcOptions options = {});

  SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) override;
  /// Iterations that adapt ε (dual averaging); afterwards `step_size()` is the averaged step.
  SamplerStats warmup(ChainState<T>& state, int64_t steps) override;

  double step_size() const { return options_.step_size; }
  const HmcOptions& options() const { return options_; }

 private:
  SamplerStats go(ChainState<T>& state, int64_t steps, const Observer<T>& observe, bool adapt);
  BatchEnergy<T> energy_;
  HmcOptions options_;
  EnergyEvaluator<T> eval_;
};

extern template class Hmc<float>;
extern template class Hmc<double>;

}  // namespace samplers
