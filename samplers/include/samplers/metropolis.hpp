#pragma once
// Random-walk Metropolis–Hastings with a Gaussian proposal, many chains as one batch.
//
//   x' = x + s ⊙ z,  z ~ N(0, I),   accepted with probability min(1, exp(E(x) − E(x'))).
//
// The proposal is symmetric, so no Hastings term appears. s is `step_size` times the optional
// per-dimension `scale` (a diagonal proposal covariance s²). Warm-up adapts step_size by dual averaging
// toward `target_accept` (0.234 is the classic optimum in high dimension; ~0.44 in one dimension).
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct MetropolisOptions {
  double step_size = 0.5;
  std::vector<double> scale{};  // per dimension, multiplies step_size; empty means 1 everywhere
  double target_accept = 0.234;
};

template <class T>
class RandomWalkMetropolis final : public Sampler<T> {
 public:
  RandomWalkMetropolis(BatchEnergy<T> energy, MetropolisOptions options = {});

  /// `steps` transitions of every chain; `observe` (optional) sees the state after each.
  SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) override;
  /// Warm-up: transitions that adapt the step size; afterwards `step_size()` is the averaged step.
  SamplerStats warmup(ChainState<T>& state, int64_t steps) override;

  double step_size() const { return options_.step_size; }
  const MetropolisOptions& options() const { return options_; }

 private:
  SamplerStats go(ChainState<T>& state, int64_t steps, const Observer<T>& observe, bool adapt);
  BatchEnergy<T> energy_;
  MetropolisOptions options_;
  EnergyEvaluator<T> eval_;
};

extern template class RandomWalkMetropolis<float>;
extern template class RandomWalkMetropolis<double>;

}  // namespace samplers
