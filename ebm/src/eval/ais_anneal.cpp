#include "ais_anneal.hpp"
#include <autodiff/scalar.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include <samplers/gibbs.hpp>
#include <samplers/hmc.hpp>
#include <samplers/mala.hpp>

namespace ebm::ais_detail {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Robbins–Monro gain of the pilot's step adaptation: log ε += γ (acceptance − target) per intermediate.
constexpr double kAdaptGain = 0.5;

using ad::scalar::softplus;

}  // namespace

void check_common(const AisOptions& o, const char* who) {
  if (o.chains < 1) throw std::invalid_argument(std::string(who) + ": needs at least one chain");
  if (o.steps < 1) throw std::invalid_argument(std::string(who) + ": needs at least one annealing step");
  if (o.transitions < 1) throw std::invalid_argument(std::string(who) + ": needs at least one transition per step");
}

// ---- continuous ----

double GaussianBase::log_z() const {
  double s = 0.5 * double(mean.size()) * std::log(2 * std::numbers::pi);
  for (double v : std) s += std::log(v);
  return s;
}

double GaussianBase::energy(const double* x) const {
  double e = 0;
  for (size_t k = 0; k < mean.size(); ++k) {
    const double z = (x[k] - mean[k]) / std[k];
    e += 0.5 * z * z;
  }
  return e;
}

GaussianBase continuous_base(const ContinuousAisOptions& o, int64_t dim, const char* who) {
  const std::string w = who;
  if (dim < 1) throw std::invalid_argument(w + ": needs dim >= 1");
  if (!(o.step_size > 0)) throw std::invalid_argument(w + ": step_size must be positive");
  if (o.transition == AisTransition::hmc && o.leapfrog_steps < 1) throw std::invalid_argument(w + ": HMC needs leapfrog_steps >= 1");
  GaussianBase base{o.base_mean, o.base_std};
  if (base.mean.empty()) base.mean.assign(size_t(dim), 0.0);
  if (base.std.empty()) base.std.assign(size_t(dim), 1.0);
  if (int64_t(base.mean.size()) != dim || int64_t(base.std.size()) != dim)
    throw std::invalid_argument(w + ": base_mean and base_std need one entry per dimension");
  for (double s : base.std)
    if (!(s > 0) || !std::isfinite(s)) throw std::invalid_argument(w + ": base_std must be positive and finite");
  return base;
}

void draw_base(const GaussianBase& base, samplers::ChainState<double>& state) {
  for (int64_t c = 0; c < state.chains(); ++c)
    for (int64_t k = 0; k < state.dim(); ++k)
      state.row(c)[k] = base.mean[size_t(k)] + base.std[size_t(k)] * state.rngs[size_t(c)].normal();
}

double target_acceptance(const ContinuousAisOptions& o) {
  return o.target_accept > 0 ? o.target_accept : (o.transition == AisTransition::mala ? 0.574 : 0.8);
}

std::vector<double> continuous_steps(const samplers::BatchEnergy<double>& energy, const GaussianBase& base,
                                     const ContinuousAisOptions& o, const std::vector<double>& betas) {
  std::vector<double> eps(betas.size(), o.step_size);
  if (!o.adapt_step) return eps;
  samplers::ChainState<double> pilot(std::clamp<int64_t>(o.pilot_chains, 1, o.chains), int64_t(base.mean.size()), o.seed);
  for (size_t c = 0; c < pilot.rngs.size(); ++c) pilot.rngs[c] = ad::Rng(o.seed, kPilotStreams + c);
  draw_base(base, pilot);
  anneal_continuous(energy, base, o, betas, pilot, eps, true, target_acceptance(o));
  return eps;
}

AnnealRun anneal_continuous(const samplers::BatchEnergy<double>& energy, const GaussianBase& base, const ContinuousAisOptions& o,
                            const std::vector<double>& gammas, samplers::ChainState<double>& state, std::vector<double>& eps,
                            bool adapt, double target) {
  const int64_t n = state.chains(), d = state.dim();
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

  AnnealRun run;
  run.log_w.assign(size_t(n), 0.0);
  samplers::EnergyEvaluator<double> eval;
  std::vector<double> e;
  double cur = o.step_size;
  const int K = int(gammas.size()) - 1;
  for (int j = 1; j <= K; ++j) {
    eval.energy(energy, state.x, e);
    // log f_γ(x) = −(1 − γ) E_0(x) − γ E(x), so the increment is −(γ_j − γ_{j−1}) (E(x) − E_0(x)).
    const double dg = gammas[size_t(j)] - gammas[size_t(j - 1)];
    for (int64_t c = 0; c < n; ++c) {
      double inc = -dg * (e[size_t(c)] - base.energy(state.row(c)));
      if (std::isnan(inc)) inc = kNegInf;  // NaN energy: the chain's weight is lost, not the whole estimate
      run.log_w[size_t(c)] += inc;
    }
    if (j == K) break;  // a transition at the last temperature would only move the samples
    beta = gammas[size_t(j)];
    const double step = adapt ? cur : eps[size_t(j)];
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
      eps[size_t(j)] = cur;
    }
  }
  return run;
}

// ---- Bernoulli RBM ----

std::vector<double> rbm_base(const BernoulliRbm<double>& rbm, const RbmAisOptions& o, const char* who) {
  std::vector<double> b0 = o.base_visible_bias;
  if (b0.empty()) b0.assign(size_t(rbm.visible()), 0.0);
  if (int64_t(b0.size()) != rbm.visible()) throw std::invalid_argument(std::string(who) + ": base_visible_bias needs one entry per visible unit");
  return b0;
}

