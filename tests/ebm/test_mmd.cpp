// MMD²_u: against a brute-force double loop and a brute-force median, symmetry, thread independence, zero mean
// under the null (checked statistically over repetitions) and power against a shift.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <autodiff/threads.hpp>
#include <ebm/data/toy.hpp>
#include <ebm/eval/mmd.hpp>
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

namespace {

Tensor<double> normal(int64_t n, int64_t d, uint64_t seed, uint64_t stream, double shift = 0) {
  ad::Rng rng(seed, stream);
  Tensor<double> t(Shape{n, d});
  ad::fill_normal(t, rng);
  for (int64_t i = 0; i < n; ++i) t.at(i, 0) += shift;
  return t;
}

// The eight-Gaussians toy distribution: multimodal, so the kernel sees more than a mean shift.
Tensor<double> eight(int64_t n, uint64_t seed, uint64_t stream) {
  ad::Rng rng(seed, stream);
  return ebm::data::eight_gaussians(n, rng);
}

// All pairwise distances of the pooled rows, sorted.
std::vector<double> sorted_distances(const Tensor<double>& x, const Tensor<double>& y) {
  std::vector<const double*> pts;
  for (int64_t i = 0; i < x.rows(); ++i) pts.push_back(&x.at(i, 0));
  for (int64_t i = 0; i < y.rows(); ++i) pts.push_back(&y.at(i, 0));
  std::vector<double> dist;
  for (size_t i = 0; i < pts.size(); ++i)
    for (size_t j = i + 1; j < pts.size(); ++j) {
      double s = 0;
      for (int64_t c = 0; c < x.cols(); ++c) s += (pts[i][c] - pts[j][c]) * (pts[i][c] - pts[j][c]);
      dist.push_back(std::sqrt(s));
    }
  std::sort(dist.begin(), dist.end());
  return dist;
}

}  // namespace

TEST_CASE("MMD² equals a brute-force double loop, and the median heuristic a brute-force median") {
  const Tensor<double> x = normal(7, 3, 1, 0), y = normal(5, 3, 1, 1, 0.8);
  const std::vector<double> h = {0.7, 1.5};
  auto k = [&](const Tensor<double>& a, int64_t i, const Tensor<double>& b, int64_t j) {
    double s = 0;
    for (int64_t c = 0; c < 3; ++c) s += (a.at(i, c) - b.at(j, c)) * (a.at(i, c) - b.at(j, c));
    return std::exp(-s / (2 * h[0] * h[0])) + std::exp(-s / (2 * h[1] * h[1]));
  };
  double xx = 0, yy = 0, xy = 0;
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j)
      if (i != j) xx += k(x, i, x, j);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 5; ++j)
      if (i != j) yy += k(y, i, y, j);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 5; ++j) xy += k(x, i, y, j);
  const double brute = xx / 42 + yy / 20 - 2 * xy / 35;
  ebm::MmdOptions o;
  o.bandwidths = h;
  CHECK(ebm::mmd2_unbiased(x, y, o).mmd2 == doctest::Approx(brute).epsilon(1e-13));

  // Median of the 66 pooled pairwise distances (even count: mean of the 33rd and 34th).
  std::vector<double> dist = sorted_distances(x, y);
  REQUIRE(dist.size() == 66);
  const double med = 0.5 * (dist[32] + dist[33]);
  CHECK(ebm::median_pairwise_distance(x, y) == doctest::Approx(med).epsilon(1e-14));
  // Odd count (5 + 2 points: 21 pairs): the 11th.
  const Tensor<double> x5(Shape{5, 3}, x.data()), y2(Shape{2, 3}, y.data());
  dist = sorted_distances(x5, y2);
  REQUIRE(dist.size() == 21);
  CHECK(ebm::median_pairwise_distance(x5, y2) == doctest::Approx(dist[10]).epsilon(1e-14));
  const ebm::MmdResult r = ebm::mmd2_unbiased(x, y);
  REQUIRE(r.bandwidths.size() == 1);
  CHECK(r.bandwidths[0] == doctest::Approx(med).epsilon(1e-14));
}

