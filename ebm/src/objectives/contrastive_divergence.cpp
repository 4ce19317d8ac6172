#include "ebm/objectives/contrastive_divergence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <samplers/gibbs.hpp>
#include <samplers/langevin.hpp>

#include "ebm/models/rbm.hpp"
#include "models/rbm_gibbs_step.hpp"

namespace ebm {

template <class T>
ad::Var<T> contrastive_surrogate(const ad::Var<T>& e_data, const ad::Var<T>& e_samples, double alpha, std::vector<Term>& terms) {
  ad::Var<T> value = ad::mean(e_data) - ad::mean(e_samples);
  terms.push_back(mean_term("energy_data", e_data));
  terms.push_back(mean_term("energy_samples", e_samples));
  if (alpha > 0) {
    const ad::Var<T> reg = ad::mean(ad::square(e_data)) + ad::mean(ad::square(e_samples));
    terms.push_back({"energy_reg", static_cast<double>(reg.item())});
    value = value + alpha * reg;
  }
  return value;
}

template <class T>
ContrastiveDivergence<T>::ContrastiveDivergence(NegativePhase<T> negatives, double energy_reg, ImprovedCd kl)
    : negatives_(std::move(negatives)), alpha_(energy_reg), kl_(kl) {
  if (!(energy_reg >= 0)) throw std::invalid_argument("CD: the energy regulariser must be >= 0");
  if (kl_.enabled) {
    if (!(kl_.weight >= 0) || !std::isfinite(kl_.weight)) throw std::invalid_argument("CD: kl_weight must be finite and >= 0");
    if (negatives_.options().steps < 1) throw std::invalid_argument("CD: kl_term needs steps >= 1 (its last step is on the tape)");
    if (negatives_.options().persist == samplers::RbmChainUnits::hidden)
      throw std::invalid_argument("CD: kl_term cannot be used with hidden persistent chains");
  }
}

namespace {

// Row i of `nearest` [M, d]: the row of `ref` [N, d] nearest to row i of `x` [M, d] (squared Euclidean), skipping
// ref row i when `leave_one_out`. A brute-force scan over raw rows: it is the step's hot loop for a large pool.
template <class T>
ad::Tensor<T> nearest_rows(const ad::Tensor<T>& x, const ad::Tensor<T>& ref, bool leave_one_out) {
  const int64_t m = x.rows(), n = ref.rows(), d = x.cols();
  ad::Tensor<T> nearest(x.shape());
  const T* xs = x.data();
  const T* rs = ref.data();
  for (int64_t i = 0; i < m; ++i) {
    const T* xi = xs + i * d;
    int64_t best = -1;
    double best_s = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < n; ++j) {
      if (leave_one_out && j == i) continue;
      const T* rj = rs + j * d;
      double s = 0;
      for (int64_t k = 0; k < d && s < best_s; ++k) {
        const double t = double(xi[k]) - double(rj[k]);
        s += t * t;
      }
      if (s < best_s || best < 0) best = j, best_s = s;
    }
    std::copy(rs + best * d, rs + (best + 1) * d, nearest.data() + i * d);
  }
  return nearest;
}

}  // namespace