double rbm_base_log_z(const BernoulliRbm<double>& rbm, const std::vector<double>& b0) {
  double log_z0 = double(rbm.hidden()) * std::numbers::ln2;
  for (double v : b0) log_z0 += softplus(v);
  return log_z0;
}

AnnealRun anneal_rbm(const BernoulliRbm<double>& rbm, const std::vector<double>& b0, const AisOptions& o,
                     const std::vector<double>& gammas, samplers::ChainState<double>& state) {
  const int64_t nv = rbm.visible(), nh = rbm.hidden(), n = state.chains();
  const ad::Tensor<double>& w = rbm.param("W");
  const ad::Tensor<double>& b = rbm.param("b");
  const ad::Tensor<double>& c = rbm.param("c");
  // log f_β(v) = ((1 − β) b_0 + β b)ᵀ v + Σ_j softplus(β a_j),  a = c + vᵀW (computed once per step for both β).
  auto log_f = [&](const ad::Tensor<double>& v, const ad::Tensor<double>& a, int64_t r, double beta) {
    double s = 0;
    for (int64_t i = 0; i < nv; ++i) s += ((1 - beta) * b0[size_t(i)] + beta * b[i]) * v.at(r, i);
    for (int64_t j = 0; j < nh; ++j) s += softplus(beta * a.at(r, j));
    return s;
  };
  // The γ-intermediate as an RBM (γ W, (1 − γ) b_0 + γ b, γ c); block Gibbs runs on it directly.
  BernoulliRbm<double> inter(rbm);
  AnnealRun run;
  run.log_w.assign(size_t(n), 0.0);
  const int K = int(gammas.size()) - 1;
  for (int j = 1; j <= K; ++j) {
    const ad::Tensor<double> a = rbm.hidden_preactivation(state.x);
    for (int64_t r = 0; r < n; ++r) {
      double inc = log_f(state.x, a, r, gammas[size_t(j)]) - log_f(state.x, a, r, gammas[size_t(j - 1)]);
      if (std::isnan(inc)) inc = kNegInf;
      run.log_w[size_t(r)] += inc;
    }
    if (j == K) break;
    const double beta = gammas[size_t(j)];
    ad::Tensor<double>& iw = inter.param("W");
    ad::Tensor<double>& ib = inter.param("b");
    ad::Tensor<double>& ic = inter.param("c");
    for (int64_t i = 0; i < w.numel(); ++i) iw[i] = beta * w[i];
    for (int64_t i = 0; i < nv; ++i) ib[i] = (1 - beta) * b0[size_t(i)] + beta * b[i];
    for (int64_t k = 0; k < nh; ++k) ic[k] = beta * c[k];
    samplers::BlockGibbs<double> gibbs(inter);
    gibbs.run(state, o.transitions);
  }
  return run;
}

// ---- fully visible Boltzmann machine ----

std::vector<double> boltzmann_base(const BoltzmannMachine<double>& machine, const BoltzmannAisOptions& o, const char* who) {
  std::vector<double> b0 = o.base_bias;
  if (b0.empty()) b0.assign(size_t(machine.dim()), 0.0);
  if (int64_t(b0.size()) != machine.dim()) throw std::invalid_argument(std::string(who) + ": base_bias needs one entry per unit");
  for (double v : b0)
    if (!std::isfinite(v)) throw std::invalid_argument(std::string(who) + ": base_bias must be finite");
  return b0;
}

double boltzmann_base_log_z(Units units, const std::vector<double>& b0) {
  double log_z0 = 0;
  // {0,1}: log(1 + e^b); {−1,+1}: log(e^b + e^−b) = |b| + log(1 + e^{−2|b|}) + 0, i.e. softplus(2b) − b.
  for (double v : b0) log_z0 += units == Units::binary ? softplus(v) : softplus(2 * v) - v;
  return log_z0;
}

AnnealRun anneal_boltzmann(const BoltzmannMachine<double>& machine, const std::vector<double>& b0, const AisOptions& o,
                           const std::vector<double>& gammas, samplers::ChainState<double>& state) {
  const int64_t n = machine.dim(), chains = state.chains();
  const ad::Tensor<double> w = machine.coupling();  // symmetric, zero diagonal
  const ad::Tensor<double>& b = machine.param("b");
  // E(x) − E_0(x) = −½ xᵀW x − (b − b_0)ᵀx, in double.
  auto excess = [&](const double* x) {
    double quad = 0, lin = 0;
    for (int64_t i = 0; i < n; ++i) {
      double wx = 0;
      for (int64_t j = 0; j < n; ++j) wx += w.at(i, j) * x[j];
      quad += x[i] * wx;
      lin += (b[i] - b0[size_t(i)]) * x[i];
    }
    return -0.5 * quad - lin;
  };
  AnnealRun run;
  run.log_w.assign(size_t(chains), 0.0);
  ad::Tensor<double> iw(w.shape()), ib(ad::Shape{n});
  const int K = int(gammas.size()) - 1;
  for (int j = 1; j <= K; ++j) {
    const double dg = gammas[size_t(j)] - gammas[size_t(j - 1)];
    for (int64_t c = 0; c < chains; ++c) {
      double inc = -dg * excess(state.row(c));
      if (std::isnan(inc)) inc = kNegInf;
      run.log_w[size_t(c)] += inc;
    }
    if (j == K) break;
    const double beta = gammas[size_t(j)];
    for (int64_t i = 0; i < w.numel(); ++i) iw[i] = beta * w[i];
    for (int64_t i = 0; i < n; ++i) ib[i] = (1 - beta) * b0[size_t(i)] + beta * b[i];
    const BoltzmannMachine<double> inter(iw, ib, machine.unit_kind());
    samplers::SingleSiteGibbs<double> gibbs(inter);
    gibbs.run(state, o.transitions);
  }
  return run;
}

}  // namespace ebm::ais_detail
