// Tests of samplers/diagnostics against theory. Every random input has a fixed seed; every tolerance
// comes from the sampling distribution of the statistic (derivations in the comments), not from output.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/random.hpp"
#include "samplers/diagnostics.hpp"

using samplers::Chains;

namespace {

// Stationary Gaussian AR(1): x_0 ~ N(0,1), x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t. Its integrated
// autocorrelation time is tau = (1 + rho) / (1 - rho), so the ESS of S draws is S (1 - rho) / (1 + rho).
Chains ar1(double rho, std::size_t chains, std::size_t n, uint64_t seed) {
  Chains out(chains, std::vector<double>(n));
  const double s = std::sqrt(1 - rho * rho);
  for (std::size_t c = 0; c < chains; ++c) {
    ad::Rng rng(seed, c);
    double x = rng.normal();
    for (double& v : out[c]) {
      v = x;
      x = rho * x + s * rng.normal();
    }
  }
  return out;
}

Chains iid(std::size_t chains, std::size_t n, uint64_t seed) { return ar1(0.0, chains, n, seed); }

bool verbose() { return std::getenv("EBM_VERBOSE") != nullptr; }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("diagnostics: FFT autocovariance equals the direct sum") {
  ad::Rng rng(1, 0);
  for (std::size_t n : {1u, 2u, 5u, 37u, 64u, 1000u}) {
    CAPTURE(n);
    std::vector<double> x(n);
    for (double& v : x) v = 3 + rng.normal();
    double mean = 0;
    for (double v : x) mean += v;
    mean /= double(n);
    const std::vector<double> acov = samplers::detail::autocovariance(x);
    REQUIRE(acov.size() == n);
    double worst = 0;
    for (std::size_t k = 0; k < n; ++k) {
      double direct = 0;
      for (std::size_t t = 0; t + k < n; ++t) direct += (x[t] - mean) * (x[t + k] - mean);
      worst = std::max(worst, std::abs(acov[k] - direct / double(n)));
    }
    // FFT rounding error grows like eps * log2(m) * sum x^2; 1e-12 of acov[0] leaves a wide margin.
    CHECK(worst <= 1e-12 * std::max(acov[0], 1e-300));
  }
}

TEST_CASE("diagnostics: inverse normal CDF") {
  using samplers::detail::inv_normal_cdf;
  CHECK(inv_normal_cdf(0.5) == 0.0);
  // Reference quantiles (17 significant digits) of the standard normal.
  CHECK(inv_normal_cdf(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-14));
  CHECK(inv_normal_cdf(0.025) == doctest::Approx(-1.959963984540054).epsilon(1e-14));
  CHECK(inv_normal_cdf(1e-10) == doctest::Approx(-6.361340902404056).epsilon(1e-13));
  CHECK(inv_normal_cdf(0.8413447460685429) == doctest::Approx(1.0).epsilon(1e-14));
  // Round trip through Phi over the whole range the rank normalisation uses.
  double worst = 0;
  for (double p = 1e-7; p < 1; p = p < 0.01 ? p * 1.7 : p + 0.0137) {
    const double x = inv_normal_cdf(p);
    const double q = p > 0.5 ? 1 - p : p, phi = 0.5 * std::erfc(std::abs(x) / std::sqrt(2.0));
    worst = std::max(worst, std::abs(phi - q) / q);
  }
  CHECK(worst < 1e-13);
  CHECK(std::isinf(inv_normal_cdf(0.0)));
  CHECK(std::isnan(inv_normal_cdf(1.5)));
}

TEST_CASE("diagnostics: ESS of AR(1) chains matches S (1 - rho) / (1 + rho), and MCSE is calibrated") {
  // Theory. The ESS estimator is S / tau_hat with tau_hat a truncated sum of estimated autocorrelations
  // (Geyer's initial monotone sequence, truncated at a data-dependent lag M). Its bias is small: the
  // biased autocovariances shrink lag k by (1 - k/n), a relative effect sum_k 2 k rho^k / (n tau) < 0.1%
  // here, and the truncation rule admits a few positive noise pairs before stopping, each of size
  // ~ sqrt(2 tau / S), which inflates tau_hat by O(1/sqrt(S)) -- about 1% at S = 80000. Its spread is,
  // to first order, that of a rectangular lag-window spectral estimate at frequency zero:
  //     sd(tau_hat) / tau ~= sqrt(2 (2M + 1) / S)          (Priestley 1981, section 6.2.4)
  // e.g. about 3% for rho = 0.5 (M ~ 10) and 5-8% for rho = 0.9 (M ~ 40-100).
  // Rather than trust the constant in that approximation, the test runs R = 20 independent replicates
  // and applies a t-test: |mean(tau_hat)/tau - 1| < 5 sd_hat / sqrt(R) (t_19 two-sided p ~ 1e-4), which
  // resolves relative errors of ~1.5% (rho = 0) to ~6% (rho = 0.9), i.e. above the O(1%) bias. The
  // empirical spread is checked against twice the formula, evaluated with a generous truncation lag
  // M = 2 ceil(ln S / (2 ln(1/|rho|))) + 8 (twice the lag where |rho|^k reaches the 1/sqrt(S) noise
  // floor); the factor 2 allows for the formula being first order, so only a grossly noisy estimator
  // (e.g. one that fails to truncate) fails it.
  //
  // MCSE calibration: z = mean / mcse_mean has the standard normal distribution when mcse is right, so
  // sum z^2 over the 80 replicates is chi-square(80); its central 1 - 2e-4 interval is [41, 136]
  // (Wilson-Hilferty). This checks ESS end to end against the real error of the mean.
  constexpr std::size_t kChains = 4, kN = 20000, kReps = 20;
  const double S = double(kChains * kN);
  double sum_z2 = 0;
  int z_count = 0;
  for (double rho : {0.0, 0.5, 0.9, -0.3}) {
    CAPTURE(rho);
    const double tau = (1 + rho) / (1 - rho);
    std::vector<double> ratio_basic, ratio_bulk;
    for (std::size_t r = 0; r < kReps; ++r) {
      const Chains x = ar1(rho, kChains, kN, 1000 + r);
      const double e_basic = samplers::ess_basic(x);
      ratio_basic.push_back((S / e_basic) / tau);
      // Rank-normal scores of Gaussian draws are (nearly) the draws themselves, so bulk ESS has the same
      // target; it costs a sort, so a quarter of the replicates suffice for it.
      if (r % 4 == 0) ratio_bulk.push_back((S / samplers::ess(x)) / tau);
      double mean = 0;
      for (const auto& c : x)
        for (double v : c) mean += v;
      mean /= S;
      const double z = mean / samplers::mcse_mean(x);
      sum_z2 += z * z;
      ++z_count;
    }
    auto mean_sd = [](const std::vector<double>& v) {
      double m = 0, ss = 0;
      for (double a : v) m += a;
      m /= double(v.size());
      for (double a : v) ss += (a - m) * (a - m);
      return std::make_pair(m, std::sqrt(ss / double(v.size() - 1)));
    };
    const auto [m_basic, sd_basic] = mean_sd(ratio_basic);
    const auto [m_bulk, sd_bulk] = mean_sd(ratio_bulk);
    const double k_floor = rho == 0 ? 0 : std::ceil(std::log(S) / (2 * std::log(1 / std::abs(rho))));
    const double sd_theory = std::sqrt(2 * (2 * (2 * k_floor + 8) + 1) / S);
    if (verbose())
      std::printf("rho=%5.2f  ESS theory %8.0f  ess_basic mean %8.0f (tau ratio %.4f, sd %.4f, theory sd <= %.4f)"
                  "  bulk ess %8.0f (tau ratio %.4f, sd %.4f)\n",
                  rho, S / tau, S / (m_basic * tau), m_basic, sd_basic, sd_theory, S / (m_bulk * tau), m_bulk,
                  sd_bulk);
    CHECK(std::abs(m_basic - 1) < 5 * sd_basic / std::sqrt(double(kReps)));
    CHECK(sd_basic < 2 * sd_theory);
    // Bulk: 5 replicates, t_4 two-sided p ~ 1e-3 at 8.6; the shared-bias check is the one above.
    CHECK(std::abs(m_bulk - 1) < 8.6 * sd_bulk / std::sqrt(double(ratio_bulk.size())));
    CHECK(sd_bulk < 2 * sd_theory);
  }
  if (verbose()) std::printf("sum of z^2 over %d replicates: %.1f\n", z_count, sum_z2);
  CHECK(z_count == 80);
  CHECK(sum_z2 > 41.1);
  CHECK(sum_z2 < 135.9);
}

TEST_CASE("diagnostics: antithetic chains give ESS > S, capped at S log10 S as in Stan") {
  // rho = -0.3: true ESS = 80000 * 1.3 / 0.7 = 148571 > S (uncapped; S log10 S = 392330).
  const Chains mild = ar1(-0.3, 4, 20000, 7);
  CHECK(samplers::ess_basic(mild) > 80000);
  // rho = -0.95: tau = 0.05 / 1.95 = 0.026, far below 1 / log10(S) = 0.204, so Stan's safety floor on
  // tau caps ESS at exactly S log10 S (an estimate tau_hat >= 0.204 would need a ~10 sd error).
  const Chains strong = ar1(-0.95, 4, 20000, 8);
  const double S = 80000, cap = S * std::log10(S);
  CHECK(samplers::ess_basic(strong) == doctest::Approx(cap).epsilon(1e-12));
  CHECK(samplers::ess(strong) == doctest::Approx(cap).epsilon(1e-12));
}

TEST_CASE("diagnostics: R-hat of iid chains is 1 and ESS of iid chains is S") {
  // For 2M = 8 iid split chains of n draws, B/W ~ F(7, 8(n-1)), so R-hat = sqrt((n-1)/n + F/n)
  // ~ 1 + (F - 1)/(2n). F's upper 1e-6 quantile is about 5.4, giving R-hat - 1 < 4.4/(2n) = 0.0044
  // for n = 500, and R-hat >= sqrt(1 - 1/n) > 0.999. The same holds for rank-normal and folded scores.
  const Chains x = iid(4, 1000, 11);
  CHECK(std::abs(samplers::rhat(x) - 1) < 0.01);
  CHECK(std::abs(samplers::rhat_basic(x) - 1) < 0.01);
  // ESS for iid draws: target S = 20000; relative sd ~ sqrt(2 (2M + 1) / S) with M ~ 4 is 2%, so 15%
  // is > 5 sd. The tail indicators I(x <= q05) are iid Bernoulli too, so tail ESS has the same target.
  const Chains y = iid(4, 5000, 12);
  CHECK(samplers::ess(y) == doctest::Approx(20000).epsilon(0.15));
  CHECK(samplers::ess_basic(y) == doctest::Approx(20000).epsilon(0.15));
  CHECK(samplers::ess_tail(y) == doctest::Approx(20000).epsilon(0.15));
}

TEST_CASE("diagnostics: R-hat detects a chain with a shifted mean") {
  // One of 4 chains is offset by 2 sd. Split: 2 of 8 chains have mean 2, 6 have mean 0, so
  // var(chain means) = 6/7 and R-hat_basic ~ sqrt((n-1)/n + 6/7) = 1.36; ranks compress the offset
  // but the rank-normal R-hat is still far above 1.1.
  Chains x = iid(4, 1000, 21);
  for (double& v : x[2]) v += 2;
  CHECK(samplers::rhat_basic(x) == doctest::Approx(1.36).epsilon(0.02));
  CHECK(samplers::rhat(x) > 1.1);
}

TEST_CASE("diagnostics: folded R-hat detects a chain with a different scale, classic R-hat does not") {
  // One chain has sd 3, the others sd 1, all centred at 0. The chain means agree, so classic R-hat
  // stays ~1 (E[B] = W here: R-hat - 1 ~ (F - 1)/(2n) < 0.005). Folded around the median, the wide
  // chain's |x| ranks mostly high: its split halves' mean normal score is ~0.9 against ~ -0.3 for the
  // others, giving a between/within ratio ~0.4 and a tail R-hat ~1.2, far above 1.05.
  Chains x = iid(4, 1000, 31);
  for (double& v : x[1]) v *= 3;
  CHECK(samplers::rhat_basic(x) < 1.01);
  CHECK(samplers::rhat(x) > 1.05);
}

TEST_CASE("diagnostics: degenerate input and caller errors") {
  SUBCASE("caller errors throw std::invalid_argument naming the problem") {
    CHECK(error_of([] { samplers::ess(Chains{}); }).find("no chains") != std::string::npos);
    CHECK(error_of([] { samplers::rhat(Chains{{1, 2, 3}, {4, 5, 6}}); }).find("fewer than 4") != std::string::npos);
    CHECK(error_of([] { samplers::ess_basic(Chains{{1, 2, 3, 4, 5}, {1, 2, 3, 4}}); }).find("ragged") !=
          std::string::npos);
    CHECK_THROWS_AS(samplers::ess_tail(Chains{{1, 2}}), std::invalid_argument);
    CHECK_THROWS_AS(samplers::rhat_basic(Chains{{}}), std::invalid_argument);
    CHECK_THROWS_AS(samplers::mcse_mean(Chains{{1, 2, 3}}), std::invalid_argument);
    CHECK_THROWS_AS(samplers::summarize(Chains{{1, 2, 3, 4}, {1}}), std::invalid_argument);
  }
  SUBCASE("constant or non-finite draws give NaN, like Stan") {
    const Chains constant(4, std::vector<double>(100, 2.5));
    CHECK(std::isnan(samplers::ess(constant)));
    CHECK(std::isnan(samplers::ess_basic(constant)));
    CHECK(std::isnan(samplers::ess_tail(constant)));
    CHECK(std::isnan(samplers::rhat(constant)));
    CHECK(std::isnan(samplers::rhat_basic(constant)));
    Chains one_stuck = iid(4, 100, 41);
    one_stuck[3].assign(100, 0.7);  // Stan: any constant (split) chain makes the diagnostics undefined
    CHECK(std::isnan(samplers::rhat(one_stuck)));
    CHECK(std::isnan(samplers::ess(one_stuck)));
    Chains inf = iid(4, 100, 42);
    inf[0][10] = INFINITY;
    CHECK(std::isnan(samplers::ess(inf)));
    CHECK(std::isnan(samplers::rhat_basic(inf)));
    const samplers::Summary s = samplers::summarize(constant);
    CHECK(s.mean == 2.5);
    CHECK(s.sd == 0);
    CHECK(std::isnan(s.rhat));
  }
  SUBCASE("4 to 7 draws: R-hat defined, ESS NaN (split chains need 4 draws)") {
    const Chains x = iid(3, 6, 43);
    CHECK(std::isfinite(samplers::rhat(x)));
    CHECK(std::isnan(samplers::ess(x)));
    CHECK(std::isfinite(samplers::ess_basic(iid(3, 9, 44))));  // odd length: middle draw dropped
  }
}

TEST_CASE("diagnostics: summarize and summarize_dims agree with the single functions") {
  const Chains x = ar1(0.5, 4, 2000, 51);
  const samplers::Summary s = samplers::summarize(x);
  CHECK(s.ess_bulk == samplers::ess(x));
  CHECK(s.ess_tail == samplers::ess_tail(x));
  CHECK(s.rhat == samplers::rhat(x));
  CHECK(s.mcse == samplers::mcse_mean(x));
  // The mean of 8000 AR(1) draws has sd sqrt(tau / S) = sqrt(3 / 8000) = 0.019; sd estimates 1.
  CHECK(std::abs(s.mean) < 5 * std::sqrt(3.0 / 8000));
  CHECK(s.sd == doctest::Approx(1).epsilon(0.1));

  // draws[c][t][k]: dim 0 the AR(1) above, dim 1 = 3 + 2 * iid, dim 2 constant.
  const Chains y = iid(4, 2000, 52);
  std::vector<std::vector<std::vector<double>>> draws(4, std::vector<std::vector<double>>(2000));
  for (std::size_t c = 0; c < 4; ++c)
    for (std::size_t t = 0; t < 2000; ++t) draws[c][t] = {x[c][t], 3 + 2 * y[c][t], -1.0};
  const std::vector<samplers::Summary> d = samplers::summarize_dims(draws);
  REQUIRE(d.size() == 3);
  CHECK(d[0].ess_bulk == s.ess_bulk);
  CHECK(d[0].rhat == s.rhat);
  CHECK(d[1].mean == doctest::Approx(3).epsilon(0.05));
  CHECK(d[1].sd == doctest::Approx(2).epsilon(0.1));
  CHECK(std::isnan(d[2].ess_bulk));
  CHECK(d[2].mean == -1.0);
  draws[2][5].pop_back();
  CHECK(error_of([&] { samplers::summarize_dims(draws); }).find("dimensions") != std::string::npos);
}
