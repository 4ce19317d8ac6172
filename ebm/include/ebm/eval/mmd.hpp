#pragma once
// Maximum mean discrepancy between two samples (Gretton et al. 2012), for judging samples against data.
//
// With a characteristic kernel k, MMD²(P, Q) = E k(x, x') + E k(y, y') − 2 E k(x, y) is zero iff P = Q. For
// x_1..x_n ~ P and y_1..y_m ~ Q the unbiased estimate (Gretton et al. 2012, Lemma 6) is
//
//   MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/(nm) Σ_{i,j} k(x_i, y_j),
//
// whose expectation is exactly MMD²(P, Q): for P = Q it scatters around 0 and can be negative.
//
// Kernel: a sum of Gaussians k(a, b) = Σ_s exp(−‖a − b‖² / (2 h_s²)). The bandwidths are given, or are
// `scales` × the median heuristic h = median of the pairwise distances ‖z_i − z_j‖, i < j, over the pooled sample
// (over an evenly strided subset of at most `median_points` points of each sample when the samples are
// larger, so the cost stays bounded; the subset of x and of y is taken separately, so swapping x and y gives the
// same h).
//
// Everything is in double, O((n + m)² d). Rows are summed in parallel, each row's sum in a fixed order and the
// row sums in row order, so the value is the same for any thread count.
#include <vector>

#include "autodiff/tensor.hpp"

namespace ebm {

struct MmdOptions {
  std::vector<double> bandwidths{};   // h_s; empty: scales × median heuristic
  std::vector<double> scales{1.0};    // multiples of the median distance (when bandwidths is empty)
  int64_t median_points = 1000;       // per sample, for the median heuristic
};

struct MmdResult {
  double mmd2 = 0;                  // MMD²_u
  std::vector<double> bandwidths;   // the h_s used
};

/// Unbiased MMD² between x [n, d] and y [m, d]; n, m ≥ 2. Throws std::invalid_argument on bad shapes or
/// bandwidths, and if the median distance is 0 (all points equal).
MmdResult mmd2_unbiased(const ad::Tensor<double>& x, const ad::Tensor<double>& y, const MmdOptions& options = {});

/// The median of the pairwise distances of the pooled rows of x and y (subsets as described above).
double median_pairwise_distance(const ad::Tensor<double>& x, const ad::Tensor<double>& y, int64_t max_points_each = 1000);
/// The same over the rows of one sample x [n, d] (an evenly strided subset of at most max_points of them).
double median_pairwise_distance(const ad::Tensor<double>& x, int64_t max_points = 1000);

}  // namespace ebm
