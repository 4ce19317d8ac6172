#include "ebm/eval/mmd.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ebm {
namespace {

double sq_dist(const double* a, const double* b, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    const double t = a[k] - b[k];
    s += t * t;
  }
  return s;
}

// Kernel with precomputed −1 / (2 h_s²).
struct Kernel {
  std::vector<double> coef;
  double operator()(double sq) const {
    double s = 0;
    for (double c : coef) s += std::exp(c * sq);
    return s;
  }
};

// Σ_i Σ_{j∈J(i)} k(a_i, b_j) with J(i) = all j (cross) or j > i (same sample, a = b); rows in parallel, each
// row's sum in j order, row sums added in i order.
double kernel_sum(const ad::Tensor<double>& a, const ad::Tensor<double>& b, const Kernel& k, bool upper) {
  const int64_t n = a.rows(), m = b.rows(), d = a.cols();
  std::vector<double> rows(size_t(n), 0.0);
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    const double* ai = a.data() + i * d;
    double s = 0;
    for (int64_t j = upper ? i + 1 : 0; j < m; ++j) s += k(sq_dist(ai, b.data() + j * d, d));
    rows[size_t(i)] = s;
  });
  double total = 0;
  for (double r : rows) total += r;
  return total;
}

// Row indices of an evenly strided subset of at most `most` of n rows.
std::vector<int64_t> strided(int64_t n, int64_t most) {
  std::vector<int64_t> idx;
  const int64_t k = std::min(n, std::max<int64_t>(most, 1));
  for (int64_t t = 0; t < k; ++t) idx.push_back(t * n / k);
  return idx;
}

void check(const ad::Tensor<double>& x, const ad::Tensor<double>& y, const char* who) {
  if (x.rank() != 2 || y.rank() != 2 || x.cols() != y.cols())
    throw std::invalid_argument(std::string(who) + ": needs x [n, d] and y [m, d], got " + x.shape().str() + " and " +
                                y.shape().str());
}

}  // namespace

namespace {

// The median of the pairwise distances of the given points (d coordinates each).
double median_of_pairs(const std::vector<const double*>& pts, int64_t d) {
  const int64_t p = int64_t(pts.size());
  if (p < 2) throw std::invalid_argument("median_pairwise_distance: needs at least two points");
  std::vector<double> dist(size_t(p * (p - 1) / 2));
  tbb::parallel_for(int64_t{0}, p, [&](int64_t i) {
    size_t at = size_t(i * (2 * p - i - 1) / 2);  // pairs (i', j) with i' < i come first
    for (int64_t j = i + 1; j < p; ++j) dist[at++] = sq_dist(pts[size_t(i)], pts[size_t(j)], d);
  });
  // The median of the squared distances is the square of the median distance (monotone); for an even count the
  // mean of the two middle distances.
  const size_t half = dist.size() / 2;
  std::nth_element(dist.begin(), dist.begin() + long(half), dist.end());
  const double upper = std::sqrt(dist[half]);
  if (dist.size() % 2 == 1) return upper;
  const double lower = std::sqrt(*std::max_element(dist.begin(), dist.begin() + long(half)));
  return 0.5 * (lower + upper);
}

}  // namespace

double median_pairwise_distance(const ad::Tensor<double>& x, const ad::Tensor<double>& y, int64_t max_points_each) {
  check(x, y, "median_pairwise_distance");
  const int64_t d = x.cols();
  std::vector<const double*> pts;
  for (int64_t i : strided(x.rows(), max_points_each)) pts.push_back(x.data() + i * d);
  for (int64_t i : strided(y.rows(), max_points_each)) pts.push_back(y.data() + i * d);
  return median_of_pairs(pts, d);
}

double median_pairwise_distance(const ad::Tensor<double>& x, int64_t max_points) {
  if (x.rank() != 2) throw std::invalid_argument("median_pairwise_distance: needs x [n, d], got " + x.shape().str());
  std::vector<const double*> pts;
  for (int64_t i : strided(x.rows(), max_points)) pts.push_back(x.data() + i * x.cols());
  return median_of_pairs(pts, x.cols());
}

MmdResult mmd2_unbiased(const ad::Tensor<double>& x, const ad::Tensor<double>& y, const MmdOptions& o) {
  check(x, y, "mmd2_unbiased");
  const int64_t n = x.rows(), m = y.rows();
  if (n < 2 || m < 2) throw std::invalid_argument("mmd2_unbiased: needs at least two rows in each sample");
  MmdResult r;
  if (o.bandwidths.empty()) {
    if (o.scales.empty()) throw std::invalid_argument("mmd2_unbiased: needs bandwidths or scales");
    const double med = median_pairwise_distance(x, y, o.median_points);
    if (!(med > 0) || !std::isfinite(med))
      throw std::invalid_argument("mmd2_unbiased: the median pairwise distance is " + std::to_string(med) +
                                  " (all points equal?); give bandwidths");
    for (double s : o.scales) r.bandwidths.push_back(s * med);
  } else {
    r.bandwidths = o.bandwidths;
  }
  Kernel k;
  for (double h : r.bandwidths) {
    if (!(h > 0) || !std::isfinite(h)) throw std::invalid_argument("mmd2_unbiased: bandwidths must be positive and finite");
    k.coef.push_back(-0.5 / (h * h));
  }
  const double kxx = 2 * kernel_sum(x, x, k, true), kyy = 2 * kernel_sum(y, y, k, true), kxy = kernel_sum(x, y, k, false);
  const double nd = double(n), md = double(m);
  r.mmd2 = kxx / (nd * (nd - 1)) + kyy / (md * (md - 1)) - 2 * kxy / (nd * md);
  return r;
}

}  // namespace ebm
