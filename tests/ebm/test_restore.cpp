// Restoration (ebm/eval/restore.hpp): PSNR against hand computations, the masks, and refinement against the
// exact answers of a Gaussian energy whose mean is the clean image. For
//   E(x; σ) = ‖x − μ‖² / (2 (τ² + σ²))     (the exact energy of N(μ, τ²I) data noised by σ)
// every update is linear in the deviation u = x − μ, pixel by pixel:
//   Tweedie at σ = s:      u ← u τ² / (τ² + s²), so the PSNR gain is exactly 20 log10((τ² + s²) / τ²);
//   a Langevin step (α):   u ← a u + √α z, a = 1 − α / (2 (τ² + σ²)), so E u² ← a² E u² + α;
//   the final Tweedie step at σ_L multiplies u by τ² / (τ² + σ_L²).
// Refinement is checked against the resulting expected MSE; its pixels are independent, so the empirical MSE
// over n pixel draws has relative standard error √(2/n) for Gaussian u, and the checks allow 4.5 of them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <autodiff/ops.hpp>
#include <autodiff/random.hpp>
#include <ebm/eval/restore.hpp>

using ad::Shape;
using ad::Tensor;

namespace {

constexpr double kTau = 0.05;

Tensor<double> clean_images(int64_t n, int64_t d, uint64_t seed) {
  Tensor<double> x(Shape{n, d});
  ad::Rng rng(seed, 0);
  for (double& v : x) v = rng.uniform();
  return x;
}

// E(x; σ) = ‖x − μ‖² / (2 (τ² + σ²)) with μ the given row, broadcast over the batch.
samplers::NoiseConditionedEnergy<double> gaussian_energy(const Tensor<double>& mu_row) {
  return [mu_row](ad::Tape<double>& tape, const ad::Var<double>& x, double sigma) {
    return ad::sum(ad::square(x - tape.constant(mu_row)), 1) * (0.5 / (kTau * kTau + sigma * sigma));
  };
}

double mse(const Tensor<double>& a, const Tensor<double>& b) { return std::pow(10.0, -ebm::psnr(a, b) / 10); }

// Expected E u² after refine_annealed on the Gaussian energy, from E u² = m0.
double expected_msd(double m0, const ebm::RefineOptions& o) {
  double m = m0;
  for (double sigma : o.sigmas) {
    const double r = sigma / o.sigmas.back(), alpha = o.step_size * r * r, a = 1 - alpha / (2 * (kTau * kTau + sigma * sigma));
    for (int t = 0; t < o.steps_per_level; ++t) m = a * a * m + alpha;
  }
  const double sl = o.sigmas.back(), f = kTau * kTau / (kTau * kTau + sl * sl);
  return o.denoise ? f * f * m : m;
}

}  // namespace

TEST_CASE("PSNR equals 10 log10(1 / MSE) computed by hand, also on a mask") {
  const Tensor<double> clean(Shape{2, 2}, {0.0, 0.5, 1.0, 1.0}), est(Shape{2, 2}, {0.1, 0.5, 1.0, 0.8});
  // MSE = (0.01 + 0 + 0 + 0.04) / 4 = 0.0125 -> 10 log10(80).
  CHECK(ebm::psnr(clean, est) == doctest::Approx(19.030899869919438));
  // Peak 2: 10 log10(4 / 0.0125) = 10 log10(320).
  CHECK(ebm::psnr(clean, est, 2.0) == doctest::Approx(25.051499783199060));
  // Mask on the first column: errors 0.1 and 0 -> MSE 0.005 -> 10 log10(200).
  const Tensor<double> first_col(Shape{2}, {1.0, 0.0});
  CHECK(ebm::psnr_masked(clean, est, first_col) == doctest::Approx(23.010299956639813));
  CHECK(std::isinf(ebm::psnr(clean, clean)));
  CHECK_THROWS_AS(ebm::psnr(clean, Tensor<double>(Shape{1, 4})), ad::ShapeError);
  CHECK_THROWS_AS(ebm::psnr_masked(clean, est, Tensor<double>(Shape{2}, 0.0)), std::invalid_argument);
}

TEST_CASE("image masks mark the missing pixels; apply_mask fills exactly those") {
  const Tensor<double> c = ebm::image_mask("center", 4, 4);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) CHECK(c[i * 4 + j] == ((i == 1 || i == 2) && (j == 1 || j == 2) ? 1.0 : 0.0));
  const Tensor<double> l = ebm::image_mask("left_half", 3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) CHECK(l[i * 4 + j] == (j < 2 ? 1.0 : 0.0));
  double center28 = 0;
  for (double v : ebm::image_mask("center", 28, 28)) center28 += v;
  CHECK(center28 == 14 * 14);
  CHECK_THROWS_AS(ebm::image_mask("diagonal", 4, 4), std::invalid_argument);
  const Tensor<double> x = clean_images(3, 16, 1), y = ebm::apply_mask(x, c, 0.5);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t k = 0; k < 16; ++k) CHECK(y.at(r, k) == (c[k] != 0 ? 0.5 : x.at(r, k)));
}

