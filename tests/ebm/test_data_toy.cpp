// Toy distributions: shapes, reproducibility, and one statistical property each.
// Tolerances are 5 standard errors where a standard error exists, so a correct generator fails ~never.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ebm/data/toy.hpp"

using namespace ebm::data;

namespace {

constexpr double kPi = std::numbers::pi;

double mean_col(const ad::Tensor<double>& t, int c) {
  double s = 0;
  for (int64_t i = 0; i < t.shape()[0]; ++i) s += t.at(i, c);
  return s / static_cast<double>(t.shape()[0]);
}

double sd_col(const ad::Tensor<double>& t, int c) {
  const double m = mean_col(t, c);
  double s = 0;
  for (int64_t i = 0; i < t.shape()[0]; ++i) s += (t.at(i, c) - m) * (t.at(i, c) - m);
  return std::sqrt(s / static_cast<double>(t.shape()[0] - 1));
}

// Observed fraction p of n within 5 standard errors of `expected`.
void check_fraction(int64_t count, int64_t n, double expected) {
  const double p = static_cast<double>(count) / static_cast<double>(n);
  CHECK(std::abs(p - expected) < 5 * std::sqrt(expected * (1 - expected) / static_cast<double>(n)));
}

}  // namespace

TEST_CASE("toy: every 2-D set has shape [n, 2], finite values, and is reproducible point by point") {
  for (const std::string& name : toy_dataset_names()) {
    CAPTURE(name);
    ad::Rng a(42), b(42), c(43), d(42);
    const auto x = toy_dataset(name, 500, a);
    const auto y = toy_dataset(name, 500, b);
    const auto z = toy_dataset(name, 500, c);
    const auto prefix = toy_dataset(name, 100, d);
    REQUIRE(x.shape() == ad::Shape{500, 2});
    bool same = true, differs = false;
    for (int64_t i = 0; i < x.numel(); ++i) {
      CHECK(std::isfinite(x[i]));
      same = same && x[i] == y[i];
      differs = differs || x[i] != z[i];
    }
    CHECK(same);
    CHECK(differs);
    for (int64_t i = 0; i < prefix.numel(); ++i) CHECK(prefix[i] == x[i]);  // the first m of n equal a draw of m
    CHECK(toy_dataset(name, 0, a).shape() == ad::Shape{0, 2});
    CHECK_THROWS_AS(toy_dataset(name, -1, a), std::invalid_argument);
  }
  ad::Rng rng(0);
  CHECK_THROWS_WITH_AS(toy_dataset("spiral", 10, rng), doctest::Contains("expected one of: two_moons"), std::invalid_argument);
}

TEST_CASE("toy: eight_gaussians clusters sit on the radius 2 sqrt 2 circle with equal weights") {
  ad::Rng rng(1);
  const int64_t n = 40000;
  const auto x = eight_gaussians(n, rng);
  std::vector<int64_t> count(8, 0);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    // Nearest centre by angle; residuals are then N(0, std^2) per coordinate.
    const int k = static_cast<int>(std::lround(std::atan2(x.at(i, 1), x.at(i, 0)) / (kPi / 4)) + 8) % 8;
    ++count[static_cast<size_t>(k)];
    const double dx = x.at(i, 0) - 2 * std::sqrt(2.0) * std::cos(k * kPi / 4), dy = x.at(i, 1) - 2 * std::sqrt(2.0) * std::sin(k * kPi / 4);
    sq += dx * dx + dy * dy;
  }
  for (int64_t c : count) check_fraction(c, n, 1.0 / 8);
  const double var = sq / (2.0 * static_cast<double>(n));  // per-coordinate variance; SE = var sqrt(2 / 2n)
  CHECK(std::abs(var - 0.125) < 5 * 0.125 * std::sqrt(1.0 / static_cast<double>(n)));
}

TEST_CASE("toy: rings have radii 3, 2.25, 1.5, 0.75, a quarter of the points each") {
  ad::Rng rng(2);
  const int64_t n = 20000;
  const auto x = rings(n, rng);
  std::vector<int64_t> count(4, 0);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = std::hypot(x.at(i, 0), x.at(i, 1));
    const int k = std::clamp(static_cast<int>(std::lround(r / 0.75)) - 1, 0, 3);
    ++count[static_cast<size_t>(k)];
    sq += (r - 0.75 * (k + 1)) * (r - 0.75 * (k + 1));
  }
  for (int64_t c : count) check_fraction(c, n, 0.25);
  CHECK(std::sqrt(sq / static_cast<double>(n)) == doctest::Approx(0.08).epsilon(0.1));  // radial noise ~ N(0, 0.08^2)
}

