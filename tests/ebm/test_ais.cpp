// Annealed importance sampling: log Ẑ against exact log Z (enumeration for an RBM, a normalised mixture density
// with a known constant for a continuous energy, itself checked by quadrature), the calibration of the
// reported standard error, and determinism across thread counts.
//
// Tolerances: AIS must give |log Ẑ − log Z| < 0.1 nats. We also require the run to be precise enough for that
// test to mean something (reported SE < 0.1 / 4) and the error to be within 4 reported SEs (about the 1e-4
// two-sided normal tail; the AIS estimate of log Z is biased low by about SE²/2, negligible at these SEs).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>

#include <ebm/data/toy.hpp>
#include <samplers/gibbs.hpp>
#include <ebm/eval/ais.hpp>
#include <ebm/eval/partition.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>
#include <ebm/experiment/eval_checks.hpp>
#include <ebm/experiment/evaluate.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/rbm.hpp>

#include "ais_test_models.hpp"
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

using namespace ais_test;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("AIS: beta schedules run from 0 to 1, increasing") {
  for (auto kind : {ebm::BetaSchedule::linear, ebm::BetaSchedule::sigmoid, ebm::BetaSchedule::geometric}) {
    const std::vector<double> b = ebm::beta_schedule(kind, 50);
    REQUIRE(b.size() == 51);
    CHECK(b.front() == 0.0);
    CHECK(b.back() == 1.0);
    for (size_t k = 1; k < b.size(); ++k) CHECK(b[k] > b[k - 1]);
  }
  CHECK_THROWS_AS(ebm::beta_schedule(ebm::BetaSchedule::linear, 0), std::invalid_argument);
  CHECK_THROWS_AS(ebm::parse_beta_schedule("cosine"), std::invalid_argument);
}

TEST_CASE("AIS: weight summary (log-mean-exp, delta-method SE, ESS) on hand-made weights") {
  // w = (1, 2, 3, 6): mean 3, sample sd √(14/3), SE(log mean) = sd / (mean √4), ESS = 12² / 50.
  const double lz0 = 0.25;
  const ebm::AisResult r = ebm::summarize_log_weights({0.0, std::log(2.0), std::log(3.0), std::log(6.0)}, lz0);
  CHECK(r.log_z == doctest::Approx(lz0 + std::log(3.0)).epsilon(1e-14));
  CHECK(r.stderr_log_z == doctest::Approx(std::sqrt(14.0 / 3.0) / (3.0 * 2.0)).epsilon(1e-13));
  CHECK(r.ess == doctest::Approx(144.0 / 50.0).epsilon(1e-14));
  CHECK(r.lower_bound == doctest::Approx(lz0 + std::log(36.0) / 4).epsilon(1e-14));
  // Shifting every log weight by a large constant changes nothing but log Z (no overflow).
  const ebm::AisResult s = ebm::summarize_log_weights({1000.0, 1000 + std::log(2.0), 1000 + std::log(3.0), 1000 + std::log(6.0)}, lz0);
  CHECK(s.log_z == doctest::Approx(r.log_z + 1000).epsilon(1e-14));
  CHECK(s.ess == doctest::Approx(r.ess).epsilon(1e-12));
}

TEST_CASE("AIS with block Gibbs matches the exact log Z of a 12 x 6 RBM (enumeration over 2^12 states)") {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  const double exact = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  ebm::RbmAisOptions o;
  o.chains = 200;
  o.steps = 1000;
  o.seed = 5;
  const auto t0 = std::chrono::steady_clock::now();
  const ebm::AisResult r = ebm::ais_log_partition_rbm(rbm, o);
  const double secs = seconds_since(t0);
  std::printf("[ais] rbm 12x6: exact %.5f  ais %.5f  err %+.5f  se %.5f  ess %.1f/%lld  lower %.5f  (%.2f s)\n", exact,
              r.log_z, r.log_z - exact, r.stderr_log_z, r.ess, static_cast<long long>(o.chains), r.lower_bound, secs);
  CHECK(std::abs(r.log_z - exact) < 0.1);
  CHECK(r.stderr_log_z < 0.025);
  CHECK(std::abs(r.log_z - exact) < 4 * r.stderr_log_z);
  CHECK(r.lower_bound <= r.log_z);  // Jensen on the sample: mean log w ≤ log mean w
  // Salakhutdinov & Murray's base: visible biases from base rates (here of Gibbs samples of the model, as the
  // runner uses data). Closer to the target, so the weights vary less.
  ad::Rng rng(8);
  Tensor<double> v(Shape{500, 12});
  ad::fill_uniform(v, rng);
  for (double& x : v) x = x < 0.5 ? 0.0 : 1.0;
  for (int t = 0; t < 200; ++t) v = rbm.gibbs_step(v, rng);
  o.base_visible_bias = ebm::rbm_base_bias(v);
  const ebm::AisResult rb = ebm::ais_log_partition_rbm(rbm, o);
  std::printf("[ais] rbm 12x6, data base: ais %.5f  err %+.5f  se %.5f  ess %.1f\n", rb.log_z, rb.log_z - exact,
              rb.stderr_log_z, rb.ess);
  CHECK(std::abs(rb.log_z - exact) < 0.1);
  CHECK(std::abs(rb.log_z - exact) < 4 * rb.stderr_log_z);
}

