// Parallel tempering against plain MALA and HMC on a well-separated 1-D mixture of two Gaussians:
//   p(x) = 0.3 N(x; −3, 0.5²) + 0.7 N(x; 3, 0.5²).
// The barrier at x = 0 is E(0) − E(3) ≈ 18.4 nats: a local sampler crosses it with probability ~e^-18 per
// attempt, so plain MALA/HMC keep each chain in the mode it starts in, while tempering (β down to 0.03, where
// the barrier is ~0.6 nats) moves chains between modes through swaps.
// Tolerances: the mode weight is the mean of the indicator 1{x > 0}; the check |ŵ − w| ≤ 4.5 MCSE
// follows Note [MC tolerance] in test_gaussian.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <vector>

#include "autodiff/ops.hpp"
#include "samplers/diagnostics.hpp"
#include "samplers/hmc.hpp"
#include "samplers/mala.hpp"
#include "samplers/tempering.hpp"

using Tape = ad::Tape<double>;
using Var = ad::Var<double>;
using State = samplers::ChainState<double>;

namespace {

bool verbose() { return std::getenv("EBM_VERBOSE") != nullptr; }

constexpr double kW[2] = {0.3, 0.7}, kM[2] = {-3.0, 3.0}, kS = 0.5;

// E(x) = −log Σ_k w_k N(x; m_k, s²), stably: the two log-terms become rows of a [2, B] tensor and
// logsumexp runs down the columns.
Var mixture_energy(Tape& t, const Var& x) {
  const int64_t b = x.shape()[0];
  const double log_norm = -std::log(kS * std::sqrt(2 * std::numbers::pi));
  std::vector<Var> terms;
  for (int k = 0; k < 2; ++k) {
    const Var z = (x - kM[k]) / kS;
    terms.push_back(ad::reshape(std::log(kW[k]) + log_norm - 0.5 * ad::square(z), ad::Shape{1, b}));
  }
  (void)t;
  return -ad::logsumexp(ad::concat_rows(terms), 0);
}

// P(x > 0) = Σ_k w_k Φ(m_k / s).
double truth_right() {
  double p = 0;
  for (int k = 0; k < 2; ++k) p += kW[k] * 0.5 * std::erfc(-kM[k] / kS / std::sqrt(2.0));
  return p;
}

struct Weight {
  double est, mcse, rhat;
  int switched;        // chains whose draws visited both modes
  double start_right;  // fraction of chains whose first draw is in the right mode
};

Weight right_weight(const samplers::Trace<double>& tr) {
  const samplers::Chains ind = tr.map([](const double* x) { return x[0] > 0 ? 1.0 : 0.0; });
  double sum = 0, n = 0;
  int switched = 0;
  double start_right = 0;
  for (const auto& c : ind) {
    start_right += c[0] / double(ind.size());
    double cs = 0;
    for (double v : c) cs += v;
    sum += cs, n += double(c.size());
    switched += cs > 0 && cs < double(c.size());
  }
  const samplers::Chains xs = tr.coordinate(0);
  return {sum / n, samplers::mcse_mean(ind), samplers::rhat(xs), switched, start_right};
}

}  // namespace

