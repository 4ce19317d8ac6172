// Reverse AIS and the forward/reverse sandwich (ais.hpp, Note [Reverse AIS]), and the exact samplers they start
// from (exact_samples.hpp), on models whose log Z is exact: the 12 × 6 RBM (enumeration) and the 2-D Gaussian
// mixture (log Z = log_c), both from ais_test_models.hpp.
//
// Tolerances: bounds and estimates are Monte Carlo averages, so "lower ≤ log Z ≤ upper" is checked up to 4 of
// their reported SEs (sd of the log weights / √B; about the 1e-4 two-sided normal tail), and "tighter with more
// intermediates" as a drop of the gap by more than 4 SEs of the difference. The 0.1-nat accuracy required of AIS
// (test_ais.cpp) is checked on top. Exact samplers are checked by moments against enumeration / the parameters, within 5 SEs.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include <autodiff/threads.hpp>
#include <ebm/data/toy.hpp>
#include <ebm/eval/ais.hpp>
#include <ebm/eval/exact_samples.hpp>
#include <ebm/eval/partition.hpp>
#include <ebm/models/gaussian.hpp>
#include <samplers/gibbs.hpp>
#include <samplers/mala.hpp>

#include "ais_test_models.hpp"
#include "../thread_check.hpp"

using namespace ais_test;

namespace {

// All 2^V visible states of an RBM and their normalised probabilities (by enumeration).
struct Enumerated {
  Tensor<double> states;
  std::vector<double> p;
};
Enumerated enumerate(const ebm::BernoulliRbm<double>& rbm) {
  const int64_t v = rbm.visible(), n = int64_t{1} << v;
  Enumerated e{Tensor<double>(Shape{n, v}), std::vector<double>(size_t(n))};
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < v; ++i) e.states.at(s, i) = double((s >> i) & 1);
  const Tensor<double> f = rbm.evaluate(e.states);
  const double log_z = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  for (int64_t s = 0; s < n; ++s) e.p[size_t(s)] = std::exp(-f[s] - log_z);
  return e;
}

// The β-intermediate of the RBM path with base biases b_0 as an RBM: (β W, (1 − β) b_0 + β b, β c); its free energy
// is −log f_β (ais.hpp), computed here independently of the AIS code.
ebm::BernoulliRbm<double> intermediate(const ebm::BernoulliRbm<double>& rbm, const std::vector<double>& b0, double beta) {
  ebm::BernoulliRbm<double> r(rbm);
  for (double& w : r.param("W")) w *= beta;
  for (int64_t i = 0; i < rbm.visible(); ++i) r.param("b")[i] = (1 - beta) * b0[size_t(i)] + beta * rbm.param("b")[i];
  for (double& c : r.param("c")) c *= beta;
  return r;
}

Tensor<double> mixture_samples(const Mixture& mix, int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  return ebm::data::gaussian_mixture(n, rng, mix.means, mix.stds, mix.weights);
}

void print(const char* what, int k, const ebm::AisSandwich& s, double exact) {
  std::printf("[ais-rev] %s K=%d: lower %+.4f (se %.4f)  upper %+.4f (se %.4f)  gap %.4f (se %.4f)  fwd %+.4f  rev %+.4f  (rel. to exact)\n",
              what, k, s.lower - exact, s.lower_stderr, s.upper - exact, s.upper_stderr, s.gap, s.gap_stderr,
              s.forward_estimate - exact, s.reverse_estimate - exact);
}

// Sandwich checks shared by both models: bounds on the right sides of log Z (up to 4 SEs) at every K, the gap
// shrinking significantly from each K to the next, and the 0.1-nat accuracy at the largest K.
void check_sandwiches(const std::vector<ebm::AisSandwich>& s, double exact) {
  for (const auto& x : s) {
    CHECK(x.lower <= exact + 4 * x.lower_stderr);
    CHECK(x.upper >= exact - 4 * x.upper_stderr);
  }
  for (size_t i = 1; i < s.size(); ++i) CHECK(s[i - 1].gap - s[i].gap > 4 * std::hypot(s[i - 1].gap_stderr, s[i].gap_stderr));
  const auto& last = s.back();
  CHECK(std::abs(last.lower - exact) < 0.1);
  CHECK(std::abs(last.upper - exact) < 0.1);
  CHECK(std::abs(last.forward_estimate - exact) < 0.1);
  CHECK(std::abs(last.reverse_estimate - exact) < 0.1);
  CHECK(last.gap_stderr < 0.025);  // precise enough for the 0.1-nat checks to mean something
}

}  // namespace