TEST_CASE("toy: two_moons has mean (0, 0.3) and half its points on each moon") {
  ad::Rng rng(3);
  const int64_t n = 20000;
  const auto x = two_moons(n, rng, 0.1);
  for (int c = 0; c < 2; ++c) CHECK(std::abs(mean_col(x, c) - (c ? 0.3 : 0.0)) < 5 * sd_col(x, c) / std::sqrt(static_cast<double>(n)));
  const auto clean = two_moons(n, rng, 0.0);
  int64_t upper = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double u = (clean.at(i, 0) + 1) / 2, v = (clean.at(i, 1) + 0.2) / 2;
    const bool on_upper = std::abs(u * u + v * v - 1) < 1e-9;
    const bool on_lower = std::abs((1 - u) * (1 - u) + (0.5 - v) * (0.5 - v) - 1) < 1e-9;
    CHECK((on_upper || on_lower));
    upper += on_upper && v >= 0;
  }
  check_fraction(upper, n, 0.5);
}

TEST_CASE("toy: checkerboard fills the 8 even squares of [-4, 4]^2 uniformly") {
  ad::Rng rng(4);
  const int64_t n = 16000;
  const auto x = checkerboard(n, rng);
  std::vector<int64_t> count(16, 0);
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE((x.at(i, 0) >= -4 && x.at(i, 0) < 4 && x.at(i, 1) >= -4 && x.at(i, 1) < 4));
    const int c = static_cast<int>(std::floor(x.at(i, 0) / 2)) + 2, r = static_cast<int>(std::floor(x.at(i, 1) / 2)) + 2;
    CHECK((c + r) % 2 == 0);
    ++count[static_cast<size_t>(r * 4 + c)];
  }
  for (int s = 0; s < 16; ++s)
    if ((s / 4 + s % 4) % 2 == 0) check_fraction(count[static_cast<size_t>(s)], n, 1.0 / 8);
}

TEST_CASE("toy: swiss_roll, pinwheel and two_spirals have the documented geometry") {
  ad::Rng rng(5);
  const int64_t n = 20000;
  // Noise-free swiss roll: 5 |x| = t, uniform on [1.5 pi, 4.5 pi], with the angle equal to t (mod 2 pi).
  const auto roll = swiss_roll(n, rng, 0.0);
  double st = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = 5 * std::hypot(roll.at(i, 0), roll.at(i, 1));
    REQUIRE((t >= 1.5 * kPi - 1e-9 && t <= 4.5 * kPi + 1e-9));
    CHECK(std::abs(std::remainder(std::atan2(roll.at(i, 1), roll.at(i, 0)) - t, 2 * kPi)) < 1e-9);
    st += t;
  }
  CHECK(std::abs(st / n - 3 * kPi) < 5 * (3 * kPi / std::sqrt(12.0)) / std::sqrt(static_cast<double>(n)));  // sd of U(a,b) = (b-a)/sqrt 12
  // Pinwheel: rotational symmetry puts the mean at the origin; |x| = 2 sqrt(f0^2 + f1^2) with f0 ~ N(1, 0.3^2).
  const auto pin = pinwheel(n, rng);
  for (int c = 0; c < 2; ++c) CHECK(std::abs(mean_col(pin, c)) < 5 * sd_col(pin, c) / std::sqrt(static_cast<double>(n)));
  double r2 = 0;
  for (int64_t i = 0; i < n; ++i) r2 += pin.at(i, 0) * pin.at(i, 0) + pin.at(i, 1) * pin.at(i, 1);
  CHECK(r2 / n == doctest::Approx(4 * (1 + 0.09 + 0.01)).epsilon(0.02));
  // Two spirals are point-symmetric about the origin.
  const auto sp = two_spirals(n, rng);
  for (int c = 0; c < 2; ++c) CHECK(std::abs(mean_col(sp, c)) < 5 * sd_col(sp, c) / std::sqrt(static_cast<double>(n)));
}

