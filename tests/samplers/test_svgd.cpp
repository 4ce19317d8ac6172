// Stein variational gradient descent: the kernel terms against finite differences and a direct O(n² d) sum, the
// blockwise kernel matrix, bit-identity across thread counts, and the particles' moments on a correlated 2-D
// Gaussian and mode weights on a 1-D mixture.
//
// Note [SVGD tolerance]: SVGD is deterministic, so its error is not Monte Carlo noise but the bias of a fixed
// point of n particles. For a smooth target in low dimension that bias is below the error of n independent exact
// draws (the repulsion spreads the particles more evenly than independent draws do: Liu & Wang 2016 report
// moment errors that fall faster than 1/√n). The checks therefore allow 4.5 standard errors of n i.i.d. draws:
// σ/√n for a mean, √((Σ_ii Σ_jj + Σ_ij²)/n) for a covariance entry, √(w(1 − w)/n) for a mode weight. That is a
// bound an i.i.d. sample would meet except with probability ~1e-5, and the failures it is there for are far
// outside it: without repulsion the particles collapse onto the mode (covariance 0), without the kernel-smoothed
// drift they keep the start's spread (variance 9, mean 0), and particles started left of both modes of the 1-D
// mixture that only descend the energy all end in the nearer mode (weight 0 right of 0 instead of 0.66).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "autodiff/ops.hpp"
#include "autodiff/threads.hpp"
#include "samplers/svgd.hpp"
#include "../thread_check.hpp"

using Tape = ad::Tape<double>;
using Var = ad::Var<double>;
using State = samplers::ChainState<double>;
using Mat = ad::Tensor<double>;

namespace {

bool verbose() { return std::getenv("EBM_VERBOSE") != nullptr; }

Mat random_matrix(int64_t n, int64_t d, uint64_t seed, double sd) {
  Mat m(ad::Shape{n, d});
  ad::Rng rng(seed, 0);
  ad::fill_normal(m, rng);
  for (double& v : m) v *= sd;
  return m;
}

double rbf(const double* x, const double* y, int64_t d, double h) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) s += (x[k] - y[k]) * (x[k] - y[k]);
  return std::exp(-s / h);
}

// φ(x_i) = (1/n) Σ_j [k(x_j, x_i)(−g_j) + ∇_{x_j} k(x_j, x_i)], summed pair by pair with the analytic gradient
// −(2/h)(x_j − x_i) k(x_j, x_i): the formula of the paper, without blocks, Gram products or centring.
Mat direct_phi(const Mat& x, const Mat& g, double h) {
  const int64_t n = x.rows(), d = x.cols();
  Mat phi(ad::Shape{n, d});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double k = rbf(&x.at(j, 0), &x.at(i, 0), d, h);
      for (int64_t c = 0; c < d; ++c) phi.at(i, c) += (-k * g.at(j, c) - 2 / h * (x.at(j, c) - x.at(i, c)) * k) / double(n);
    }
  return phi;
}

