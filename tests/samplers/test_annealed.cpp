// Annealed Langevin (NCSN) against its exact moments. For the noise-conditioned energy of Gaussian data,
// E(x; σ) = (x − μ)² / (2 (s² + σ²)) (the exact energy of the data N(μ, s²) convolved with N(0, σ²)), every
// update is linear, x' = a x + (1 − a) μ + √α z with a = 1 − α / (2 (s² + σ²)), so the mean and variance of
// the chains follow m' = a m + (1 − a) μ and V' = a² V + α exactly, from any start, through every level
// (and the denoising step x − σ_L² ∇E is linear too). The chains are independent, so over B chains the
// sample mean has standard error √(V/B) and the sample variance √((m₄ − V²)/B) (m₄ the fourth central
// moment, estimated from the sample, so no Gaussianity is assumed); the checks allow 4.5 standard errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "autodiff/ops.hpp"
#include "samplers/annealed.hpp"

using Tape = ad::Tape<double>;
using Var = ad::Var<double>;

namespace {

constexpr double kMu = 2.0, kS = 0.5;

Var conditioned_energy(Tape&, const Var& x, double sigma) {
  return ad::sum(ad::square(x - kMu), 1) * (0.5 / (kS * kS + sigma * sigma));
}

struct Moments {
  double mean, var, m4;
};

Moments moments(const ad::Tensor<double>& x) {
  const double n = double(x.numel());
  double m = 0;
  for (double v : x) m += v / n;
  double v2 = 0, v4 = 0;
  for (double v : x) v2 += (v - m) * (v - m) / n, v4 += std::pow(v - m, 4) / n;
  return {m, v2, v4};
}

}  // namespace

TEST_CASE("annealed Langevin matches the exact moment recursion, with and without denoising") {
  samplers::AnnealedLangevinOptions opt;
  opt.sigmas = samplers::AnnealedLangevinOptions::geometric(3.0, 0.1, 6);
  opt.step_size = 0.005;
  opt.steps_per_level = 30;
  for (bool denoise : {false, true}) {
    CAPTURE(denoise);
    opt.denoise = denoise;
    samplers::AnnealedLangevin<double> sampler(conditioned_energy, opt);
    CHECK(sampler.level_step(5) == doctest::Approx(0.005));
    CHECK(sampler.level_step(0) == doctest::Approx(0.005 * 900));
    const int64_t B = 4000;
    samplers::ChainState<double> s(B, 1, 51);
    s.fill_uniform(-4.0, 4.0);
    double m = 0, v = 64.0 / 12;  // U(−4, 4)
    for (int i = 0; i < 6; ++i) {
      const double alpha = sampler.level_step(i), var_i = kS * kS + opt.sigmas[size_t(i)] * opt.sigmas[size_t(i)];
      const double a = 1 - alpha / (2 * var_i);
      for (int t = 0; t < opt.steps_per_level; ++t) m = a * m + (1 - a) * kMu, v = a * a * v + alpha;
    }
    if (denoise) {
      const double sl = opt.sigmas.back(), c = 1 - sl * sl / (kS * kS + sl * sl);
      m = kMu + c * (m - kMu), v = c * c * v;
    }
    int64_t calls = 0;
    const auto st = sampler.run(s, [&](int64_t step, const samplers::ChainState<double>&) { CHECK(step == calls++); });
    CHECK(calls == 6 * 30 + (denoise ? 1 : 0));
    CHECK(st.nan_proposals == 0);
    CHECK(st.accepted == B * calls);
    const Moments mo = moments(s.x);
    if (std::getenv("EBM_VERBOSE"))
      std::printf("annealed (denoise %d): mean %.4f (exact %.4f), var %.5f (exact %.5f)\n", int(denoise), mo.mean, m, mo.var, v);
    CHECK(std::abs(mo.mean - m) <= 4.5 * std::sqrt(v / double(B)));
    CHECK(std::abs(mo.var - v) <= 4.5 * std::sqrt((mo.m4 - mo.var * mo.var) / double(B)));
  }
}

TEST_CASE("annealed Langevin: clamping, and rejected options") {
  samplers::AnnealedLangevinOptions opt;
  opt.sigmas = {1.0, 0.5};
  opt.step_size = 0.5;
  opt.steps_per_level = 10;
  opt.clamp = true, opt.lo = 1.5, opt.hi = 1.8;
  samplers::AnnealedLangevin<double> sampler(conditioned_energy, opt);
  samplers::ChainState<double> s(100, 2, 52);
  s.fill_normal(0.0, 3.0);
  sampler.run(s);
  for (double v : s.x) CHECK((v >= 1.5 && v <= 1.8));

  opt.sigmas = {0.5, 1.0};  // not decreasing
  CHECK_THROWS_AS(samplers::AnnealedLangevin<double>(conditioned_energy, opt), std::invalid_argument);
  opt.sigmas = {};
  CHECK_THROWS_AS(samplers::AnnealedLangevin<double>(conditioned_energy, opt), std::invalid_argument);
}