TEST_CASE("exact samples of an RBM match its enumerated marginals (hidden-side and visible-side enumeration)") {
  const int64_t n = 20000;
  // 12 × 6 enumerates the hidden layer; its transpose-shaped 6 × 12 sibling the visible one.
  ad::Rng rng(3);
  ebm::BernoulliRbm<double> wide(6, 12, rng, 1.0);
  ad::fill_uniform(wide.param("b"), rng, -1.0, 1.0);
  ad::fill_uniform(wide.param("c"), rng, -1.0, 1.0);
  for (const ebm::BernoulliRbm<double>& rbm : {test_rbm(), wide}) {
    const Enumerated e = enumerate(rbm);
    const Tensor<double> x = ebm::rbm_exact_samples(rbm, n, 17);
    REQUIRE(x.shape() == Shape{n, rbm.visible()});
    // Each unit's mean, and the mean free energy (a statistic of the whole joint), within 5 SEs.
    const Tensor<double> fx = rbm.evaluate(x), fs = rbm.evaluate(e.states);
    double ef = 0, ef2 = 0, mf = 0;
    for (int64_t s = 0; s < e.states.rows(); ++s) ef += e.p[size_t(s)] * fs[s], ef2 += e.p[size_t(s)] * fs[s] * fs[s];
    for (double f : fx) mf += f / double(n);
    CHECK(std::abs(mf - ef) < 5 * std::sqrt((ef2 - ef * ef) / double(n)));
    for (int64_t i = 0; i < rbm.visible(); ++i) {
      double pi = 0, m = 0;
      for (int64_t s = 0; s < e.states.rows(); ++s) pi += e.p[size_t(s)] * e.states.at(s, i);
      for (int64_t r = 0; r < n; ++r) m += x.at(r, i) / double(n);
      CHECK(std::abs(m - pi) < 5 * std::sqrt(pi * (1 - pi) / double(n)));
    }
    // Row r depends only on (seed, r): a shorter draw is a prefix of a longer one.
    const Tensor<double> head = ebm::rbm_exact_samples(rbm, 10, 17);
    CHECK(std::equal(head.begin(), head.end(), x.begin()));
  }
  ad::Rng big(1);
  CHECK_THROWS_AS(ebm::rbm_exact_samples(ebm::BernoulliRbm<double>(30, 21, big), 1, 0), std::invalid_argument);
  CHECK(!ebm::exact_sampling_unsupported(ebm::BernoulliRbm<double>(30, 21, big)).empty());
  CHECK(ebm::exact_sampling_unsupported(ebm::BernoulliRbm<double>(784, 20, big)).empty());
}

TEST_CASE("exact samples of a Gaussian energy have its mean and covariance") {
  const Tensor<double> mean(Shape{2}, {1.0, -2.0}), cov(Shape{2, 2}, {1.0, 0.6, 0.6, 0.5});
  const auto g = ebm::GaussianEnergy<double>::full(mean, cov);
  const int64_t n = 40000;
  const Tensor<double> x = ebm::exact_samples(g, n, 5);
  double m[2] = {0, 0}, c[2][2] = {{0, 0}, {0, 0}};
  for (int64_t r = 0; r < n; ++r)
    for (int i = 0; i < 2; ++i) m[i] += x.at(r, i) / double(n);
  for (int64_t r = 0; r < n; ++r)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) c[i][j] += (x.at(r, i) - m[i]) * (x.at(r, j) - m[j]) / double(n - 1);
  for (int i = 0; i < 2; ++i) {
    CHECK(std::abs(m[i] - mean[i]) < 5 * std::sqrt(cov.at(i, i) / double(n)));
    for (int j = 0; j < 2; ++j)  // Var of a sample covariance: (Σ_ii Σ_jj + Σ_ij²) / n
      CHECK(std::abs(c[i][j] - cov.at(i, j)) < 5 * std::sqrt((cov.at(i, i) * cov.at(j, j) + cov.at(i, j) * cov.at(i, j)) / double(n)));
  }
  ad::Rng rng(1);
  CHECK_THROWS_AS(ebm::exact_samples(ebm::BernoulliRbm<double>(30, 30, rng), 1, 0), std::invalid_argument);
}

