#include "ebm/eval/ais.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include <samplers/gibbs.hpp>
#include <samplers/hmc.hpp>
#include <samplers/mala.hpp>

namespace ebm {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Pilot chains use streams from this offset on, so they share none with the estimation chains (0..B−1).
constexpr uint64_t kPilotStreams = uint64_t{1} << 62;
// Robbins–Monro gain of the pilot's step adaptation: log ε += γ (acceptance − target) per intermediate.
constexpr double kAdaptGain = 0.5;

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

void check_common(const AisOptions& o, const char* who) {
  if (o.chains < 1) throw std::invalid_argument(std::string(who) + ": needs at least one chain");
  if (o.steps < 1) throw std::invalid_argument(std::string(who) + ": needs at least one annealing step");
  if (o.transitions < 1) throw std::invalid_argument(std::string(who) + ": needs at least one transition per step");
}

// ---- continuous ----

struct GaussianBase {
  std::vector<double> mean, std;
  double log_z() const {
    double s = 0.5 * double(mean.size()) * std::log(2 * std::numbers::pi);
    for (double v : std) s += std::log(v);
    return s;
  }
  double energy(const double* x) const {
    double e = 0;
    for (size_t k = 0; k < mean.size(); ++k) {
      const double z = (x[k] - mean[k]) / std[k];
      e += 0.5 * z * z;
    }
    return e;
  }
};

struct ContinuousRun {
  std::vector<double> log_w;
  int64_t proposals = 0, accepted = 0;
};

// One anneal of state.chains() chains. eps[k] is the step at intermediate k (1 ≤ k < K); with `adapt` it is
// written instead (the value after adapting on intermediate k's acceptance).
ContinuousRun anneal(const samplers::BatchEnergy<double>& energy, const GaussianBase& base, const ContinuousAisOptions& o,
                     const std::vector<double>& betas, samplers::ChainState<double>& state, std::vector<double>& eps,
                     bool adapt, double target) {
  const int64_t n = state.chains(), d = state.dim();
  for (int64_t c = 0; c < n; ++c)
    for (int64_t k = 0; k < d; ++k)
      state.row(c)[k] = base.mean[size_t(k)] + base.std[size_t(k)] * state.rngs[size_t(c)].normal();

  ad::Tensor<double> base_mean(ad::Shape{d}), base_inv_std(ad::Shape{d});
  for (int64_t k = 0; k < d; ++k) base_mean[k] = base.mean[size_t(k)], base_inv_std[k] = 1.0 / base.std[size_t(k)];
  double beta = 0;
  // E_β = (1 − β) E_0 + β E; the model term is left out at β = 0 and the base term at β = 1 (0 · ∞ would be NaN).
  const samplers::BatchEnergy<double> intermediate = [&](ad::Tape<double>& tape, const ad::Var<double>& x) {
    if (beta >= 1) return energy(tape, x);
    const ad::Var<double> e0 =
        0.5 * ad::sum(ad::square((x - tape.constant(base_mean)) * tape.constant(base_inv_std)), 1);
    return (1 - beta) * e0 + beta * energy(tape, x);
  };
  samplers::HmcOptions hmc;
  hmc.leapfrog_steps = o.leapfrog_steps;
  hmc.mass.resize(size_t(d));
  for (int64_t k = 0; k < d; ++k) hmc.mass[size_t(k)] = 1.0 / (base.std[size_t(k)] * base.std[size_t(k)]);

  ContinuousRun run;
  run.log_w.assign(size_t(n), 0.0);
  samplers::EnergyEvaluator<double> eval;
  std::vector<double> e;
  double cur = o.step_size;
  const int K = int(betas.size()) - 1;
  for (int k = 1; k <= K; ++k) {
    eval.energy(energy, state.x, e);
    const double db = betas[size_t(k)] - betas[size_t(k - 1)];
    for (int64_t c = 0; c < n; ++c) {
      double inc = -db * (e[size_t(c)] - base.energy(state.row(c)));
      if (std::isnan(inc)) inc = kNegInf;  // NaN energy: the chain's weight is lost, not the whole estimate
      run.log_w[size_t(c)] += inc;
    }
    if (k == K) break;  // the transition at β_K = 1 would only move the samples
    beta = betas[size_t(k)];
    const double step = adapt ? cur : eps[size_t(k)];
    samplers::SamplerStats st;
    if (o.transition == AisTransition::mala) {
      samplers::Mala<double> mala(intermediate, {step, target});
      st = mala.run(state, o.transitions);
    } else {
      hmc.step_size = step;
      samplers::Hmc<double> sampler(intermediate, hmc);
      st = sampler.run(state, o.transitions);
    }
    run.proposals += st.proposals, run.accepted += st.accepted;
    if (adapt) {
      cur *= std::exp(kAdaptGain * (st.acceptance_rate() - target));
      eps[size_t(k)] = cur;
    }
  }
  return run;
}

}  // namespace

