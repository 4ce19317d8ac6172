#include "ebm/objectives/contrastive_divergence.hpp"

#include <cmath>
#include <stdexcept>

#include <samplers/gibbs.hpp>

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
ContrastiveDivergence<T>::ContrastiveDivergence(NegativePhase<T> negatives, double energy_reg)
    : negatives_(std::move(negatives)), alpha_(energy_reg) {
  if (!(energy_reg >= 0)) throw std::invalid_argument("CD: the energy regulariser must be >= 0");
}

template <class T>
Loss<T> ContrastiveDivergence<T>::loss(const LossInput<T>& in) {
  last_ = negatives_.draw(in.model, in.x, in.rng);
  const ad::Var<T> e_data = in.model.energy(in.theta, in.tape.constant(in.x));
  const ad::Var<T> e_samples = in.model.energy(in.theta, in.tape.constant(last_));
  Loss<T> out{ad::Var<T>{}, {}};
  out.value = contrastive_surrogate(e_data, e_samples, alpha_, out.terms);
  out.terms.push_back({"accept_rate", negatives_.last_stats().acceptance_rate()});
  if (std::isfinite(negatives_.last_ess())) out.terms.push_back({"ess", negatives_.last_ess()});
  return out;
}

template <class T>
std::optional<LossAndGrad<T>> ContrastiveDivergence<T>::direct_loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x,
                                                                              ad::Rng& rng, const std::vector<int64_t>* labels) {
  (void)labels;
  const auto* rbm = dynamic_cast<const BernoulliRbm<T>*>(&model);
  if (!rbm || alpha_ > 0 || !this->extra_params().empty()) return std::nullopt;
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