TEST_CASE("parallel tempering recovers the weights of a well-separated mixture") {
  samplers::TemperingOptions opt;
  opt.betas = samplers::TemperingOptions::geometric(8, 0.03);
  opt.step_size = 0.25;
  samplers::ParallelTempering<double> pt(mixture_energy, opt);
  State s = pt.make_state(32, 1, 21);
  for (int64_t b = 0; b < s.chains(); ++b) s.x[b] = -3.0;  // every replica starts in the light mode
  pt.warmup(s, 300);
  samplers::Trace<double> tr(0, 32);  // the β = 1 rows
  const auto st = pt.run(s, 3000, tr.observer());
  const Weight w = right_weight(tr);
  const double truth = truth_right();
  if (verbose()) {
    std::printf("PT: P(x>0) = %.4f ± %.4f (truth %.4f), R-hat %.4f, %d/32 cold chains visited both modes\n", w.est,
                w.mcse, truth, w.rhat, w.switched);
    std::printf("PT: swap rates");
    for (double r : st.swap_rates) std::printf(" %.2f", r);
    std::printf("\nPT: level acceptance");
    for (double r : st.level_accept_rates) std::printf(" %.2f", r);
    std::printf("\nPT: level steps");
    for (double r : st.level_step_sizes) std::printf(" %.3g", r);
    std::printf("\n");
  }
  CHECK(std::abs(w.est - truth) <= 4.5 * w.mcse);
  CHECK(w.switched == 32);
  REQUIRE(st.swap_rates.size() == 7);
  // Every adjacent pair must exchange, or replicas could not travel the ladder (a zero rate would cut it).
  for (double r : st.swap_rates) CHECK(r > 0.1);
  CHECK(st.nan_proposals == 0);

  // The first two moments as well: E x = Σ w m, E x² = Σ w (s² + m²).
  const samplers::Chains x = tr.coordinate(0), x2 = tr.map([](const double* v) { return v[0] * v[0]; });
  double m1 = 0, m2 = 0, n = 0;
  for (size_t c = 0; c < x.size(); ++c)
    for (size_t t = 0; t < x[c].size(); ++t) m1 += x[c][t], m2 += x2[c][t], n += 1;
  CHECK(std::abs(m1 / n - (kW[0] * kM[0] + kW[1] * kM[1])) <= 4.5 * samplers::mcse_mean(x));
  CHECK(std::abs(m2 / n - (kW[0] * (kS * kS + 9) + kW[1] * (kS * kS + 9))) <= 4.5 * samplers::mcse_mean(x2));
}

// The documented failure of local samplers: they do not recover the weights. Measured (EBM_VERBOSE=1):
// started at x = −3, MALA never leaves the light mode (P̂(x>0) = 0 against 0.7); HMC is the same except
// for a couple of chains that jumped during warm-up, when dual averaging tries large steps and the
// leapfrog integrator can step over the barrier. Started from U(−6, 6), each chain stays (with at most a
// rare exception) in the basin it fell into, so the estimate is the fraction of such starts and R̂ ≫ 1
// flags it. The thresholds below are qualitative on purpose (this is a negative result): a sampler that
// mixed would have every chain visit both modes and an error of a few 0.01 at most, like PT above.
TEST_CASE("plain MALA and HMC do not recover the mixture weights (chains stay in their starting mode)") {
  const double truth = truth_right();
  for (int which = 0; which < 2; ++which) {
    const char* name = which == 0 ? "MALA" : "HMC";
    CAPTURE(name);
    for (int dispersed = 0; dispersed < 2; ++dispersed) {
      State s(32, 1, 31 + uint64_t(dispersed));
      if (dispersed)
        s.fill_uniform(-6.0, 6.0);
      else
        std::fill(s.x.begin(), s.x.end(), -3.0);
      samplers::Trace<double> tr;
      double step = 0;
      if (which == 0) {
        samplers::Mala<double> m(mixture_energy, {.step_size = 0.2});
        m.warmup(s, 300);
        step = m.run(s, 3000, tr.observer()).step_size;
      } else {
        samplers::Hmc<double> h(mixture_energy, {.step_size = 0.2, .leapfrog_steps = 10});
        h.warmup(s, 300);
        step = h.run(s, 1000, tr.observer()).step_size;
      }
      const Weight w = right_weight(tr);
      if (verbose())
        std::printf("%s (%s start, step %.3f): P(x>0) = %.4f (truth %.4f), R-hat %.3f, %d/32 chains visited both modes\n",
                    name, dispersed ? "U(-6,6)" : "x=-3", step, w.est, truth, w.rhat, w.switched);
      CHECK(w.switched <= 2);  // of 32 chains
      if (!dispersed) {
        CHECK(w.est < truth - 0.5);  // nearly all mass in the light mode, against a true 0.7
      } else {
        // The estimate is about the fraction of chains that began in the right basin, whatever the truth.
        CHECK(std::abs(w.est - w.start_right) <= w.switched / 32.0 + 1e-12);
        CHECK(w.rhat > 1.5);  // chains disagree: R̂ catches it
      }
    }
  }
}