TEST_CASE("MMD² is symmetric, deterministic across thread counts, and validates its input") {
  const Tensor<double> x = eight(300, 2, 0), y = eight(200, 2, 1);
  ebm::MmdOptions o;
  o.scales = {0.5, 1.0, 2.0};
  const ebm::MmdResult a = ebm::mmd2_unbiased(x, y, o), b = ebm::mmd2_unbiased(y, x, o);
  CHECK(a.bandwidths == b.bandwidths);  // the same pooled pair distances
  CHECK(a.mmd2 == doctest::Approx(b.mmd2).epsilon(1e-12));
  double one;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    one = ebm::mmd2_unbiased(x, y, o).mmd2;
  }
  CHECK(one == a.mmd2);  // bitwise
  CHECK_THROWS_AS(ebm::mmd2_unbiased(x, normal(10, 3, 1, 1)), std::invalid_argument);
  CHECK_THROWS_AS(ebm::mmd2_unbiased(x, normal(1, 2, 1, 1)), std::invalid_argument);
  ebm::MmdOptions bad;
  bad.bandwidths = {1.0, 0.0};
  CHECK_THROWS_AS(ebm::mmd2_unbiased(x, y, bad), std::invalid_argument);
  CHECK_THROWS_AS(ebm::mmd2_unbiased(Tensor<double>(Shape{3, 2}, 1.0), Tensor<double>(Shape{3, 2}, 1.0)), std::invalid_argument);
}

TEST_CASE("MMD² is zero in expectation for one distribution and clearly positive for a shifted one") {
  // R independent pairs of samples of size n from the eight-Gaussians set. Under the null the R values are i.i.d.
  // with mean 0 (unbiased estimator), so their mean lies within 4 standard errors s/√R of 0 (|t| > 4 with 39
  // degrees of freedom has probability ≈ 3e-4). The shifted pairs (second sample moved by 1.0 along the first
  // axis, where the modes have sd 0.35) must exceed the null mean by more than 10 null standard deviations. The
  // kernel sums bandwidths 0.1, 0.3 and 1 × the median distance: the median alone (≈ the distance between modes)
  // is too wide to see a shift of the modes at this n.
  const int R = 40;
  const int64_t n = 200;
  ebm::MmdOptions o;
  o.scales = {0.1, 0.3, 1.0};
  std::vector<double> null, alt;
  for (int r = 0; r < R; ++r) {
    const Tensor<double> x = eight(n, 100 + uint64_t(r), 0), y = eight(n, 100 + uint64_t(r), 1);
    null.push_back(ebm::mmd2_unbiased(x, y, o).mmd2);
    Tensor<double> ys = y;
    for (int64_t i = 0; i < n; ++i) ys.at(i, 0) += 1.0;
    alt.push_back(ebm::mmd2_unbiased(x, ys, o).mmd2);
  }
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double e : v) m += e / double(v.size());
    for (double e : v) s += (e - m) * (e - m) / double(v.size() - 1);
    return std::pair{m, std::sqrt(s)};
  };
  const auto [m0, s0] = mean_sd(null);
  const auto [m1, s1] = mean_sd(alt);
  std::printf("[mmd] null: mean %.2e sd %.2e (t = %.2f, %d reps); shifted: mean %.2e sd %.2e (%.1f null sds)\n", m0, s0,
              m0 / (s0 / std::sqrt(double(R))), R, m1, s1, (m1 - m0) / s0);
  CHECK(std::abs(m0) < 4 * s0 / std::sqrt(double(R)));
  CHECK(*std::min_element(null.begin(), null.end()) < 0);  // unbiased, not a squared norm: negative values occur
  CHECK(m1 - m0 > 10 * s0);
  CHECK(*std::min_element(alt.begin(), alt.end()) > *std::max_element(null.begin(), null.end()));
}
