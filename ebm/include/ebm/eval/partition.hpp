#pragma once
// log Z = log ∫ exp(−E(x)) dx, exactly for small binary models (enumeration) and to quadrature accuracy for
// 1-D and 2-D continuous energies.
//
// Enumeration: every one of the 2^n states (unit i = bit i of the state index; off = 0 for binary units, −1
// for spin units) is evaluated. States are split into chunks of 2^chunk_bits evaluated in parallel, one tape
// per chunk; each chunk is reduced to its own log-sum-exp and the chunk results are combined in chunk order,
// so the result is the same bit for bit whatever the number of threads. Practical up to n ≈ 24 (16M states).
//
// Quadrature: composite Gauss–Legendre on a box, `panels` equal panels per axis with `order` nodes each
// (tensor product in 2-D), summed in log space (log Σ w_i e^{−E(x_i)}, so large energies cannot overflow).
// Accuracy: an order-n rule is exact for polynomials of degree 2n − 1; for an analytic integrand its error
// on a panel of width h is h^{2n+1} (n!)⁴ / ((2n + 1) ((2n)!)³) · max|f^{(2n)}|, which with the defaults
// (16 nodes, 32 panels per axis) is far below double precision for any energy that varies on scales of more
// than ~1/10 of a panel (e.g. a Gaussian of stddev s on a box of ±12 s: relative error < 1e-12). What remains is
// the mass outside the box, which the caller controls by choosing it (for a Gaussian, ±k s leaves 2Φ(−k)).
#include <functional>
#include <vector>

#include "ebm/models/boltzmann.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm {

/// Energies of a batch of states [m, n] → [m], evaluated in double.
using BatchEnergy = std::function<std::vector<double>(const ad::Tensor<double>& states)>;

/// log Σ_x exp(−E(x)) over {0,1}^n or {−1,+1}^n. Throws std::invalid_argument if n > 30.
double log_partition_enumerate(int n, Units units, const BatchEnergy& energy, int chunk_bits = 12);
/// The same for a model with dim() units, evaluated at its current parameters.
template <class T>
double log_partition_enumerate(const Energy<T>& model, Units units, int chunk_bits = 12);

/// The largest Boltzmann machine the runner enumerates (2^25 states).
inline constexpr int64_t kMaxEnumeratedBoltzmannUnits = 25;
/// The largest layer log_partition_rbm_enumerate sums over (2^25 states).
inline constexpr int64_t kMaxEnumeratedRbmUnits = 25;
/// log Σ_v exp(−F(v)) of a Bernoulli RBM, exactly: the smaller layer s (m ≤ kMaxEnumeratedRbmUnits units) is
/// enumerated and the other summed out in closed form, log Z = logsumexp_s (b_sᵀs + Σ_o softplus(b_o + (W s)_o)).
/// The 2^m states are walked in Gray-code order, one column of W added or subtracted per state (O(2^m · n) for
/// n units on the other side), in chunks evaluated in parallel and combined in chunk order: the result does not
/// depend on the thread count. Throws std::invalid_argument when both layers are larger.
double log_partition_rbm_enumerate(const BernoulliRbm<double>& rbm);

/// Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1] (Newton on the Legendre recurrence).
struct GaussLegendre {
  std::vector<double> nodes, weights;
};
GaussLegendre gauss_legendre(int n);

struct QuadratureOptions {
  int panels = 32;  // per axis
  int order = 16;   // nodes per panel
};

/// log ∫_box exp(−E(x)) dx for d = 1 or d = 2 over the box [lo_k, hi_k].
double log_partition_quadrature(int d, const BatchEnergy& energy, const std::vector<double>& lo, const std::vector<double>& hi,
                                const QuadratureOptions& options = {});
template <class T>
double log_partition_quadrature(const Energy<T>& model, const std::vector<double>& lo, const std::vector<double>& hi,
                                const QuadratureOptions& options = {});

/// log p(x) for each row of x [n, d]; −inf off p's support.
using LogDensity = std::function<ad::Tensor<double>(const ad::Tensor<double>& x)>;
/// KL(p ‖ q) for q = exp(−E)/Z normalised on the box, by the rule of log_partition_quadrature:
/// ∫ p (log p + E + log Z) over the box (p's mass outside it is left out), for d = 1 or 2.
double kl_quadrature(int d, const LogDensity& log_p, const BatchEnergy& energy, const std::vector<double>& lo,
                     const std::vector<double>& hi, const QuadratureOptions& options = {});

/// A BatchEnergy that evaluates a model (in its own precision T) at its current parameters.
template <class T>
BatchEnergy batch_energy(const Energy<T>& model);

}  // namespace ebm