TEST_CASE("reverse AIS with one step is log f_0 − log f_1 at the target samples (sign and base)") {
  // K = 1 runs no kernel: log w_r = log f_0(x) − log f_1(x) = E(x) − E_0(x) exactly, per chain.
  const Mixture mix;
  ebm::ContinuousAisOptions o = mixture_options();
  o.steps = 1;
  const Tensor<double> x = mixture_samples(mix, 50, 1);
  const ebm::AisResult r = ebm::ais_reverse_log_partition(mix.energy(), x, o);
  REQUIRE(r.direction == ebm::AisDirection::reverse);
  REQUIRE(r.log_weights.size() == 50);
  ad::Tape<double> tape;
  const ad::Var<double> e = mix.energy()(tape, tape.constant(x));
  double mean = 0;
  for (int64_t c = 0; c < 50; ++c) {
    double e0 = 0;
    for (int k = 0; k < 2; ++k) e0 += 0.5 * std::pow((x.at(c, k) - o.base_mean[size_t(k)]) / o.base_std[size_t(k)], 2);
    CHECK(r.log_weights[size_t(c)] == doctest::Approx(e.value()[c] - e0).epsilon(1e-12));
    mean += r.log_weights[size_t(c)] / 50;
  }
  const double log_z0 = std::log(2 * std::numbers::pi * 2.5 * 2.5);
  CHECK(r.log_z_base == doctest::Approx(log_z0).epsilon(1e-14));
  CHECK(r.upper_bound == doctest::Approx(log_z0 - mean).epsilon(1e-12));
  CHECK(std::isnan(r.lower_bound));

  // RBM, 2000 exact samples: E[upper] = log Z_0 − E_p[log f_0 − log f_1] = log Z + KL(p ‖ p_0), from enumeration.
  // One step is a poor path, so the bound is far above log Z; the wrong sign would put it far below.
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  const Enumerated en = enumerate(rbm);
  const double exact = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  const ebm::BernoulliRbm<double> base = intermediate(rbm, std::vector<double>(12, 0.0), 0.0);
  const Tensor<double> f1 = rbm.evaluate(en.states), f0 = base.evaluate(en.states);
  const double log_z0_rbm = 6 * std::numbers::ln2 + 12 * std::numbers::ln2;  // H log 2 + Σ softplus(0)
  double expected_upper = log_z0_rbm;
  for (int64_t s = 0; s < en.states.rows(); ++s) expected_upper -= en.p[size_t(s)] * (-f0[s] + f1[s]);
  ebm::RbmAisOptions ro;
  ro.steps = 1, ro.seed = 2;
  const ebm::AisResult rr = ebm::ais_reverse_log_partition_rbm(rbm, ebm::rbm_exact_samples(rbm, 2000, 4), ro);
  std::printf("[ais-rev] rbm K=1: upper %.4f (se %.4f), expected %.4f, log Z %.4f\n", rr.upper_bound, rr.stderr_bound,
              expected_upper, exact);
  CHECK(rr.log_z_base == doctest::Approx(log_z0_rbm).epsilon(1e-14));
  CHECK(std::abs(rr.upper_bound - expected_upper) < 4 * rr.stderr_bound);
  CHECK(rr.upper_bound - exact > 10 * rr.stderr_bound);
}

TEST_CASE("reverse AIS with two steps follows the documented recursion (states, temperatures, streams)") {
  // K = 2, linear: β = (0, ½, 1). Reverse chain c (stream 2^61 + c): x = its sample; log w_r = log f_½(x) − log f_1(x);
  // x' = one block Gibbs sweep at β = ½; log w_r += log f_0(x') − log f_½(x'). Replayed here with the
  // intermediates' free energies (−log f_β = F of the β-RBM) and the sampler's own Gibbs sweep.
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  ebm::RbmAisOptions o;
  o.steps = 2, o.schedule = ebm::BetaSchedule::linear, o.seed = 77;
  o.base_visible_bias.resize(12);
  for (int i = 0; i < 12; ++i) o.base_visible_bias[size_t(i)] = 0.1 * i - 0.5;
  const Tensor<double> x = ebm::rbm_exact_samples(rbm, 40, 9);
  const ebm::AisResult r = ebm::ais_reverse_log_partition_rbm(rbm, x, o);
  const auto half = intermediate(rbm, o.base_visible_bias, 0.5), zero = intermediate(rbm, o.base_visible_bias, 0.0);
  samplers::ChainState<double> st(x, o.seed);
  for (size_t c = 0; c < st.rngs.size(); ++c) st.rngs[c] = ad::Rng(o.seed, (uint64_t{1} << 61) + c);
  const Tensor<double> f1 = rbm.evaluate(x), fh = half.evaluate(x);
  samplers::BlockGibbs<double>(half).run(st, 1);
  const Tensor<double> fh2 = half.evaluate(st.x), f02 = zero.evaluate(st.x);
  for (int64_t c = 0; c < 40; ++c)
    CHECK(r.log_weights[size_t(c)] == doctest::Approx((-fh[c] + f1[c]) + (-f02[c] + fh2[c])).epsilon(1e-10));
}

