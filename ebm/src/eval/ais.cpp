#include "ebm/eval/ais.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <autodiff/scalar.hpp>

#include "ais_anneal.hpp"

namespace ebm {
namespace {

using namespace ais_detail;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

}  // namespace

BetaSchedule parse_beta_schedule(const std::string& name) { return parse_enum(kBetaScheduleNames, name, "AIS schedule"); }

std::vector<double> beta_schedule(BetaSchedule kind, int steps) {
  if (steps < 1) throw std::invalid_argument("beta_schedule: needs at least one step");
  const int K = steps;
  std::vector<double> b(size_t(K) + 1);
  for (int k = 0; k <= K; ++k) {
    const double t = double(k) / K;
    switch (kind) {
      case BetaSchedule::linear: b[size_t(k)] = t; break;
      case BetaSchedule::sigmoid: {
        const double delta = 4;
        const auto s = ad::scalar::sigmoid;
        b[size_t(k)] = (s(delta * (2 * t - 1)) - s(-delta)) / (s(delta) - s(-delta));
        break;
      }
      case BetaSchedule::geometric: b[size_t(k)] = k == 0 ? 0.0 : std::pow(1e-4, 1 - t); break;
    }
  }
  b.front() = 0, b.back() = 1;  // exact ends whatever the rounding
  return b;
}

AisResult summarize_log_weights(std::vector<double> log_weights, double log_z_base) {
  AisResult r;
  r.log_z_base = log_z_base;
  const double n = double(log_weights.size());
  double mx = kNegInf, mean_log = 0;
  for (double v : log_weights) mx = std::max(mx, v), mean_log += v / n;
  r.lower_bound = log_z_base + mean_log;
  r.upper_bound = std::numeric_limits<double>::quiet_NaN();  // a forward run bounds log Z from below only
  // SE of the bound (the mean of the log weights) as an estimate of its expectation: sd(log w) / √n.
  double ss = 0;
  for (double v : log_weights) ss += (v - mean_log) * (v - mean_log);
  r.stderr_bound = n > 1 && std::isfinite(mean_log) ? std::sqrt(ss / (n - 1) / n) : std::numeric_limits<double>::infinity();
  if (!(mx > kNegInf)) {
    r.log_z = kNegInf, r.stderr_log_z = std::numeric_limits<double>::infinity(), r.ess = 0;
  } else {
    double s1 = 0, s2 = 0;  // Σ w, Σ w² with w scaled by e^{−max}
    for (double v : log_weights) {
      const double w = std::exp(v - mx);
      s1 += w, s2 += w * w;
    }
    const double mean = s1 / n;
    r.log_z = log_z_base + mx + std::log(mean);
    r.ess = s1 * s1 / s2;
    // Sample variance of the scaled weights, then SE(log mean w) ≈ sd / (mean √n).
    const double var = n > 1 ? std::max(0.0, (s2 - n * mean * mean) / (n - 1)) : std::numeric_limits<double>::infinity();
    r.stderr_log_z = std::sqrt(var / n) / mean;
  }
  r.log_weights = std::move(log_weights);
  return r;
}

AisResult ais_log_partition(const samplers::BatchEnergy<double>& energy, int64_t dim, const ContinuousAisOptions& o) {
  check_common(o, "ais_log_partition");
  const GaussianBase base = continuous_base(o, dim, "ais_log_partition");
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  std::vector<double> eps = continuous_steps(energy, base, o, betas);
  samplers::ChainState<double> state(o.chains, dim, o.seed);
  draw_base(base, state);
  AnnealRun run = anneal_continuous(energy, base, o, betas, state, eps, false, target_acceptance(o));
  AisResult r = summarize_log_weights(std::move(run.log_w), base.log_z());
  r.acceptance_rate = run.proposals ? double(run.accepted) / double(run.proposals) : 1.0;
  r.step_sizes.assign(eps.begin() + 1, eps.end() - 1);
  return r;
}

AisResult ais_log_partition(const Energy<double>& model, const ContinuousAisOptions& options) {
  const samplers::BatchEnergy<double> energy = [&model](ad::Tape<double>&, const ad::Var<double>& x) {
    return model.fixed_energy(x);
  };
  return ais_log_partition(energy, model.dim(), options);
}

// ---- Bernoulli RBM ----

AisResult ais_log_partition_rbm(const BernoulliRbm<double>& rbm, const RbmAisOptions& o) {
  check_common(o, "ais_log_partition_rbm");
  const std::vector<double> b0 = rbm_base(rbm, o, "ais_log_partition_rbm");
  samplers::ChainState<double> state(o.chains, rbm.visible(), o.seed);
  for (int64_t r = 0; r < o.chains; ++r)
    for (int64_t i = 0; i < rbm.visible(); ++i) {
      const double p = ad::scalar::sigmoid(b0[size_t(i)]);
      state.row(r)[i] = state.rngs[size_t(r)].uniform() < p ? 1.0 : 0.0;
    }
  AnnealRun run = anneal_rbm(rbm, b0, o, beta_schedule(o.schedule, o.steps), state);
  return summarize_log_weights(std::move(run.log_w), rbm_base_log_z(rbm, b0));
}

// ---- fully visible Boltzmann machine ----

AisResult ais_log_partition_boltzmann(const BoltzmannMachine<double>& machine, const BoltzmannAisOptions& o) {
  check_common(o, "ais_log_partition_boltzmann");
  const std::vector<double> b0 = boltzmann_base(machine, o, "ais_log_partition_boltzmann");
  const bool spin = machine.unit_kind() == Units::spin;
  samplers::ChainState<double> state(o.chains, machine.dim(), o.seed);
  for (int64_t r = 0; r < o.chains; ++r)  // x_0 ~ p_0: unit i on with probability σ(b_0i), or σ(2 b_0i) for spins
    for (int64_t i = 0; i < machine.dim(); ++i) {
      const double z = spin ? 2 * b0[size_t(i)] : b0[size_t(i)];
      const bool on = state.rngs[size_t(r)].uniform() < ad::scalar::sigmoid(z);
      state.row(r)[i] = on ? 1.0 : (spin ? -1.0 : 0.0);
    }
  AnnealRun run = anneal_boltzmann(machine, b0, o, beta_schedule(o.schedule, o.steps), state);
  return summarize_log_weights(std::move(run.log_w), boltzmann_base_log_z(machine.unit_kind(), b0));
}

std::vector<double> boltzmann_base_bias(const ad::Tensor<double>& data, Units units, double alpha) {
  if (data.rank() != 2 || data.rows() < 1) throw std::invalid_argument("boltzmann_base_bias: needs data of shape [N, n], N >= 1");
  if (!(alpha > 0)) throw std::invalid_argument("boltzmann_base_bias: alpha must be positive");
  std::vector<double> out(size_t(data.cols()));
  for (int64_t i = 0; i < data.cols(); ++i) {
    double on = 0;
    for (int64_t r = 0; r < data.rows(); ++r) on += data.at(r, i) > 0 ? 1.0 : 0.0;
    const double p = (on + alpha) / (double(data.rows()) + 2 * alpha);
    const double logit = std::log(p) - std::log1p(-p);
    out[size_t(i)] = units == Units::binary ? logit : 0.5 * logit;  // atanh(2p − 1) = ½ logit(p)
  }
  return out;
}

std::vector<double> rbm_base_bias(const ad::Tensor<double>& data, double alpha) {
  if (data.rank() != 2 || data.rows() < 1) throw std::invalid_argument("rbm_base_bias: needs data of shape [N, V], N >= 1");
  if (!(alpha > 0)) throw std::invalid_argument("rbm_base_bias: alpha must be positive");
  std::vector<double> out(size_t(data.cols()));
  for (int64_t i = 0; i < data.cols(); ++i) {
    double s = 0;
    for (int64_t r = 0; r < data.rows(); ++r) s += data.at(r, i);
    const double p = (s + alpha) / (double(data.rows()) + 2 * alpha);
    out[size_t(i)] = std::log(p) - std::log1p(-p);
  }
  return out;
}

}  // namespace ebm