TEST_CASE("AIS: the reported SE matches the spread of independent runs (RBM)") {
  // 30 independent short runs (K = 100, 50 chains: ESS ≈ 40, SE ≈ 0.06). If the SE is right, (sample sd of log Ẑ) /
  // (mean reported SE) estimates 1 with 29 degrees of freedom: s²/σ² ~ χ²₂₉/29, whose 0.1% and 99.9% quantiles
  // are 0.376 and 2.014 (Wilson–Hilferty) → ratio in [0.61, 1.42]. (60 runs of each of six settings, K from 30 to
  // 300 and 50 or 200 chains, gave ratios 0.98 to 1.13 while developing this.)
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  const double exact = ebm::log_partition_enumerate(rbm, ebm::Units::binary);
  ebm::RbmAisOptions o;
  o.chains = 50;
  o.steps = 100;
  const int runs = 30;
  std::vector<double> est;
  double mean_se = 0;
  for (int i = 0; i < runs; ++i) {
    o.seed = 100 + uint64_t(i);
    const ebm::AisResult r = ebm::ais_log_partition_rbm(rbm, o);
    est.push_back(r.log_z);
    mean_se += r.stderr_log_z / runs;
  }
  double m = 0, v = 0;
  for (double e : est) m += e / runs;
  for (double e : est) v += (e - m) * (e - m) / (runs - 1);
  const double ratio = std::sqrt(v) / mean_se;
  std::printf("[ais] rbm SE calibration: %d runs, mean %.4f (exact %.4f), sd %.4f, mean SE %.4f, ratio %.2f\n", runs, m,
              exact, std::sqrt(v), mean_se, ratio);
  CHECK(ratio > 0.61);
  CHECK(ratio < 1.42);
  // The mean of the runs is within 4 standard errors of the mean (plus the Jensen bias ≈ SE²/2 ≥ 0 below log Z).
  CHECK(std::abs(m + mean_se * mean_se / 2 - exact) < 4 * std::sqrt(v / runs));
}

