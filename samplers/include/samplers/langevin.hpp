#pragma once
// Unadjusted Langevin algorithm (ULA), many chains as one batch.
//
// Convention (Note [Langevin temperature]): with step ε and noise scale σ_noise,
//
//   x ← x − (ε/2) ∇E(x) + σ_noise z,   z ~ N(0, I).
//
// With σ_noise = √ε (the default) this is the Euler–Maruyama discretisation of the Langevin diffusion
// whose stationary law is exp(−E): the chain targets exp(−E) up to an O(ε) bias (no Metropolis test; use
// MALA for exactness). With any other σ_noise the update equals ULA at step ε on the energy E/T_impl with
//
//   T_impl = σ_noise² / ε,
//
// so for small ε it samples exp(−E / T_impl): `temperature()` reports T_impl. IGEBM (Du & Mordatch 2019)
// writes x ← x − λ∇E + ω with, e.g., λ = 10, ω ~ N(0, 0.005²): here ε = 2λ = 20, σ_noise = 0.005, so
// T_impl ≈ 1.3e-6 — an optimiser with a little noise rather than a sampler. JEM (Grathwohl et al. 2020)
// uses λ = 1, σ = 0.01: ε = 2, T_impl = 5e-5.
//
// Note [Checked Langevin moves]: ULA has no accept/reject step, but E and ∇E are evaluated at every new
// position anyway (the gradient is needed for the next step), so a move to a position where x, E or ∇E is
// not finite (NaN, or ±∞: outside the support) is rejected and counted as a NaN proposal: the chain stays,
// and draws fresh noise at the next step. Positions returned by run() are therefore always checked.
//
// Optional, in this order inside a step: gradient clipping (per element to [−c, c] as in IGEBM, and/or
// per sample to L2 norm ≤ c), then the update, then clamping of the positions to a box [lo, hi] (image
// data). Clipping and clamping change the stationary law; they are training-time devices.
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct LangevinOptions {
  double step_size = 0.01;   // ε
  double noise_scale = -1;   // σ_noise; negative means √ε (temperature 1)
  double grad_clip_value = 0;  // > 0: clamp each gradient element to [−c, c]
  double grad_clip_norm = 0;   // > 0: rescale each sample's gradient to L2 norm at most c
  bool clamp = false;          // clamp positions to [lo, hi] after every step
  double lo = 0, hi = 1;

  double noise() const;        // σ_noise actually used
  double temperature() const;  // σ_noise² / ε
};

template <class T>
class Langevin final : public Sampler<T> {
 public:
  Langevin(BatchEnergy<T> energy, LangevinOptions options = {});

  /// `steps` updates of every chain, costing steps + 1 batched evaluations of E and ∇E (the first at the
  /// current positions: nothing is cached between calls, since the energy may change in between, as in
  /// training). Every checked update counts as accepted. stats.temperature is T_impl.
  SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) override;

  double temperature() const { return options_.temperature(); }
  const LangevinOptions& options() const { return options_; }

 private:
  BatchEnergy<T> energy_;
  LangevinOptions options_;
  EnergyEvaluator<T> eval_;
};

extern template class Langevin<float>;
extern template class Langevin<double>;

}  // namespace samplers