BetaSchedule parse_beta_schedule(const std::string& name) {
  if (name == "linear") return BetaSchedule::linear;
  if (name == "sigmoid") return BetaSchedule::sigmoid;
  if (name == "geometric") return BetaSchedule::geometric;
  throw std::invalid_argument("unknown AIS schedule \"" + name + "\" (known: linear, sigmoid, geometric)");
}

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
        auto s = [](double z) { return 1 / (1 + std::exp(-z)); };
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
  if (dim < 1) throw std::invalid_argument("ais_log_partition: needs dim >= 1");
  if (!(o.step_size > 0)) throw std::invalid_argument("ais_log_partition: step_size must be positive");
  if (o.transition == AisTransition::hmc && o.leapfrog_steps < 1)
    throw std::invalid_argument("ais_log_partition: HMC needs leapfrog_steps >= 1");
  GaussianBase base{o.base_mean, o.base_std};
  if (base.mean.empty()) base.mean.assign(size_t(dim), 0.0);
  if (base.std.empty()) base.std.assign(size_t(dim), 1.0);
  if (int64_t(base.mean.size()) != dim || int64_t(base.std.size()) != dim)
    throw std::invalid_argument("ais_log_partition: base_mean and base_std need one entry per dimension");
  for (double s : base.std)
    if (!(s > 0) || !std::isfinite(s)) throw std::invalid_argument("ais_log_partition: base_std must be positive and finite");
  const double target = o.target_accept > 0 ? o.target_accept : (o.transition == AisTransition::mala ? 0.574 : 0.8);
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  std::vector<double> eps(size_t(o.steps) + 1, o.step_size);
  if (o.adapt_step) {
    samplers::ChainState<double> pilot(std::clamp<int64_t>(o.pilot_chains, 1, o.chains), dim, o.seed);
    for (size_t c = 0; c < pilot.rngs.size(); ++c) pilot.rngs[c] = ad::Rng(o.seed, kPilotStreams + c);
    anneal(energy, base, o, betas, pilot, eps, true, target);
  }
  samplers::ChainState<double> state(o.chains, dim, o.seed);
  ContinuousRun run = anneal(energy, base, o, betas, state, eps, false, target);
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
  const int64_t nv = rbm.visible(), nh = rbm.hidden(), n = o.chains;
  std::vector<double> b0 = o.base_visible_bias;
  if (b0.empty()) b0.assign(size_t(nv), 0.0);
  if (int64_t(b0.size()) != nv) throw std::invalid_argument("ais_log_partition_rbm: base_visible_bias needs one entry per visible unit");
  const ad::Tensor<double>& w = rbm.param("W");
  const ad::Tensor<double>& b = rbm.param("b");
  const ad::Tensor<double>& c = rbm.param("c");

  double log_z0 = double(nh) * std::numbers::ln2;
  for (double v : b0) log_z0 += softplus(v);

  samplers::ChainState<double> state(n, nv, o.seed);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < nv; ++i) {
      const double p = 1 / (1 + std::exp(-b0[size_t(i)]));
      state.row(r)[i] = state.rngs[size_t(r)].uniform() < p ? 1.0 : 0.0;
    }

  // log f_β(v) = ((1 − β) b_0 + β b)ᵀ v + Σ_j softplus(β a_j),  a = c + vᵀW (computed once per step for both β).
  auto log_f = [&](const ad::Tensor<double>& v, const ad::Tensor<double>& a, int64_t r, double beta) {
    double s = 0;
    for (int64_t i = 0; i < nv; ++i) s += ((1 - beta) * b0[size_t(i)] + beta * b[i]) * v.at(r, i);
    for (int64_t j = 0; j < nh; ++j) s += softplus(beta * a.at(r, j));
    return s;
  };
  auto pre_activations = [&](const ad::Tensor<double>& v) { return rbm.hidden_preactivation(v); };

  // The β-intermediate as an RBM (β W, (1 − β) b_0 + β b, β c); block Gibbs runs on it directly.
  BernoulliRbm<double> inter(rbm);
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  std::vector<double> log_w(size_t(n), 0.0);
  const int K = o.steps;
  for (int k = 1; k <= K; ++k) {
    const ad::Tensor<double> a = pre_activations(state.x);
    for (int64_t r = 0; r < n; ++r) {
      double inc = log_f(state.x, a, r, betas[size_t(k)]) - log_f(state.x, a, r, betas[size_t(k - 1)]);
      if (std::isnan(inc)) inc = kNegInf;
      log_w[size_t(r)] += inc;
    }
    if (k == K) break;
    const double beta = betas[size_t(k)];
    ad::Tensor<double>& iw = inter.param("W");
    ad::Tensor<double>& ib = inter.param("b");
    ad::Tensor<double>& ic = inter.param("c");
    for (int64_t i = 0; i < w.numel(); ++i) iw[i] = beta * w[i];
    for (int64_t i = 0; i < nv; ++i) ib[i] = (1 - beta) * b0[size_t(i)] + beta * b[i];
    for (int64_t j = 0; j < nh; ++j) ic[j] = beta * c[j];
    samplers::BlockGibbs<double> gibbs(inter);
    gibbs.run(state, o.transitions);
  }
  return summarize_log_weights(std::move(log_w), log_z0);
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