TEST_CASE("AIS with MALA and HMC matches the log Z of a 2-D Gaussian mixture energy") {
  const Mixture mix;
  const samplers::BatchEnergy<double> energy = mix.energy();
  // The test energy itself: equal to −log p − log_c with toy.hpp's mixture density, and log Z = log_c by quadrature.
  {
    ad::Rng rng(1);
    Tensor<double> x(Shape{20, 2});
    ad::fill_normal(x, rng, 0.0, 2.0);
    const Tensor<double> lp = ebm::data::gaussian_mixture_log_density(x, mix.means, mix.stds, mix.weights);
    ad::Tape<double> tape;
    const ad::Var<double> e = energy(tape, tape.constant(x));
    for (int64_t i = 0; i < 20; ++i) CHECK(e.value()[i] == doctest::Approx(-lp[i] - mix.log_c).epsilon(1e-12));
    const ebm::BatchEnergy batch = [&](const Tensor<double>& s) {
      ad::Tape<double> t;
      const ad::Var<double> ev = energy(t, t.constant(s));
      return std::vector<double>(ev.data(), ev.data() + s.rows());
    };
    CHECK(ebm::log_partition_quadrature(2, batch, {-9.0, -9.0}, {9.0, 9.0}) == doctest::Approx(mix.log_c).epsilon(1e-10));
  }
  for (auto tr : {ebm::AisTransition::mala, ebm::AisTransition::hmc}) {
    ebm::ContinuousAisOptions o = mixture_options();
    o.transition = tr;
    if (tr == ebm::AisTransition::hmc) o.step_size = 0.2;
    const auto t0 = std::chrono::steady_clock::now();
    const ebm::AisResult r = ebm::ais_log_partition(energy, 2, o);
    const double secs = seconds_since(t0);
    std::printf("[ais] mixture 2-D %s: exact %.5f  ais %.5f  err %+.5f  se %.5f  ess %.1f/%lld  accept %.2f  (%.2f s)\n",
                tr == ebm::AisTransition::mala ? "mala" : "hmc", mix.log_c, r.log_z, r.log_z - mix.log_c, r.stderr_log_z,
                r.ess, static_cast<long long>(o.chains), r.acceptance_rate, secs);
    CHECK(std::abs(r.log_z - mix.log_c) < 0.1);
    CHECK(r.stderr_log_z < 0.025);
    CHECK(std::abs(r.log_z - mix.log_c) < 4 * r.stderr_log_z);
    CHECK(r.acceptance_rate > 0.3);
  }
}

TEST_CASE("AIS on a model: a correlated 5-D Gaussian energy, whose log Z is analytic") {
  // Σ = A Aᵀ + 0.3 I with A uniform in [−0.7, 0.7]: correlations, eigenvalues spread over about a decade.
  Tensor<double> a(Shape{5, 5}), cov(Shape{5, 5}), mean(Shape{5});
  ad::Rng rng(21);
  ad::fill_uniform(a, rng, -0.7, 0.7);
  ad::fill_uniform(mean, rng, -1.0, 1.0);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = i == j ? 0.3 : 0.0;
      for (int k = 0; k < 5; ++k) s += a.at(i, k) * a.at(j, k);
      cov.at(i, j) = s;
    }
  const auto g = ebm::GaussianEnergy<double>::full(mean, cov);
  // log Z = ½ log det(2π Σ), written out from the Cholesky factor of Σ (independent of the model's L).
  const Tensor<double> l = ebm::cholesky(cov);
  double exact = 2.5 * std::log(2 * std::numbers::pi);
  for (int i = 0; i < 5; ++i) exact += std::log(l.at(i, i));
  REQUIRE(g.log_partition() == doctest::Approx(exact).epsilon(1e-12));
  for (auto tr : {ebm::AisTransition::mala, ebm::AisTransition::hmc}) {
    ebm::ContinuousAisOptions o;
    o.chains = 256, o.steps = 1000, o.seed = 4, o.transition = tr;
    o.base_mean.assign(5, 0.0), o.base_std.assign(5, 2.0);
    if (tr == ebm::AisTransition::hmc) o.step_size = 0.2;
    const auto t0 = std::chrono::steady_clock::now();
    const ebm::AisResult r = ebm::ais_log_partition(g, o);
    const double secs = seconds_since(t0);
    std::printf("[ais] gaussian 5-D %s: exact %.5f  ais %.5f  err %+.5f  se %.5f  ess %.1f/%lld  accept %.2f  (%.2f s)\n",
                tr == ebm::AisTransition::mala ? "mala" : "hmc", exact, r.log_z, r.log_z - exact, r.stderr_log_z, r.ess,
                static_cast<long long>(o.chains), r.acceptance_rate, secs);
    CHECK(std::abs(r.log_z - exact) < 0.1);
    CHECK(r.stderr_log_z < 0.025);
    CHECK(std::abs(r.log_z - exact) < 4 * r.stderr_log_z);
  }
}

