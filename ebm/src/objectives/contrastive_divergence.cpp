#include "ebm/objectives/contrastive_divergence.hpp"

#include <cmath>
#include <stdexcept>

#include <samplers/gibbs.hpp>

#include "ebm/models/rbm.hpp"
#include "models/rbm_layers.hpp"

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
  // One parameter state for the whole step: c + x W first, then the configured block Gibbs sweep(s) on the same
  // layers (which remember x and the chains' states, so that the negatives' products start from them), then the
  // closed-form gradient from the pre-activations already computed. Any other sampler: the generic draw.
  const detail::RbmLayers<T> layers(*rbm);
  const ad::Tensor<T> pre_data = layers.hidden_pre(x, true);
  std::unique_ptr<samplers::Sampler<T>> configured = negatives_.make_sampler(model);
  if (dynamic_cast<samplers::BlockGibbs<T>*>(configured.get())) {
    samplers::BlockGibbs<T> gibbs(layers);
    last_ = negatives_.draw_with(gibbs, x, rng);
  } else {
    last_ = negatives_.draw_with(*configured, x, rng);
  }
  const ad::Tensor<T> pre_neg = layers.hidden_pre(last_, false);
  LossAndGrad<T> out;
  // free_energy_grad writes (=) every value.
  for (const Param<T>& p : model.params()) out.grad_theta.emplace_back(p.value.shape(), ad::uninitialized);
  // loss = mean F(x) − mean F(x⁻), as contrastive_surrogate.
  const double n_data = double(x.rows()), n_neg = double(last_.rows());
  const std::vector<double> f = layers.free_energy_grad({{&x, &pre_data, 1.0 / n_data}, {&last_, &pre_neg, -1.0 / n_neg}}, out.grad_theta);
  const double f_data = f[0] / n_data, f_neg = f[1] / n_neg;
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