TEST_CASE("reverse AIS with two steps, MALA: the same recursion for a continuous energy") {
  // As above with E_½ = ½ E_0 + ½ E (the geometric path) and one MALA step at a fixed ε (no pilot).
  const Mixture mix;
  ebm::ContinuousAisOptions o = mixture_options();
  o.steps = 2, o.schedule = ebm::BetaSchedule::linear, o.adapt_step = false, o.step_size = 0.7, o.seed = 12;
  const Tensor<double> x = mixture_samples(mix, 40, 3);
  const ebm::AisResult r = ebm::ais_reverse_log_partition(mix.energy(), x, o);
  const samplers::BatchEnergy<double> e = mix.energy();
  const Tensor<double> mu(Shape{2}, {0.0, 0.0}), inv_s(Shape{2}, {1 / 2.5, 1 / 2.5});
  auto e0 = [&](ad::Tape<double>& tape, const ad::Var<double>& v) {
    return 0.5 * ad::sum(ad::square((v - tape.constant(mu)) * tape.constant(inv_s)), 1);
  };
  const samplers::BatchEnergy<double> e_half = [&](ad::Tape<double>& tape, const ad::Var<double>& v) {
    return 0.5 * e0(tape, v) + 0.5 * e(tape, v);
  };
  auto values = [](const samplers::BatchEnergy<double>& f, const Tensor<double>& v) {
    ad::Tape<double> tape;
    return f(tape, tape.constant(v)).value();
  };
  const samplers::BatchEnergy<double> base = [&](ad::Tape<double>& tape, const ad::Var<double>& v) { return e0(tape, v); };
  samplers::ChainState<double> st(x, o.seed);
  for (size_t c = 0; c < st.rngs.size(); ++c) st.rngs[c] = ad::Rng(o.seed, (uint64_t{1} << 61) + c);
  const Tensor<double> f1 = values(e, x), fh = values(e_half, x);
  samplers::Mala<double>(e_half, {o.step_size, 0.574}).run(st, 1);
  const Tensor<double> fh2 = values(e_half, st.x), f02 = values(base, st.x);
  int moved = 0;
  for (int64_t c = 0; c < 40; ++c) {
    CHECK(r.log_weights[size_t(c)] == doctest::Approx((-fh[c] + f1[c]) + (-f02[c] + fh2[c])).epsilon(1e-10));
    moved += st.x.at(c, 0) != x.at(c, 0);
  }
  CHECK(moved > 10);  // the kernel did act, so its temperature matters
}

