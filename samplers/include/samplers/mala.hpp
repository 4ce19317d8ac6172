#pragma once
// Metropolis-adjusted Langevin (MALA): the Langevin proposal of langevin.hpp at temperature 1,
//
//   x' = x − (ε/2) ∇E(x) + √ε z,  z ~ N(0, I),
//
// accepted with probability min(1, exp(E(x) − E(x')) q(x|x') / q(x'|x)), q(x'|x) = N(x'; x − (ε/2)∇E(x), εI).
// The correction makes exp(−E) exactly invariant for any ε (unlike ULA, whose bias is O(ε)). A step costs
// one batched evaluation of E and ∇E (at the proposals; the current values are kept). Warm-up adapts ε by
// dual averaging toward `target_accept` (0.574 is the optimum of Roberts & Rosenthal 1998).
#include <cstdint>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct MalaOptions {
  double step_size = 0.1;  // ε
  double target_accept = 0.574;
};

template <class T>
class Mala final : public Sampler<T> {
 public:
  Mala(BatchEnergy<T> energy, MalaOptions options = {});

  SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) override;
  /// Transitions that adapt ε by dual averaging; afterwards `step_size()` is the averaged step.
  SamplerStats warmup(ChainState<T>& state, int64_t steps) override;

  double step_size() const { return options_.step_size; }

 private:
  SamplerStats go(ChainState<T>& state, int64_t steps, const Observer<T>& observe, bool adapt);
  BatchEnergy<T> energy_;
  MalaOptions options_;
  EnergyEvaluator<T> eval_;
};

extern template class Mala<float>;
extern template class Mala<double>;

}  // namespace samplers
