#pragma once
// Annealed Langevin dynamics (Song & Ermon 2019, NCSN, Algorithm 1) for an energy conditioned on the noise
// level, E(x; σ), over a ladder σ₁ > σ₂ > … > σ_L:
//
//   for i = 1..L:  α_i = ε (σ_i / σ_L)²;  repeat T times:  x ← x − (α_i/2) ∇ₓE(x; σ_i) + √α_i z.
//
// (NCSN writes x + (α_i/2) s(x, σ_i) with the score s = −∇E; this is the same update.) Each level is a
// ULA chain at temperature 1 for exp(−E(·; σ_i)), so the samples of one level start the next. Optionally a
// final denoising step x ← x − σ_L² ∇ₓE(x; σ_L) (Tweedie's formula, used since NCSNv2 and by Jolicoeur-
// Martineau et al. 2021) removes the σ_L noise, and positions can be clamped to a box after every step.
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct AnnealedLangevinOptions {
  std::vector<double> sigmas{};  // σ₁ > … > σ_L > 0
  double step_size = 2e-5;     // ε: the step at the last (smallest) level
  int steps_per_level = 100;   // T
  bool denoise = false;        // final step x − σ_L² ∇E(x; σ_L)
  bool clamp = false;          // clamp to [lo, hi] after every step
  double lo = 0, hi = 1;

  /// σ_i geometric from sigma_max to sigma_min, L levels (the NCSN choice).
  static std::vector<double> geometric(double sigma_max, double sigma_min, int levels);
};

template <class T>
class AnnealedLangevin {
 public:
  AnnealedLangevin(NoiseConditionedEnergy<T> energy, AnnealedLangevinOptions options);

  /// One pass over all levels (L·T updates, plus the denoising step). `observe` sees the state after each
  /// update, with a step index running over the whole pass (level i, step t is i·T + t). Moves are checked
  /// as in ULA (Note [Checked Langevin moves] in langevin.hpp); each level costs T + 1 evaluations.
  /// stats.step_size is α_L = ε.
  SamplerStats run(ChainState<T>& state, const Observer<T>& observe = {});

  /// The step α_i used at level i.
  double level_step(int i) const;
  const AnnealedLangevinOptions& options() const { return options_; }

 private:
  NoiseConditionedEnergy<T> energy_;
  AnnealedLangevinOptions options_;
  EnergyEvaluator<T> eval_;
};

extern template class AnnealedLangevin<float>;
extern template class AnnealedLangevin<double>;

}  // namespace samplers