TEST_CASE("toy: mixture_1d recovers its weights, means and standard deviations") {
  ad::Rng rng(6);
  const int64_t n = 30000;
  const std::vector<double> means = {-10, 0, 12}, stds = {1, 0.5, 2}, weights = {2, 5, 3};
  const auto x = mixture_1d(n, rng, means, stds, weights);
  REQUIRE(x.shape() == ad::Shape{n, 1});
  std::vector<int64_t> count(3, 0);
  std::vector<double> sum(3, 0), sq(3, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int k = x[i] < -5 ? 0 : x[i] < 6 ? 1 : 2;  // components are > 5 sd apart
    ++count[static_cast<size_t>(k)];
    sum[static_cast<size_t>(k)] += x[i];
    sq[static_cast<size_t>(k)] += x[i] * x[i];
  }
  for (size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    check_fraction(count[k], n, weights[k] / 10);
    const double m = sum[k] / static_cast<double>(count[k]);
    CHECK(std::abs(m - means[k]) < 5 * stds[k] / std::sqrt(static_cast<double>(count[k])));
    CHECK(std::sqrt(sq[k] / static_cast<double>(count[k]) - m * m) == doctest::Approx(stds[k]).epsilon(0.05));
  }
  CHECK_THROWS_AS(mixture_1d(10, rng, {0, 1}, {1}, {}), std::invalid_argument);
  CHECK_THROWS_AS(mixture_1d(10, rng, {0, 1}, {1, 1}, {1, -1}), std::invalid_argument);
  CHECK_THROWS_AS(mixture_1d(10, rng, {0}, {0}, {}), std::invalid_argument);
}

TEST_CASE("toy: gaussian_mixture with full covariances in 3-D, and its log density") {
  ad::Rng rng(7);
  const int64_t n = 40000;
  const ad::Tensor<double> means(ad::Shape{1, 3}, {1, -2, 3});
  const ad::Tensor<double> cov(ad::Shape{1, 3, 3}, {2, 0.5, 0, 0.5, 1, 0.3, 0, 0.3, 0.5});
  const auto x = gaussian_mixture(n, rng, means, cov);
  REQUIRE(x.shape() == ad::Shape{n, 3});
  for (int i = 0; i < 3; ++i) {
    CHECK(std::abs(mean_col(x, i) - means[i]) < 5 * std::sqrt(cov[i * 4] / static_cast<double>(n)));
    for (int j = 0; j < 3; ++j) {
      double c = 0;
      for (int64_t p = 0; p < n; ++p) c += (x.at(p, i) - means[i]) * (x.at(p, j) - means[j]);
      CHECK(c / n == doctest::Approx(cov[i * 3 + j]).epsilon(0.03).scale(1.0));
    }
  }
  // log density: the closed form at the mean, and integration to 1 on a 2-D grid for a 2-component mixture.
  const double logdet = std::log(2 * (1 * 0.5 - 0.09) - 0.5 * (0.5 * 0.5));
  CHECK(gaussian_mixture_log_density(means, means, cov)[0] == doctest::Approx(-1.5 * std::log(2 * kPi) - 0.5 * logdet));
  const ad::Tensor<double> m2(ad::Shape{2, 2}, {-1, 0, 2, 1});
  const ad::Tensor<double> s2(ad::Shape{2, 2}, {0.5, 1.0, 0.8, 0.3});  // per-axis standard deviations
  const int g = 200;
  const double lo = -6, h = 12.0 / g;
  ad::Tensor<double> grid(ad::Shape{g * g, 2});
  for (int i = 0; i < g; ++i)
    for (int j = 0; j < g; ++j) grid.at(i * g + j, 0) = lo + (i + 0.5) * h, grid.at(i * g + j, 1) = lo + (j + 0.5) * h;
  const auto lp = gaussian_mixture_log_density(grid, m2, s2, {1, 3});
  double mass = 0;
  for (double v : lp) mass += std::exp(v) * h * h;
  CHECK(mass == doctest::Approx(1.0).epsilon(1e-3));
  CHECK_THROWS_AS(gaussian_mixture(5, rng, means, ad::Tensor<double>(ad::Shape{1, 3, 3}, {1, 2, 0, 2, 1, 0, 0, 0, 1})), std::invalid_argument);
  CHECK_THROWS_AS(gaussian_mixture(5, rng, means, ad::Tensor<double>(ad::Shape{2})), std::invalid_argument);
}