TEST_CASE("AIS is identical for 1 and 2 threads and repeatable for a seed") {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  ebm::RbmAisOptions ro;
  ro.chains = 64, ro.steps = 50, ro.seed = 9;
  const Mixture mix;
  ebm::ContinuousAisOptions co = mixture_options();
  co.chains = 64, co.steps = 50;
  ebm::AisResult r1, c1;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    r1 = ebm::ais_log_partition_rbm(rbm, ro);
    c1 = ebm::ais_log_partition(mix.energy(), 2, co);
  }
  ebm::AisResult r2, c2;
  {
    ad::ThreadLimit limit(2);
    REQUIRE_THREADS(2);
    r2 = ebm::ais_log_partition_rbm(rbm, ro);
    c2 = ebm::ais_log_partition(mix.energy(), 2, co);
  }
  CHECK(r1.log_weights == r2.log_weights);  // bitwise
  CHECK(c1.log_weights == c2.log_weights);
  CHECK(c1.step_sizes == c2.step_sizes);
  ro.seed = 10;
  CHECK(ebm::ais_log_partition_rbm(rbm, ro).log_weights != r1.log_weights);  // the seed matters
}

TEST_CASE("AIS rejects bad options") {
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  ebm::RbmAisOptions ro;
  ro.base_visible_bias = {0.0, 1.0};
  CHECK_THROWS_AS(ebm::ais_log_partition_rbm(rbm, ro), std::invalid_argument);
  ebm::ContinuousAisOptions co;
  co.base_std = {1.0, -1.0};
  CHECK_THROWS_AS(ebm::ais_log_partition(Mixture{}.energy(), 2, co), std::invalid_argument);
  co.base_std = {};
  co.chains = 0;
  CHECK_THROWS_AS(ebm::ais_log_partition(Mixture{}.energy(), 2, co), std::invalid_argument);
}