TEST_CASE("Gaussian noise has the requested standard deviation and is reproducible") {
  const Tensor<double> x = clean_images(20, 500, 2);
  const Tensor<double> y = ebm::add_gaussian_noise(x, 0.3, 7), y2 = ebm::add_gaussian_noise(x, 0.3, 7);
  CHECK(std::equal(y.begin(), y.end(), y2.begin()));
  // 10000 draws: relative standard error of the MSE √(2/n) = 1.4%.
  CHECK(mse(x, y) == doctest::Approx(0.09).epsilon(4.5 * std::sqrt(2.0 / 10000)));
}

TEST_CASE("Tweedie denoising with the exact energy gains exactly 20 log10((tau^2 + s^2) / tau^2) dB") {
  const Tensor<double> x = clean_images(1, 64, 3);
  const double s = 0.3;
  const Tensor<double> y = ebm::add_gaussian_noise(x, s, 11);
  const Tensor<double> xh = ebm::tweedie_denoise(gaussian_energy(x), y, s, /*clamp=*/false, /*batch=*/1);
  const double gain = ebm::psnr(x, xh) - ebm::psnr(x, y);
  CHECK(gain == doctest::Approx(20 * std::log10((kTau * kTau + s * s) / (kTau * kTau))).epsilon(1e-9));
  // Several rows share the mean row only when they are the same image: use copies of it, in two batches.
  Tensor<double> xs(Shape{3, 64}), ys(Shape{3, 64});
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t k = 0; k < 64; ++k) xs.at(r, k) = x.at(0, k);
  ys = ebm::add_gaussian_noise(xs, s, 12);
  const Tensor<double> xhs = ebm::tweedie_denoise(gaussian_energy(x), ys, s, false, 2);
  CHECK(ebm::psnr(xs, xhs) - ebm::psnr(xs, ys) == doctest::Approx(gain).epsilon(1e-9));
  // Clamping to [0, 1] can only bring the estimate closer to a clean image in [0, 1].
  CHECK(ebm::psnr(xs, ebm::tweedie_denoise(gaussian_energy(x), ys, s, true)) >= ebm::psnr(xs, xhs));
}

TEST_CASE("annealed refinement of a noisy image reaches the MSE the exact recursion predicts") {
  const int64_t d = 784, n = 8;
  const Tensor<double> mu = clean_images(1, d, 4);
  Tensor<double> x(Shape{n, d});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < d; ++k) x.at(r, k) = mu[k];
  const double s = 0.3;
  const Tensor<double> y = ebm::add_gaussian_noise(x, s, 21);
  ebm::RefineOptions o;
  o.sigmas = {0.3, 0.15, 0.07, 0.03};
  o.step_size = 2e-4, o.steps_per_level = 40, o.clamp = false, o.seed = 5;
  const Tensor<double> xh = ebm::refine_annealed(gaussian_energy(mu), y, o);
  const double expect = expected_msd(s * s, o), tol = 4.5 * std::sqrt(2.0 / double(n * d));
  CHECK(mse(x, xh) == doctest::Approx(expect).epsilon(tol));
  CHECK(ebm::psnr(x, xh) > ebm::psnr(x, y) + 10);  // and expect is far below s²
  // Row n's noise comes from Rng(seed, n) alone: refining the first row by itself gives the same row.
  const Tensor<double> y0(Shape{1, d}, y.data()), xh0 = ebm::refine_annealed(gaussian_energy(mu), y0, o);
  for (int64_t k = 0; k < d; ++k) CHECK(xh0[k] == xh.at(0, k));
}

