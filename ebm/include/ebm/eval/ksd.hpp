#pragma once
// Kernel Stein discrepancy (Chwialkowski, Strathmann & Gretton 2016; Liu, Lee & Jordan 2016): how far a sample is
// from a model that is known only through its score s_p(x) = ∇ₓ log p(x) (for an EBM −∇ₓE, so the normaliser is
// never needed).
//
// With a kernel k, the Stein kernel of p is
//
//   u_p(x, y) = s_p(x)ᵀ s_p(y) k(x, y) + s_p(x)ᵀ ∇_y k(x, y) + s_p(y)ᵀ ∇_x k(x, y) + tr ∇_x ∇_y k(x, y),
//
// and KSD²(q ‖ p) = E_{x, y ∼ q} u_p(x, y), which is 0 when q = p and, for the kernels here and a p with a
// smooth, sufficiently decaying density, positive otherwise. For x_1..x_n ∼ q with u_ij = u_p(x_i, x_j):
//
//   U = 1/(n(n−1)) Σ_{i≠j} u_ij   (unbiased: E U = KSD², so under p it scatters around 0 and can be negative)
//   V = 1/n²       Σ_{i,j} u_ij   (≥ 0, biased upwards by E u_p(x, x) / n).
//
// Kernels (both radial, k = φ(‖x − y‖²)):
//   IMQ k = (c² + ‖x − y‖²)^β, default c = 1, β = −½: the inverse multiquadric of Gorham & Mackey (2017). For
//       β ∈ (−1, 0) and a distantly dissipative p, KSD → 0 implies convergence to p; with an RBF kernel, in d ≥ 3,
//       KSD can go to 0 for samples that do not converge (their mass drifts to where the kernel vanishes).
//   RBF k = exp(−‖x − y‖² / (2h²)), h given or the median of the pairwise distances of the sample (the same
//       heuristic and subset rule as MMD's, ebm/eval/mmd.hpp).
//
// Goodness-of-fit test of H₀: q = p, against the null distribution of the statistic simulated from the Stein
// matrix alone (it is degenerate under H₀, so a bootstrap of the quadratic form is needed, not a normal
// approximation). Two bootstraps, see Note [KSD bootstraps] in ksd.cpp:
//   wild (Chwialkowski et al. 2016): Σ_{i≠j} W_i W_j u_ij with W a ±1 process. For i.i.d. samples (independent
//       chains, one draw each) W is i.i.d. Rademacher — flip probability ½, the default. For the successive states
//       of one chain, W flips sign with a smaller probability a (their W_t = W_{t−1}, flipped when U_t < a), so
//       that W stays correlated over about 1/a steps, longer than the chain's autocorrelation.
//   multinomial (Liu et al. 2016): Σ_{i≠j} (w_i − 1/n)(w_j − 1/n) u_ij with n·w ∼ Multinomial(n; 1/n, …, 1/n);
//       for i.i.d. samples only.
// The p-value is (1 + #{b : T*_b ≥ T}) / (1 + B) over B draws, so it is never 0 and the test has level ≤ α for
// any B.
//
// Everything is in double. The n × n Stein matrix is formed once from three Gram matrices (ad::matmul_into, so its
// entries do not depend on the thread count), the statistics and all bootstrap draws reuse it: the draws in
// blocks as one matrix product U·W, O(n² B) in all.
#include <cstdint>

#include "autodiff/tensor.hpp"
#include "ebm/models/energy.hpp"

namespace ebm {

enum class KsdKernel { imq, rbf };

struct KsdOptions {
  KsdKernel kernel = KsdKernel::imq;
  double imq_c = 1.0;          // IMQ scale c > 0
  double imq_beta = -0.5;      // IMQ exponent β ∈ (−1, 0)
  double bandwidth = 0;        // RBF h > 0; 0: the median heuristic
  int64_t median_points = 1000;  // at most this many rows for the median heuristic
};

/// The n × n Stein matrix and what it was built with.
struct SteinMatrix {
  ad::Tensor<double> u;   // [n, n], symmetric, u[i, j] = u_p(x_i, x_j)
  double bandwidth = 0;   // the RBF h used (0 for IMQ)
};

/// u_p(x_i, x_j) for all pairs. x and scores are [n, d], n ≥ 2, scores[i] = ∇ₓ log p(x_i). Throws
/// std::invalid_argument on mismatched shapes, bad kernel parameters, non-finite inputs, or a zero median distance.
SteinMatrix stein_matrix(const ad::Tensor<double>& x, const ad::Tensor<double>& scores, const KsdOptions& options = {});

struct KsdStatistics {
  double u = 0;          // U-statistic of KSD²
  double v = 0;          // V-statistic of KSD²
  double u_std_error = 0;  // standard error of U from its first-order (Hoeffding) term: 2 sd(mean_j u_ij) / √n;
                           // 0 up to noise under H₀, where U is degenerate, so use the test there
};

/// U, V and U's standard error from a Stein matrix [n, n], n ≥ 2. Rows are summed in parallel and the row sums
/// in row order, so the values do not depend on the thread count.
KsdStatistics ksd_statistics(const ad::Tensor<double>& stein);

enum class KsdBootstrap { wild, multinomial };

struct KsdTestOptions {
  KsdBootstrap bootstrap = KsdBootstrap::wild;
  int64_t draws = 1000;              // B
  double wild_flip_probability = 0.5;  // a ∈ (0, ½]; ½: i.i.d. Rademacher (independent samples)
  uint64_t seed = 0;                 // of the bootstrap weights (one ad::Rng stream per block of draws)
};

struct KsdTestResult {
  double statistic = 0;  // n·U (the bootstrap draws are on the same scale)
  double p_value = 1;
  int64_t draws = 0;
};

/// The bootstrap test of H₀: the rows behind `stein` come from p. Does not change `stein`.
KsdTestResult ksd_test(const ad::Tensor<double>& stein, const KsdTestOptions& options = {});

/// ∇ₓ log p_θ = −∇ₓE_θ of the model at the rows of x [n, dim], in batches of `batch` rows, in double.
template <class T>
ad::Tensor<double> model_scores(const Energy<T>& model, const ad::Tensor<T>& x, int64_t batch = 4096);

}  // namespace ebm