TEST_CASE("runner: evaluation.ais and evaluation.mmd in evaluate_model (continuous model and Bernoulli RBM)") {
  using namespace ebm::experiment;
  const json cfg = resolve_config(
      R"({"data": {"type": "mixture_1d", "n": 500, "means": [-1.0, 1.5], "stds": [0.5, 0.7]}, "model": {"type": "gaussian"},
          "evaluation": {"ais": {"enabled": true, "chains": 128, "steps": 500}, "mmd": true, "mmd_points": 300},
          "dtype": "float64"})",
      "x.json", {}, ".");
  // float64: the test swaps a float64 RBM (test_rbm()) into the session below.
  Session<double> s = build_session<double>(cfg);
  // The untrained Gaussian energy is N(0, 1): log Z = ½ log 2π. Its samples against the mixture data: MMD² > 0.
  ad::Rng rng(2);
  Tensor<double> samples(Shape{300, 1});
  ad::fill_normal(samples, rng);
  json e = evaluate_model(s, samples).report;
  const double exact = 0.5 * std::log(2 * std::numbers::pi);
  REQUIRE(e["log_z"]["ais"]["estimate"].is_number());
  const double est = e["log_z"]["ais"]["estimate"], se = e["log_z"]["ais"]["stderr"];
  std::printf("[ais] runner gaussian: exact %.5f  ais %.5f  se %.5f  quadrature %.5f\n", exact, est, se,
              e["log_z"]["quadrature"].get<double>());
  CHECK(std::abs(est - exact) < 4 * se);
  CHECK(se < 0.025);
  // Both reported; quadrature covers only the box (data range + 25%, about [−4, 5]): P(|z| > 4) ≈ 6e-5 is missing.
  CHECK(e["log_z"]["quadrature"].get<double>() < exact);
  CHECK(e["log_z"]["quadrature"].get<double>() > exact - 1e-3);
  CHECK(e["log_z"]["ais"]["transition"] == "mala");
  CHECK(e["nll_data_ais"].is_number());
  CHECK(e["mmd"]["reference"] == "held_out");
  CHECK(e["mmd"]["mmd2"].get<double>() > 0.05);
  // "gibbs" needs a binary model: refused before training (check_evaluation), and evaluate_model never reports a
  // number for it; its failure names the stage.
  s.cfg["evaluation"]["ais"]["transition"] = "gibbs";
  CHECK_THROWS_AS(check_evaluation(s.cfg, *s.model, s.data), InputError);
  CHECK_THROWS_WITH_AS(evaluate_model(s, samples), doctest::Contains("evaluation.ais"), StageError);
  s.cfg["evaluation"]["ais"]["transition"] = "auto";

  // A Bernoulli RBM (whatever the config's model type) goes to block Gibbs, its base from the data's base rates.
  s.model = std::make_unique<ebm::BernoulliRbm<double>>(test_rbm());
  s.cfg["model"] = json{{"type", "rbm"}};  // what the model's summary (describe) is looked up by
  // The config's data source is still the 1-D mixture, whose fresh draws the RBM cannot score: no held-out data.
  s.cfg["evaluation"]["held_out"] = "none";
  Tensor<double> v(Shape{200, 12});
  ad::fill_uniform(v, rng);
  for (double& x : v) x = x < 0.3 ? 1.0 : 0.0;
  s.data.x = v;
  s.data.true_log_density = {};
  s.cfg["evaluation"]["mmd"] = false;
  e = evaluate_model(s, Tensor<double>(Shape{0, 12})).report;
  const double exact_rbm = ebm::log_partition_enumerate(*s.model, ebm::Units::binary);
  REQUIRE(e["log_z"]["ais"]["estimate"].is_number());
  const double est_rbm = e["log_z"]["ais"]["estimate"], se_rbm = e["log_z"]["ais"]["stderr"];
  std::printf("[ais] runner rbm: exact %.5f  ais %.5f  se %.5f\n", exact_rbm, est_rbm, se_rbm);
  CHECK(e["log_z"]["ais"]["transition"] == "gibbs");
  CHECK(std::abs(est_rbm - exact_rbm) < 0.1);
  // evaluation.log_z enumerates the smaller layer (here 12 visible units or fewer hidden ones) exactly.
  REQUIRE(e["log_z"]["enumeration"].is_number());
  CHECK(e["log_z"]["enumeration"].get<double>() == doctest::Approx(exact_rbm).epsilon(1e-12));
  CHECK(std::abs(est_rbm - exact_rbm) < 4 * se_rbm);
  CHECK(!e["log_z"].contains("quadrature"));  // 12 dimensions

  // evaluation.ais.reverse "exact": reverse AIS from exact samples (enumeration), the sandwich holds log Z.
  s.cfg["evaluation"]["ais"]["reverse"] = "exact";
  e = evaluate_model(s, Tensor<double>(Shape{0, 12})).report;
  CHECK(e["held_out"]["source"] == "training_data");
  CHECK(!e["likelihood"].contains("held_out"));
  const json& w = e["log_z"]["ais"]["sandwich"];
  const json& rev = e["log_z"]["ais"]["reverse"];
  std::printf("[ais] runner rbm sandwich: lower %.5f  upper %.5f  exact %.5f\n", w["lower"].get<double>(), w["upper"].get<double>(), exact_rbm);
  CHECK(rev["samples"] == "exact");
  CHECK(rev["guaranteed"] == true);
  CHECK(w["lower"].get<double>() - 4 * e["log_z"]["ais"]["lower_bound_stderr"].get<double>() <= exact_rbm);
  CHECK(w["upper"].get<double>() + 4 * rev["upper_bound_stderr"].get<double>() >= exact_rbm);
  CHECK(std::abs(rev["estimate"].get<double>() - exact_rbm) < 0.1);
  // The log-likelihood bounds follow: log p = −E − log Z, so [−Ē − upper, −Ē − lower].
  const json& lt = e["likelihood"]["train"];
  CHECK(lt["log_likelihood_ais_bounds"]["lower"].get<double>() == doctest::Approx(-lt["energy_mean"].get<double>() - w["upper"].get<double>()));
  CHECK(lt["log_likelihood_ais_bounds"]["upper"].get<double>() == doctest::Approx(-lt["energy_mean"].get<double>() - w["lower"].get<double>()));
}

namespace {
// A 10-unit Boltzmann machine with couplings strong enough that its distribution is far from the base: W_ij and b_i
// uniform in [−1.5, 1.5] (symmetrised by the model).
ebm::BoltzmannMachine<double> test_machine(ebm::Units units, uint64_t seed) {
  ad::Rng rng(seed);
  Tensor<double> w(Shape{10, 10}), b(Shape{10});
  ad::fill_uniform(w, rng, -1.5, 1.5);
  ad::fill_uniform(b, rng, -1.5, 1.5);
  return ebm::BoltzmannMachine<double>(w, b, units);
}
}  // namespace