template <class T>
Loss<T> ContrastiveDivergence<T>::loss(const LossInput<T>& in) {
  ad::Var<T> x_k;  // the last step's positions on the tape (improved CD)
  std::optional<ad::Tensor<T>> pool_others;
  std::vector<ad::Var<T>> frozen;
  if (kl_.enabled) {
    // θ̄: the model's current parameter values as constants (the values the chains are drawn with), so L_KL is
    // an ordinary function of θ whose gradient is the wanted one (Note [Improved CD]).
    frozen = bind_params(in.tape, in.model.params(), Bind::constant);
    const std::unique_ptr<samplers::Sampler<T>> configured = negatives_.make_sampler(in.model);
    const auto* langevin = dynamic_cast<const samplers::Langevin<T>*>(configured.get());
    if (!langevin) throw std::invalid_argument("CD: kl_term needs Langevin negatives (objective.sampler.type \"langevin\")");
    const samplers::LangevinOptions lo = langevin->options();
    if (lo.grad_clip_value > 0 || lo.grad_clip_norm > 0 || lo.clamp)
      throw std::invalid_argument("CD: kl_term takes a plain Langevin step on the tape: no gradient clipping or clamping");
    const double half_eps = 0.5 * lo.step_size, sigma = lo.noise();
    const LastStep<T> last = [&](samplers::ChainState<T>& chains, const ad::Tensor<T>* others) {
      const int64_t m = chains.chains(), d = chains.dim();
      // The sampler's own noise: each chain's row from its generator (skipped when σ = 0, as the sampler does).
      ad::Tensor<T> noise(chains.x.shape());
      if (sigma != 0) {
        std::vector<double> z(static_cast<size_t>(d));
        for (int64_t c = 0; c < m; ++c) {
          ad::fill_normal(z.data(), d, chains.rngs[static_cast<size_t>(c)]);
          for (int64_t k = 0; k < d; ++k) noise[c * d + k] = static_cast<T>(sigma * z[static_cast<size_t>(k)]);
        }
      }
      const ad::Var<T> prev = in.tape.variable(chains.x);  // x_{K−1}: fixed, a variable only so that ∇ₓE exists
      // The chains move with θ̄ (the model's values, like the first k − 1 steps); the taped x_K(θ) has the same
      // value where θ = θ̄ (always, in training) and carries ∇θ through ∇ₓE_θ, recorded with create_graph.
      const ad::Var<T> g_bar = ad::grad(ad::sum(in.model.energy(frozen, prev)), prev);
      const ad::Var<T> g = ad::grad(ad::sum(in.model.energy(in.theta, prev)), prev, true);
      const ad::Var<T> moved = prev - g_bar * half_eps + in.tape.constant(noise);
      chains.x = moved.value();
      x_k = in.tape.constant(chains.x) - (g - g_bar) * half_eps;
      if (others) pool_others = *others;
    };
    last_ = negatives_.draw(in.model, in.x, in.rng, last);
  } else {
    last_ = negatives_.draw(in.model, in.x, in.rng);
  }
  const ad::Var<T> e_data = in.model.energy(in.theta, in.tape.constant(in.x));
  const ad::Var<T> e_samples = in.model.energy(in.theta, in.tape.constant(last_));
  Loss<T> out{ad::Var<T>{}, {}};
  out.value = contrastive_surrogate(e_data, e_samples, alpha_, out.terms);
  out.terms.push_back({"accept_rate", negatives_.last_stats().acceptance_rate()});
  if (std::isfinite(negatives_.last_ess())) out.terms.push_back({"ess", negatives_.last_ess()});
  if (kl_.enabled) {
    ad::Var<T> kl = ad::mean(in.model.energy(frozen, x_k));
    if (kl_.entropy) {
      const ad::Tensor<T>& ref = pool_others ? *pool_others : last_;
      if (ref.rows() < (pool_others ? 1 : 2)) throw std::invalid_argument("CD: the kl_term entropy needs at least 2 negatives per step");
      const ad::Tensor<T> nearest = nearest_rows(last_, ref, !pool_others);
      // log ‖x − r‖ = ½ log ‖x − r‖²: no square root, whose derivative is singular at 0.
      const ad::Var<T> sq = ad::sum(ad::square(x_k - in.tape.constant(nearest)), 1);
      const ad::Var<T> h = ad::mean(ad::log(sq)) * 0.5;
      out.terms.push_back({"entropy", static_cast<double>(h.item())});
      kl = kl - h;
    }
    out.terms.push_back({"kl", static_cast<double>(kl.item())});
    out.value = out.value + kl * kl_.weight;
  }
  return out;
}

template <class T>
std::optional<LossAndGrad<T>> ContrastiveDivergence<T>::direct_loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x,
                                                                              ad::Rng& rng, const std::vector<int64_t>* labels) {
  (void)labels;
  const auto* rbm = dynamic_cast<const BernoulliRbm<T>*>(&model);
  if (!rbm || alpha_ > 0 || kl_.enabled || !this->extra_params().empty()) return std::nullopt;
  // One parameter state for the whole step. With the configured block Gibbs sampler, the sweeps and the
  // gradient's products run in whole-step row shards (Note [Whole-step shards]); any other sampler: the generic
  // draw, then the closed-form gradient.
  const detail::RbmLayers<T> layers(*rbm);
  std::unique_ptr<samplers::Sampler<T>> configured = negatives_.make_sampler(model);
  const auto* gibbs = dynamic_cast<samplers::BlockGibbs<T>*>(configured.get());
  detail::RbmGibbsStep<T> step(layers, x, gibbs ? gibbs->chain_units() : samplers::RbmChainUnits::visible);
  last_ = negatives_.draw_with(gibbs ? step : *configured, x, rng);
  LossAndGrad<T> out;
  // contrastive_grad writes (=) every value.
  for (const Param<T>& p : model.params()) out.grad_theta.emplace_back(p.value.shape(), ad::uninitialized);
  // loss = mean F(x) − mean F(x⁻), as contrastive_surrogate.
  const auto [f_data, f_neg] = step.contrastive_grad(last_, out.grad_theta);
  out.loss = f_data - f_neg;
  out.terms = {{"energy_data", f_data}, {"energy_samples", f_neg}, {"accept_rate", negatives_.last_stats().acceptance_rate()}};
  if (std::isfinite(negatives_.last_ess())) out.terms.push_back({"ess", negatives_.last_ess()});
  return out;
}

template ad::Var<float> contrastive_surrogate(const ad::Var<float>&, const ad::Var<float>&, double, std::vector<Term>&);
template ad::Var<double> contrastive_surrogate(const ad::Var<double>&, const ad::Var<double>&, double, std::vector<Term>&);
template class ContrastiveDivergence<float>;
template class ContrastiveDivergence<double>;

}  // namespace ebm