double max_abs_diff(const Mat& a, const Mat& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// μ = (1, −2); Σ = [[1, 0.9], [0.9, 2.25]] (as in test_gaussian.cpp); P = Σ⁻¹, det Σ = 1.44.
constexpr double kMu[2] = {1.0, -2.0};
constexpr double kSigma[2][2] = {{1.0, 0.9}, {0.9, 2.25}};
constexpr double kP[2][2] = {{2.25 / 1.44, -0.9 / 1.44}, {-0.9 / 1.44, 1.0 / 1.44}};

Var gaussian_energy(Tape& t, const Var& x) {
  const Var mu = t.constant(ad::Tensor<double>(ad::Shape{2}, {kMu[0], kMu[1]}));
  const Var p = t.constant(ad::Tensor<double>(ad::Shape{2, 2}, {kP[0][0], kP[0][1], kP[1][0], kP[1][1]}));
  const Var dx = x - mu;
  return 0.5 * ad::sum(ad::matmul(dx, p) * dx, 1);
}

// 1/3 N(−2, 1) + 2/3 N(2, 1), Liu & Wang's 1-D example: E = −log(⅓ e^{−(x+2)²/2} + ⅔ e^{−(x−2)²/2}) (up to a
// constant). Between −12 and 12, where the particles stay, neither exponential underflows in double.
Var mixture_energy(Tape&, const Var& x) {
  const Var mix = (1.0 / 3.0) * ad::exp(-0.5 * ad::square(x + 2.0)) + (2.0 / 3.0) * ad::exp(-0.5 * ad::square(x - 2.0));
  return ad::reshape(-ad::log(mix), ad::Shape{x.shape()[0]});
}

// A small network energy in 4-D, so that the thread-count check also runs the engine's batched kernels.
constexpr int64_t kD = 4, kH = 16;
Var network_energy(Tape& t, const Var& x) {
  ad::Rng rng(5, 0);
  ad::Tensor<double> w(ad::Shape{kD, kH}), c(ad::Shape{kH}), v(ad::Shape{kH, 1});
  ad::fill_normal(w, rng);
  ad::fill_normal(c, rng);
  ad::fill_normal(v, rng);
  const Var hidden = ad::softplus(ad::matmul(x, t.constant(w)) + t.constant(c));
  return 0.5 * ad::sum(ad::square(x), 1) + 0.25 * ad::reshape(ad::matmul(hidden, t.constant(v)), ad::Shape{x.shape()[0]});
}

}  // namespace

TEST_CASE("SVGD repulsion term matches finite differences of the RBF kernel") {
  // With zero energy gradients φ(x_i) = (1/n) Σ_j ∇_{x_j} k(x_j, x_i): compared with central differences of k.
  const int64_t n = 7, d = 3;
  const double h = 1.7, delta = 1e-5;
  const Mat x = random_matrix(n, d, 21, 1.0);
  const Mat zero(ad::Shape{n, d});
  Mat phi;
  samplers::svgd_direction(x, zero, h, 0, phi);
  double err = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c) {
      double fd = 0;
      for (int64_t j = 0; j < n; ++j) {
        std::vector<double> up(x.data() + j * d, x.data() + (j + 1) * d), down = up;
        up[size_t(c)] += delta, down[size_t(c)] -= delta;
        fd += (rbf(up.data(), &x.at(i, 0), d, h) - rbf(down.data(), &x.at(i, 0), d, h)) / (2 * delta);
      }
      fd /= double(n);
      err = std::max(err, std::abs(phi.at(i, c) - fd));
      scale = std::max(scale, std::abs(fd));
    }
  // Central differences err by O(δ²) ~ 1e-10 here, plus rounding ~1e-16/δ ~ 1e-11.
  CHECK(scale > 0.01);  // the repulsion is not trivially zero at these positions
  CHECK(err < 1e-8);
}

TEST_CASE("SVGD direction computed in row blocks equals the direct pairwise sum") {
  // 37 particles: no block size below divides it, so the last block is always partial.
  const int64_t n = 37, d = 5;
  const Mat x = random_matrix(n, d, 22, 1.5);
  const Mat g = random_matrix(n, d, 23, 1.0);
  // Far from the origin as well: the centring keeps the Gram-product distances accurate there.
  Mat far = x;
  for (double& v : far) v += 1e6;
  const double h = 3.0;
  const Mat want = direct_phi(x, g, h);
  for (int64_t rows : {int64_t{1}, int64_t{3}, int64_t{8}, n, int64_t{0}}) {
    CAPTURE(rows);
    Mat phi, phi_far;
    samplers::svgd_direction(x, g, h, rows, phi);
    samplers::svgd_direction(far, g, h, rows, phi_far);
    CHECK(max_abs_diff(phi, want) < 1e-12);
    // Uncentred, ‖x‖² ~ 5e12 would carry rounding ~1e-3 into squared distances of ~20; centred, ~1e-10.
    CHECK(max_abs_diff(phi_far, want) < 1e-8);
  }
  // The automatic block keeps b·n kernel values near 2^18 (at least 32 rows): for 10^5 particles a block holds
  // 3.2·10^6 values where the whole matrix would hold 10^10.
  CHECK(samplers::svgd_block_rows(100000) == 32);
  CHECK(samplers::svgd_block_rows(100000) * 100000 < int64_t{1} << 22);
  CHECK(samplers::svgd_block_rows(1000) == 262);
  CHECK(samplers::svgd_block_rows(20) == 20);
  CHECK(samplers::svgd_block_rows(37, 8) == 8);
  CHECK(samplers::svgd_block_rows(37, 100) == 37);
}