TEST_CASE("AIS sandwich on the 12 x 6 RBM (exact samples by enumeration): lower <= log Z <= upper, tighter with K" *
          doctest::test_suite("long")) {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  const double exact = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  const Tensor<double> x = ebm::rbm_exact_samples(rbm, 1000, 21);
  std::vector<ebm::AisSandwich> s;
  for (int k : {10, 100, 1000}) {
    ebm::RbmAisOptions o;
    o.chains = 1000, o.steps = k, o.seed = 5;
    const auto t0 = std::chrono::steady_clock::now();
    s.push_back(ebm::ais_sandwich(ebm::ais_log_partition_rbm(rbm, o), ebm::ais_reverse_log_partition_rbm(rbm, x, o)));
    print("rbm 12x6", k, s.back(), exact);
    std::printf("          (%.2f s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  check_sandwiches(s, exact);
  // Few intermediates: the upper bound is clearly above log Z (a sign or index error in the reverse weights that
  // made them estimate the forward quantity would put it at or below).
  CHECK(s.front().upper - exact > 5 * s.front().upper_stderr);
}

TEST_CASE("AIS sandwich on the 2-D Gaussian mixture (exact samples from its components), MALA and HMC" *
          doctest::test_suite("long")) {
  const Mixture mix;
  const Tensor<double> x = mixture_samples(mix, 512, 8);
  for (auto tr : {ebm::AisTransition::mala, ebm::AisTransition::hmc}) {
    std::vector<ebm::AisSandwich> s;
    for (int k : {10, 100, 1000}) {
      ebm::ContinuousAisOptions o = mixture_options();
      o.chains = 512, o.steps = k, o.transition = tr;
      if (tr == ebm::AisTransition::hmc) o.step_size = 0.2;
      const auto t0 = std::chrono::steady_clock::now();
      const ebm::AisResult rev = ebm::ais_reverse_log_partition(mix.energy(), x, o);
      s.push_back(ebm::ais_sandwich(ebm::ais_log_partition(mix.energy(), 2, o), rev));
      print(tr == ebm::AisTransition::mala ? "mixture mala" : "mixture hmc", k, s.back(), mix.log_c);
      std::printf("          reverse accept %.2f ess %.1f (%.2f s)\n", rev.acceptance_rate, rev.ess,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      CHECK(rev.acceptance_rate > 0.3);
    }
    check_sandwiches(s, mix.log_c);
    CHECK(s.front().upper - mix.log_c > 5 * s.front().upper_stderr);
  }
}

TEST_CASE("reverse AIS is identical for 1 and 2 threads; forward and reverse runs use their own streams") {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  ebm::RbmAisOptions ro;
  ro.chains = 64, ro.steps = 50, ro.seed = 9;
  const Tensor<double> xr = ebm::rbm_exact_samples(rbm, 64, 1);
  const Mixture mix;
  ebm::ContinuousAisOptions co = mixture_options();
  co.chains = 64, co.steps = 50;
  const Tensor<double> xc = mixture_samples(mix, 64, 2);
  ebm::AisResult r1, c1, r2, c2;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    r1 = ebm::ais_reverse_log_partition_rbm(rbm, xr, ro);
    c1 = ebm::ais_reverse_log_partition(mix.energy(), xc, co);
  }
  {
    ad::ThreadLimit limit(2);
    REQUIRE_THREADS(2);
    r2 = ebm::ais_reverse_log_partition_rbm(rbm, xr, ro);
    c2 = ebm::ais_reverse_log_partition(mix.energy(), xc, co);
  }
  CHECK(r1.log_weights == r2.log_weights);  // bitwise
  CHECK(c1.log_weights == c2.log_weights);
  // The reverse run's kernels are the forward run's: the same adapted steps.
  CHECK(c1.step_sizes == ebm::ais_log_partition(mix.energy(), 2, co).step_sizes);
  ro.seed = 10;
  CHECK(ebm::ais_reverse_log_partition_rbm(rbm, xr, ro).log_weights != r1.log_weights);
}

TEST_CASE("reverse AIS and the sandwich reject bad input") {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  ebm::RbmAisOptions ro;
  CHECK_THROWS_AS(ebm::ais_reverse_log_partition_rbm(rbm, Tensor<double>(Shape{4, 11}), ro), std::invalid_argument);
  CHECK_THROWS_AS(ebm::ais_reverse_log_partition_rbm(rbm, Tensor<double>(Shape{0, 12}), ro), std::invalid_argument);
  const Tensor<double> half(Shape{2, 12}, 0.5);
  CHECK_THROWS_AS(ebm::ais_reverse_log_partition_rbm(rbm, half, ro), std::invalid_argument);
  ebm::ContinuousAisOptions co = mixture_options();
  Tensor<double> bad(Shape{2, 2}, {0.0, 1.0, NAN, 0.0});
  CHECK_THROWS_AS(ebm::ais_reverse_log_partition(Mixture{}.energy(), bad, co), std::invalid_argument);
  ro.steps = 5;
  const ebm::AisResult fwd = ebm::ais_log_partition_rbm(rbm, ro);
  const ebm::AisResult rev = ebm::ais_reverse_log_partition_rbm(rbm, ebm::rbm_exact_samples(rbm, 8, 0), ro);
  CHECK_THROWS_AS(ebm::ais_sandwich(rev, fwd), std::invalid_argument);
  CHECK(std::isnan(fwd.upper_bound));
}
