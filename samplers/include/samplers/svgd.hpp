#pragma once
// Stein variational gradient descent (SVGD; Liu & Wang 2016): the chains of a ChainState are n interacting
// particles, all moved at once by
//
//   x_i ← x_i + ε φ(x_i),   φ(x_i) = (1/n) Σ_j [ k(x_j, x_i) (−∇E(x_j)) + ∇_{x_j} k(x_j, x_i) ],
//
// the direction in the unit ball of the kernel's RKHS that decreases KL(particles ‖ exp(−E)) fastest. The first
// term pulls the particles toward low energy (smoothed by the kernel), the second pushes them apart. The kernel is
// the RBF kernel k(x, y) = exp(−‖x − y‖² / h), with a fixed bandwidth h or the median heuristic of Note [SVGD
// bandwidth], recomputed at every step. The step ε is fixed (Liu & Wang's code scales it per coordinate by
// AdaGrad; a fixed ε keeps the update a plain function of the particles).
//
// Unlike the other samplers, SVGD is not a Markov chain: it is deterministic given its initial particles (the
// chains' generators are never drawn from), and its fixed points are particle sets, not a stationary law. With n
// particles the particles' moments approach the target's up to a finite-n bias (exact moments of a Gaussian
// target need n → ∞), so the samples are the particles at the end, not a trace over time.
//
// Note [SVGD blocks]: with K the n × n kernel matrix, φ = (1/n) [ −K G + (2/h) (diag(K 1) X − K X) ] for the
// positions X and gradients G ([n, d]), since ∇_{x_j} k(x_j, x_i) = (2/h)(x_i − x_j) k(x_j, x_i). The matrix K is
// computed a block of rows at a time: for rows i ∈ [r, r + b), the Gram block X_b Xᵀ (one matrix product) gives
// the squared distances ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j, their kernel values fill K_b [b, n], and a second product
// K_b [−G | X | 1] gives −K G, K X and the row sums K 1 of those rows. A step therefore costs O(n² d) operations
// and O(b n + n d) memory (plus the median heuristic's pairs, a bounded number: Note [SVGD bandwidth]): never
// n × n × d, and never all of K. Both products are the engine's matmul, whose
// every output element is summed in a fixed order, and the blocks are visited in order, so φ is bit-identical
// for any thread count. The positions are centred (their mean subtracted, summed serially) first: distances do
// not change, and the cancellation in ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j stays small when the particles sit far from
// the origin.
//
// Note [Checked SVGD moves]: as in Note [Checked Langevin moves], E and ∇E are evaluated at every new position
// (the gradient serves the next step), and a particle whose new position, energy or gradient is not finite does
// not move (counted as a NaN proposal). A particle whose current position, energy or gradient is not finite
// (possible only at the start) takes no part in the kernel sums — one NaN would otherwise reach every φ(x_i) —
// stays where it is, and counts as a NaN proposal at every step. Every other particle's update counts as
// accepted (there is no accept/reject step).
#include <cstdint>
#include <vector>

#include "samplers/energy.hpp"
#include "samplers/state.hpp"

namespace samplers {

struct SvgdOptions {
  double step_size = 0.1;  // ε
  /// h of k(x, y) = exp(−‖x − y‖²/h); 0: the median heuristic of Note [SVGD bandwidth], recomputed every step.
  double bandwidth = 0;
  /// Rows of the kernel matrix computed at once (Note [SVGD blocks]); 0: svgd_block_rows chooses.
  int64_t block_rows = 0;
};

// Note [SVGD bandwidth]: Liu & Wang's median heuristic, h = med² / log(n + 1) with med the median of the pairwise
// distances ‖x_i − x_j‖ (so med² is the median of the squared distances). They choose it so that
// Σ_j k(x_i, x_j) ≈ n exp(−med²/h) ≈ 1: a particle's own gradient and the pull and push of all the others weigh
// about the same, whatever the scale of the particles. Their code takes the median over the full n × n distance
// matrix, diagonal zeros included; here it is over the n(n − 1)/2 distinct pairs (the usual median, mean of the
// two middle values when their count is even), which shifts the quantile by O(1/n). For n > kSvgdMedianParticles
// the median is that of the pairs among kSvgdMedianParticles particles at evenly spaced indices: the particles are
// exchangeable, so this is a subsample estimate of the same scale (a relative error of a few per cent, for a
// heuristic), and the selection, which costs more per pair than the kernel itself, stays at ~130 000 pairs per
// step however many particles there are. When the median is 0 (all particles at one point) or there is a single
// particle, h = 1: the repulsion ∇k vanishes between coincident particles for every h, so any finite h gives the
// same step.
inline constexpr int64_t kSvgdMedianParticles = 512;

/// The median-heuristic bandwidth of Note [SVGD bandwidth] for positions x [n, d].
template <class T>
double svgd_median_bandwidth(const ad::Tensor<T>& x);

/// Rows per block of the kernel matrix for n particles: `requested` (at most n) when positive, else enough rows
/// for about 2^18 kernel values per block (at least 32 rows, at most n), so that a block stays in cache.
int64_t svgd_block_rows(int64_t n, int64_t requested = 0);

/// φ(x_i) of the SVGD update for positions x and energy gradients grad (both [n, d]) with bandwidth h > 0,
/// computed blockwise as in Note [SVGD blocks]; `phi` is resized to [n, d] when needed.
template <class T>
void svgd_direction(const ad::Tensor<T>& x, const ad::Tensor<T>& grad, double bandwidth, int64_t block_rows,
                    ad::Tensor<T>& phi);

template <class T>
class Svgd final : public Sampler<T> {
 public:
  Svgd(BatchEnergy<T> energy, SvgdOptions options = {});

  /// `steps` updates of all particles, costing steps + 1 batched evaluations of E and ∇E (the first at the
  /// current positions: nothing is cached between calls, since the energy may change in between) and O(n² d)
  /// kernel work per step. Every checked update counts as accepted (Note [Checked SVGD moves]). Warm-up is the
  /// same transitions (there is nothing to adapt).
  SamplerStats run(ChainState<T>& state, int64_t steps, const Observer<T>& observe = {}) override;

  /// The bandwidth of the last step (the median heuristic's value when options().bandwidth is 0); 0 before any.
  double bandwidth() const { return bandwidth_; }
  const SvgdOptions& options() const { return options_; }

 private:
  BatchEnergy<T> energy_;
  SvgdOptions options_;
  EnergyEvaluator<T> eval_;
  double bandwidth_ = 0;
};

extern template double svgd_median_bandwidth(const ad::Tensor<float>&);
extern template double svgd_median_bandwidth(const ad::Tensor<double>&);
extern template void svgd_direction(const ad::Tensor<float>&, const ad::Tensor<float>&, double, int64_t, ad::Tensor<float>&);
extern template void svgd_direction(const ad::Tensor<double>&, const ad::Tensor<double>&, double, int64_t, ad::Tensor<double>&);
extern template class Svgd<float>;
extern template class Svgd<double>;

}  // namespace samplers