TEST_CASE("posterior refinement given a noisy observation reaches the MSE the exact recursion predicts") {
  // With the observation term, a step on u = x − μ is u ← a u + (α / 2v) w + √α z, where w = y − μ is fixed,
  // v = s² − σ² and a = 1 − (α/2)(1/(τ² + σ²) + 1/v). So u = c w + (noise of variance V) with
  // c ← a c + α/(2v), V ← a² V + α from c = 1, V = 0, and E mean u² = c² mean(w²) + V (the final Tweedie step
  // multiplies u by f = τ²/(τ² + σ_L²)).
  const int64_t d = 784, n = 8;
  const Tensor<double> mu = clean_images(1, d, 8);
  Tensor<double> x(Shape{n, d});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < d; ++k) x.at(r, k) = mu[k];
  const double s = 0.3;
  const Tensor<double> y = ebm::add_gaussian_noise(x, s, 31);
  ebm::RefineOptions o;
  o.sigmas = {0.25, 0.12, 0.06, 0.03};
  o.step_size = 2e-4, o.steps_per_level = 40, o.clamp = false, o.seed = 5, o.observation_sd = s;
  double c = 1, v_noise = 0;
  for (double sigma : o.sigmas) {
    const double r = sigma / o.sigmas.back(), alpha = o.step_size * r * r, v = s * s - sigma * sigma;
    const double a = 1 - alpha / 2 * (1 / (kTau * kTau + sigma * sigma) + 1 / v);
    for (int t = 0; t < o.steps_per_level; ++t) c = a * c + alpha / (2 * v), v_noise = a * a * v_noise + alpha;
  }
  const double f = kTau * kTau / (kTau * kTau + 0.03 * 0.03), w2 = mse(x, y);
  const Tensor<double> xh = ebm::refine_annealed(gaussian_energy(mu), y, o);
  // The noise part has n d independent draws; the c² mean(w²) part is exact given y.
  CHECK(mse(x, xh) == doctest::Approx(f * f * (c * c * w2 + v_noise)).epsilon(4.5 * std::sqrt(2.0 / double(n * d))));
  CHECK(ebm::psnr(x, xh) > ebm::psnr(x, y) + 10);
  o.sigmas = {0.3, 0.1};  // σ₁ = s: the observation term would be infinite
  CHECK_THROWS_AS(ebm::refine_annealed(gaussian_energy(mu), y, o), std::invalid_argument);
}

TEST_CASE("masked refinement never changes observed pixels and fills the missing ones as predicted") {
  const int64_t d = 784, n = 8;
  const Tensor<double> mu = clean_images(1, d, 6), mask = ebm::image_mask("center", 28, 28);
  Tensor<double> x(Shape{n, d});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < d; ++k) x.at(r, k) = mu[k];
  // The observed pixels are noisy here, so "unchanged" is not the same as "equal to the clean image".
  const Tensor<double> x0 = ebm::apply_mask(ebm::add_gaussian_noise(x, 0.1, 3), mask, 0.5);
  ebm::RefineOptions o;
  o.sigmas = {1.0, 0.5, 0.25, 0.12, 0.06, 0.03};
  o.step_size = 2e-4, o.steps_per_level = 40, o.seed = 9;
  for (bool noise_observed : {true, false})
    for (bool clamp : {true, false}) {
      CAPTURE(noise_observed);
      CAPTURE(clamp);
      o.noise_observed = noise_observed, o.clamp = clamp;
      const Tensor<double> xh = ebm::refine_annealed(gaussian_energy(mu), x0, o, &mask);
      int64_t changed_observed = 0, moved_missing = 0;
      double se = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t k = 0; k < d; ++k) {
          if (mask[k] == 0) changed_observed += xh.at(r, k) != x0.at(r, k);
          else moved_missing += xh.at(r, k) != x0.at(r, k), se += (xh.at(r, k) - mu[k]) * (xh.at(r, k) - mu[k]);
          if (clamp) CHECK((mask[k] == 0 || (xh.at(r, k) >= 0 && xh.at(r, k) <= 1)));
        }
      CHECK(changed_observed == 0);
      CHECK(moved_missing == n * 196);
      CHECK(ebm::psnr_masked(x, xh, mask) > ebm::psnr_masked(x, x0, mask) + 10);
      if (!clamp) {
        // The Gaussian energy is separable, so the free pixels follow the recursion from E u² = E (0.5 − μ)².
        double m0 = 0;
        for (int64_t k = 0; k < d; ++k)
          if (mask[k] != 0) m0 += (0.5 - mu[k]) * (0.5 - mu[k]) / 196;
        CHECK(se / double(n * 196) == doctest::Approx(expected_msd(m0, o)).epsilon(4.5 * std::sqrt(2.0 / double(n * 196))));
      }
    }
}

TEST_CASE("refinement rejects bad ladders and shapes") {
  const Tensor<double> mu = clean_images(1, 4, 1);
  ebm::RefineOptions o;
  o.sigmas = {0.1, 0.2};
  CHECK_THROWS_AS(ebm::refine_annealed(gaussian_energy(mu), mu, o), std::invalid_argument);
  o.sigmas = {0.2, 0.1};
  const Tensor<double> bad_mask(Shape{3}, 1.0);
  CHECK_THROWS_AS(ebm::refine_annealed(gaussian_energy(mu), mu, o, &bad_mask), ad::ShapeError);
  o.step_size = 0;
  CHECK_THROWS_AS(ebm::refine_annealed(gaussian_energy(mu), mu, o), std::invalid_argument);
}
