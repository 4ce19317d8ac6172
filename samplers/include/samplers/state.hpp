#pragma once
// What every sampler shares: the state of a batch of chains, the statistics a run reports, and a
// recorder of draws for the diagnostics.
//
// Note [One stream per chain]: chain c owns the generator in `rngs[c]` (by default ad::Rng(seed, c)) and
// nothing else ever draws from it. Per-chain work runs in parallel over chains, but since a chain's random
// numbers depend only on its own stream and its own history, the numbers are the same whatever the thread
// count or the partition of chains between threads. Batched energy evaluations use the engine's kernels,
// whose results do not depend on the thread count either.
//
// Note [Independent rows]: an energy must treat the rows of its batch independently (E_n depends on x_n
// only, as for any per-sample network without batch statistics). Samplers rely on it twice: the gradient
// of Σ_n E_n is then the per-sample gradient, and a NaN in one chain cannot leak into another.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/tensor.hpp"
#include "samplers/diagnostics.hpp"

namespace samplers {

/// Positions of B chains in d dimensions plus one generator per chain. Saving and loading it resumes
/// every chain bit-exactly, so a training checkpoint can carry persistent chains.
template <class T>
struct ChainState {
  ad::Tensor<T> x;             // [B, d]: row c is chain c
  std::vector<ad::Rng> rngs;   // rngs[c] belongs to chain c alone

  ChainState() = default;
  /// B chains at the origin with generators ad::Rng(seed, c).
  ChainState(int64_t chains, int64_t dim, uint64_t seed);
  /// Given positions [B, d], generators ad::Rng(seed, c).
  ChainState(const ad::Tensor<T>& positions, uint64_t seed);

  int64_t chains() const { return x.rows(); }
  int64_t dim() const { return x.cols(); }
  T* row(int64_t c) { return x.data() + c * dim(); }
  const T* row(int64_t c) const { return x.data() + c * dim(); }

  /// Overwrite positions with i.i.d. N(mean, sd²) / U[lo, hi) draws, each chain from its own stream.
  void fill_normal(double mean = 0, double sd = 1);
  void fill_uniform(double lo, double hi);

  /// Binary serialisation (magic, element size, shape, values, generator states). `load` throws
  /// std::runtime_error on a malformed or mismatched (float vs double) blob.
  void save(std::ostream& out) const;
  static ChainState load(std::istream& in);
  std::vector<uint8_t> to_bytes() const;
  static ChainState from_bytes(const std::vector<uint8_t>& bytes);
};

/// Counts and adapted values from one or more runs. Proposals are chain-steps: one step of B chains is
/// B proposals. For samplers without an accept/reject step (ULA, annealed Langevin, Gibbs) every finite
/// update counts as accepted.
struct SamplerStats {
  int64_t proposals = 0;
  int64_t accepted = 0;
  /// NaN proposals, always rejected (the chain keeps its old position): a proposal whose position is not
  /// finite or whose energy is NaN or −∞, and for the gradient-based samplers one whose gradient is not
  /// finite (Langevin samplers also reject, and count here, an energy of +∞; for MH and MALA +∞ is an
  /// ordinary rejection: outside the support). A Gibbs update with a NaN conditional counts here too.
  int64_t nan_proposals = 0;
  /// HMC: trajectories whose energy error H(end) − H(start) exceeded the threshold or was not finite.
  int64_t divergences = 0;
  /// Step size in use at the end (after warm-up, the adapted one); for PT, the one at β = 1.
  double step_size = 0;
  /// Langevin samplers: the temperature implied by the noise scale, σ_noise² / ε (1 for exact Langevin).
  double temperature = 1;
  /// Parallel tempering: acceptance rate of swaps between levels k and k+1, and per-level values.
  std::vector<double> swap_rates;
  std::vector<double> level_accept_rates;
  std::vector<double> level_step_sizes;

  double acceptance_rate() const { return proposals ? double(accepted) / double(proposals) : 0.0; }
  /// Adds counts; takes the other run's adapted values (it is the later one).
  SamplerStats& operator+=(const SamplerStats& later);
};

/// Called after every step with the step index (from 0) and the state.
template <class T>
using Observer = std::function<void(int64_t step, const ChainState<T>& state)>;

/// The common interface of the step-based samplers (all but annealed Langevin), for code that takes "a
/// sampler", such as a training loop. A step is one transition of every chain (a sweep for Gibbs, a round
/// for parallel tempering).
template <class T>
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// `steps` steps; `observe` (optional) sees the state after each.
  virtual SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) = 0;
  /// Steps before sampling: samplers that adapt a step size do it here (and use the adapted value
  /// afterwards); for the others this is plain burn-in.
  virtual SamplerStats warmup(ChainState<T>& state, int64_t steps) { return run(state, steps); }
};

/// Records draws of rows [first, first + rows) of the state after every `thin`-th step, as doubles, in
/// the chain × iteration layout of diagnostics.hpp.
template <class T>
class Trace {
 public:
  explicit Trace(int64_t first_row = 0, int64_t rows = -1, int64_t thin = 1)
      : first_(first_row), rows_(rows), thin_(thin) {}

  void record(const ChainState<T>& state);
  /// An observer that records into this trace (which must outlive it).
  Observer<T> observer() {
    return [this](int64_t step, const ChainState<T>& s) {
      if ((step + 1) % thin_ == 0) record(s);
    };
  }
  void clear() { data_.clear(), draws_ = 0; }

  int64_t chains() const { return static_cast<int64_t>(data_.size()); }
  int64_t draws() const { return draws_; }
  int64_t dim() const { return dim_; }
  /// Draw t of chain c (dim() values).
  const double* draw(int64_t c, int64_t t) const { return data_[size_t(c)].data() + t * dim_; }

  /// Coordinate k as diagnostics' Chains (draws[chain][iteration]).
  Chains coordinate(int64_t k) const;
  /// Any scalar function of a draw, as Chains: f(x) receives dim() values.
  Chains map(const std::function<double(const double* x)>& f) const;
  /// summarize() of every coordinate: mean, sd, MCSE, bulk and tail ESS, rank-normalised split-R̂.
  std::vector<Summary> summary() const;

 private:
  int64_t first_, rows_, thin_;
  int64_t dim_ = 0, draws_ = 0;
  std::vector<std::vector<double>> data_;  // data_[chain][t * dim + k]
};

extern template struct ChainState<float>;
extern template struct ChainState<double>;
extern template class Trace<float>;
extern template class Trace<double>;

}  // namespace samplers
