#pragma once
// Parallel tempering (replica exchange; Swendsen & Wang 1986, Geyer 1991) over a ladder of inverse
// temperatures 1 = β₀ > β₁ > … > β_{K−1} > 0, level k targeting p_k(x) ∝ exp(−β_k E(x)).
//
// Layout: a state for B independent replica sets has K·B rows; row k·B + b is replica set b at level k,
// so rows [0, B) are the target chains (`level(state, 0)`; record them with Trace(0, B)). Rows keep their
// generators; swaps exchange positions only, so each row still draws from one stream (Note [One stream
// per chain]) and the result does not depend on the thread count.
//
// One round = `local_steps` local moves at every level (MALA or random-walk Metropolis on β_k E, all K·B
// rows in one batched evaluation), then one swap pass. Swaps use the deterministic even–odd scheme
// (Okabe et al. 2001; Syed et al. 2022): even rounds propose (0,1), (2,3), …, odd rounds (1,2), (3,4), …;
// the swap of levels k and k+1 is accepted with probability min(1, exp((β_k − β_{k+1})(E(x_k) − E(x_{k+1})))).
// stats.swap_rates[k] is the acceptance rate of the pair (k, k+1): a rate near 0 means the ladder needs
// more levels between β_k and β_{k+1}.
//
// Local step sizes: level k starts at step_size/β_k for MALA (ε) and step_size/√β_k for random walk (the
// scale of the proposal), which keeps the acceptance roughly constant for a near-Gaussian level; warm-up
// adapts every level's step on its own by dual averaging.
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

enum class LocalMove { mala, random_walk };

struct TemperingOptions {
  std::vector<double> betas{};  // β₀ = 1 > β₁ > … > 0
  LocalMove move = LocalMove::mala;
  double step_size = 0.1;     // at β = 1
  int local_steps = 1;
  double target_accept = -1;  // warm-up target; negative: 0.574 for MALA, 0.234 for random walk

  /// K inverse temperatures geometric from 1 down to beta_min.
  static std::vector<double> geometric(int levels, double beta_min);
};

template <class T>
class ParallelTempering final : public Sampler<T> {
 public:
  ParallelTempering(BatchEnergy<T> energy, TemperingOptions options);

  /// K·chains rows at the origin, generators ad::Rng(seed, row).
  ChainState<T> make_state(int64_t chains, int64_t dim, uint64_t seed) const;
  /// `rounds` rounds; `observe` sees the whole state after each round.
  SamplerStats run(ChainState<T>& state, int64_t rounds, const Observer<T>& observe = {}) override;
  /// Rounds that adapt each level's local step size by dual averaging.
  SamplerStats warmup(ChainState<T>& state, int64_t rounds) override;

  int levels() const { return int(options_.betas.size()); }
  const std::vector<double>& betas() const { return options_.betas; }
  /// Current per-level local step sizes (restore them with set_level_steps when resuming a checkpoint).
  const std::vector<double>& level_steps() const { return steps_; }
  void set_level_steps(const std::vector<double>& steps);
  /// Rows of level k, shape [B, d].
  ad::Tensor<T> level(const ChainState<T>& state, int k) const;

 private:
  SamplerStats go(ChainState<T>& state, int64_t rounds, const Observer<T>& observe, bool adapt);
  BatchEnergy<T> energy_;
  TemperingOptions options_;
  std::vector<double> steps_;
  int64_t round_ = 0;  // parity of the next swap pass; continues across calls
  EnergyEvaluator<T> eval_;
};

extern template class ParallelTempering<float>;
extern template class ParallelTempering<double>;

}  // namespace samplers