TEST_CASE("SVGD median bandwidth is the median squared pairwise distance over log(n + 1)") {
  // One pair; an even count (36) of pairs; 1225 pairs; more particles than kSvgdMedianParticles, whose median is
  // that of the pairs among the particles at indices ⌊a n / m⌋, m = kSvgdMedianParticles (Note [SVGD bandwidth]).
  static_assert(samplers::kSvgdMedianParticles < 1300);
  for (int64_t n : {int64_t{2}, int64_t{9}, int64_t{50}, int64_t{1300}}) {
    CAPTURE(n);
    const Mat x = random_matrix(n, 3, 24 + uint64_t(n), 2.0);
    std::vector<int64_t> used;
    const int64_t m = std::min(n, samplers::kSvgdMedianParticles);
    for (int64_t a = 0; a < m; ++a) used.push_back(a * n / m);
    std::vector<double> d2;
    for (size_t i = 0; i < used.size(); ++i)
      for (size_t j = i + 1; j < used.size(); ++j) {
        double s = 0;
        for (int64_t k = 0; k < 3; ++k) s += (x.at(used[i], k) - x.at(used[j], k)) * (x.at(used[i], k) - x.at(used[j], k));
        d2.push_back(s);
      }
    std::sort(d2.begin(), d2.end());
    const size_t p = d2.size();
    const double med = p % 2 ? d2[p / 2] : 0.5 * (d2[p / 2 - 1] + d2[p / 2]);
    const double want = med / std::log(double(n) + 1);
    CHECK(std::abs(samplers::svgd_median_bandwidth(x) - want) <= 1e-12 * want);
  }
  // All particles at one point, and a single particle: the documented fallback h = 1.
  CHECK(samplers::svgd_median_bandwidth(Mat(ad::Shape{5, 2}, 3.0)) == 1.0);
  CHECK(samplers::svgd_median_bandwidth(Mat(ad::Shape{1, 2}, 3.0)) == 1.0);
}

TEST_CASE("SVGD gives bit-identical particles on 1 and 2 threads") {
  const auto go = [](int64_t block_rows, double bandwidth) {
    State s(1000, kD, 31);
    s.fill_normal(0.0, 2.0);
    samplers::Svgd<double> svgd(network_energy, {.step_size = 0.2, .bandwidth = bandwidth, .block_rows = block_rows});
    const samplers::SamplerStats st = svgd.run(s, 5);
    CHECK(st.accepted == 5 * 1000);
    return s.x;
  };
  for (int64_t rows : {int64_t{0}, int64_t{100}})
    for (double bw : {0.0, 2.0}) {
      CAPTURE(rows);
      CAPTURE(bw);
      Mat one, two;
      {
        REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
        ad::ThreadLimit limit(1);
        one = go(rows, bw);
      }
      {
        ad::ThreadLimit limit(2);
        REQUIRE_THREADS(2);
        two = go(rows, bw);
      }
      CHECK(std::memcmp(one.data(), two.data(), size_t(one.numel()) * sizeof(double)) == 0);
    }
}