TEST_CASE("AIS on fully visible Boltzmann machines (single-site Gibbs) matches enumeration, forward and reverse") {
  for (const ebm::Units units : {ebm::Units::binary, ebm::Units::spin}) {
    const bool spin = units == ebm::Units::spin;
    CAPTURE(spin);
    const ebm::BoltzmannMachine<double> bm = test_machine(units, spin ? 12 : 11);
    const double exact = ebm::log_partition_enumerate(bm, units);
    ebm::BoltzmannAisOptions o;
    o.chains = 200;
    o.steps = 1000;
    o.seed = 3;
    const ebm::AisResult r = ebm::ais_log_partition_boltzmann(bm, o);
    std::printf("[ais] boltzmann %s: exact %.5f  ais %.5f  se %.5f  ess %.1f\n", spin ? "spin" : "binary", exact, r.log_z,
                r.stderr_log_z, r.ess);
    CHECK(std::abs(r.log_z - exact) < 0.1);
    CHECK(std::abs(r.log_z - exact) < 4 * r.stderr_log_z);
    CHECK(r.lower_bound - 4 * r.stderr_bound <= exact);
    // The base from the base rates of the model's own Gibbs samples, and reverse AIS from those samples (close to
    // exact after 300 sweeps of a 10-unit machine): an upper bound within its SE, a sandwich around log Z.
    samplers::ChainState<double> chains(400, 10, 9);
    samplers::fill_binary(chains, bm.units());
    samplers::SingleSiteGibbs<double>(bm).run(chains, 300);
    o.base_bias = ebm::boltzmann_base_bias(chains.x, units);
    const ebm::AisResult rb = ebm::ais_log_partition_boltzmann(bm, o);
    CHECK(std::abs(rb.log_z - exact) < 4 * rb.stderr_log_z);
    const ebm::AisResult rev = ebm::ais_reverse_log_partition_boltzmann(bm, chains.x, o);
    std::printf("[ais] boltzmann %s reverse: %.5f  upper %.5f  se %.5f\n", spin ? "spin" : "binary", rev.log_z, rev.upper_bound,
                rev.stderr_bound);
    CHECK(std::abs(rev.log_z - exact) < 0.1);
    CHECK(rev.upper_bound + 4 * rev.stderr_bound >= exact);
    // The wrong unit values are refused.
    Tensor<double> wrong(Shape{2, 10}, 0.5);
    CHECK_THROWS_AS(ebm::ais_reverse_log_partition_boltzmann(bm, wrong, o), std::invalid_argument);
  }
}

TEST_CASE("AIS on a Boltzmann machine with W = 0 and the data's base is exact: log Z = n log 2 for any K") {
  // The base is the model itself (b_0 = b = 0): every weight is 1.
  const ebm::BoltzmannMachine<double> bm(3, ebm::Units::spin);
  ebm::BoltzmannAisOptions o;
  o.chains = 10;
  o.steps = 3;
  const ebm::AisResult r = ebm::ais_log_partition_boltzmann(bm, o);
  CHECK(r.log_z == doctest::Approx(3 * std::log(2.0)).epsilon(1e-14));
  CHECK(r.stderr_log_z == 0);
}

TEST_CASE("log_partition_rbm_enumerate sums the smaller layer exactly, on either side") {
  // Against brute force over visible states (log_partition_enumerate of the free energy), for hidden < visible
  // (12 x 6, sums 2^6 hidden states) and the transposed machine (6 x 12, sums 2^6 visible states).
  const ebm::BernoulliRbm<double> rbm = test_rbm();
  CHECK(ebm::log_partition_rbm_enumerate(rbm) ==
        doctest::Approx(ebm::log_partition_enumerate(rbm, ebm::Units::binary)).epsilon(1e-12));
  ad::Rng rng(4);
  ebm::BernoulliRbm<double> wide(6, 14, rng, 1.0);  // 14 hidden units: chunks of 2^12 and 4 chunks of the high bits
  ad::fill_uniform(wide.param("b"), rng, -1.0, 1.0);
  ad::fill_uniform(wide.param("c"), rng, -1.0, 1.0);
  CHECK(ebm::log_partition_rbm_enumerate(wide) ==
        doctest::Approx(ebm::log_partition_enumerate(wide, ebm::Units::binary)).epsilon(1e-12));
  ebm::BernoulliRbm<double> big(30, 26, rng);
  CHECK_THROWS_AS(ebm::log_partition_rbm_enumerate(big), std::invalid_argument);
}