TEST_CASE("SVGD particles recover the mean and covariance of a correlated Gaussian") {
  const int64_t n = 400;
  State s(n, 2, 41);
  s.fill_normal(0.0, 3.0);  // overdispersed: mean 0, variance 9
  samplers::Svgd<double> svgd(gaussian_energy, {.step_size = 0.5});
  const samplers::SamplerStats st = svgd.run(s, 3000);
  CHECK(st.accepted == 3000 * n);
  CHECK(st.nan_proposals == 0);
  CHECK(svgd.bandwidth() > 0);
  double mean[2] = {0, 0}, cov[2][2] = {{0, 0}, {0, 0}};
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 2; ++k) mean[k] += s.x.at(i, k) / double(n);
  for (int64_t i = 0; i < n; ++i)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) cov[a][b] += (s.x.at(i, a) - mean[a]) * (s.x.at(i, b) - mean[b]) / double(n);
  // Note [SVGD tolerance]: 4.5 i.i.d. standard errors.
  const double rn = std::sqrt(double(n));
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    CAPTURE(mean[k]);
    CHECK(std::abs(mean[k] - kMu[k]) <= 4.5 * std::sqrt(kSigma[k][k]) / rn);
  }
  for (int a = 0; a < 2; ++a)
    for (int b = a; b < 2; ++b) {
      CAPTURE(a);
      CAPTURE(b);
      CAPTURE(cov[a][b]);
      const double se = std::sqrt((kSigma[a][a] * kSigma[b][b] + kSigma[a][b] * kSigma[a][b]) / double(n));
      CHECK(std::abs(cov[a][b] - kSigma[a][b]) <= 4.5 * se);
    }
  if (verbose())
    std::printf("SVGD n=%lld: mean %+.4f %+.4f  cov %.4f %.4f %.4f  h %.4f\n", (long long)n, mean[0], mean[1], cov[0][0],
                cov[0][1], cov[1][1], svgd.bandwidth());
}

TEST_CASE("SVGD particles recover the mode weights of a 1-D mixture") {
  // Liu & Wang's example: 1/3 N(−2, 1) + 2/3 N(2, 1) from particles started at N(−10, 1), left of both modes.
  const int64_t n = 300;
  State s(n, 1, 42);
  s.fill_normal(-10.0, 1.0);
  samplers::Svgd<double> svgd(mixture_energy, {.step_size = 0.5});
  svgd.run(s, 1000);
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) right += s.x.at(i, 0) > 0;
  const double w = double(right) / double(n);
  // P(x > 0) = 1/3 Φ(−2) + 2/3 Φ(2), Φ(z) = erfc(−z/√2)/2.
  const double want = (std::erfc(2 / std::sqrt(2.0)) / 3 + 2 * std::erfc(-2 / std::sqrt(2.0)) / 3) / 2;
  CAPTURE(w);
  CHECK(std::abs(w - want) <= 4.5 * std::sqrt(want * (1 - want) / double(n)));  // Note [SVGD tolerance]
  if (verbose()) std::printf("SVGD mixture: weight right of 0 %.4f (target %.4f)\n", w, want);
}

TEST_CASE("SVGD leaves a particle with a non-finite energy out of the kernel sums") {
  // E = ½x² except +∞ right of 5: the particle started at 6 cannot move or influence the others.
  const auto energy = [](Tape& t, const Var& x) {
    ad::Tensor<double> wall(ad::Shape{x.shape()[0], 1});
    for (int64_t i = 0; i < wall.rows(); ++i)
      wall.at(i, 0) = x.value().at(i, 0) > 5 ? std::numeric_limits<double>::infinity() : 0.0;
    return ad::reshape(0.5 * ad::square(x) + t.constant(wall), ad::Shape{x.shape()[0]});
  };
  State with(Mat(ad::Shape{4, 1}, {-1.0, 0.5, 2.0, 6.0}), 1);
  State without(Mat(ad::Shape{3, 1}, {-1.0, 0.5, 2.0}), 1);
  samplers::Svgd<double> a(energy, {.step_size = 0.1, .bandwidth = 1.0});
  samplers::Svgd<double> b(energy, {.step_size = 0.1, .bandwidth = 1.0});
  const samplers::SamplerStats st = a.run(with, 10);
  b.run(without, 10);
  CHECK(st.nan_proposals == 10);
  CHECK(st.accepted == 30);
  CHECK(with.x.at(3, 0) == 6.0);
  for (int64_t i = 0; i < 3; ++i) CHECK(with.x.at(i, 0) == without.x.at(i, 0));
}
