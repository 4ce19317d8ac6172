#include "ebm/objectives/denoising.hpp"

#include <cmath>
#include <stdexcept>

#include "ebm/models/composite.hpp"

namespace ebm {

template <class T>
DenoisingScoreMatching<T>::DenoisingScoreMatching(double sigma, bool control_variate)
    : sigma_(sigma), control_variate_(control_variate) {
  if (!(sigma > 0)) throw std::invalid_argument("DenoisingScoreMatching: sigma must be positive");
}

template <class T>
Loss<T> DenoisingScoreMatching<T>::loss(const LossInput<T>& in) {
  const ad::Shape s = in.x.shape();
  ad::Tensor<T> z(s);
  ad::fill_normal(z, in.rng);
  ad::Tensor<T> noisy = in.x;
  for (int64_t i = 0; i < noisy.numel(); ++i) noisy[i] += static_cast<T>(sigma_) * z[i];
  const ad::Var<T> xt = in.tape.variable(noisy);
  const ad::Var<T> zv = in.tape.constant(z);
  const ad::Var<T> g = ad::grad(ad::sum(in.model.energy(in.theta, xt)), xt, true);
  const ad::Var<T> dsm = 0.5 * ad::sum(ad::square(g - zv / sigma_), 1);
  if (!control_variate_) return {ad::mean(dsm), {mean_term("dsm", dsm)}};

  const ad::Var<T> x = in.tape.variable(in.x);
  const ad::Var<T> g0 = ad::grad(ad::sum(in.model.energy(in.theta, x)), x, true);
  const double d = static_cast<double>(s[1]);
  // c = −(2/σ) zᵀ∇E(x) + ‖z‖²/σ² − d/σ²
  const ad::Var<T> c = ad::sum(zv * g0, 1) * (-2.0 / sigma_) +
                       (ad::sum(ad::square(zv), 1) - d) * (1.0 / (sigma_ * sigma_));
  const ad::Var<T> half_c = 0.5 * c;
  return {ad::mean(dsm - half_c), {mean_term("dsm", dsm), mean_term("control_variate", half_c)}};
}

std::vector<double> geometric_sigmas(double sigma_max, double sigma_min, int levels) {
  if (levels < 1 || !(sigma_min > 0) || !(sigma_max >= sigma_min))
    throw std::invalid_argument("geometric_sigmas: needs levels >= 1 and 0 < sigma_min <= sigma_max");
  std::vector<double> s;
  for (int i = 0; i < levels; ++i)
    s.push_back(levels == 1 ? sigma_max : sigma_max * std::pow(sigma_min / sigma_max, double(i) / double(levels - 1)));
  return s;
}

template <class T>
MultiScaleDenoisingScoreMatching<T>::MultiScaleDenoisingScoreMatching(std::vector<double> sigmas) : sigmas_(std::move(sigmas)) {
  if (sigmas_.empty()) throw std::invalid_argument("MultiScaleDenoisingScoreMatching: empty ladder");
  for (double s : sigmas_)
    if (!(s > 0)) throw std::invalid_argument("MultiScaleDenoisingScoreMatching: sigmas must be positive");
}

template <class T>
Loss<T> MultiScaleDenoisingScoreMatching<T>::loss(const LossInput<T>& in) {
  const auto* model = dynamic_cast<const NoiseConditionalEnergy<T>*>(&in.model);
  if (!model) throw std::invalid_argument("dsm_ladder: the model must be a NoiseConditionalEnergy, got " + in.model.name());
  const ad::Shape s = in.x.shape();
  const int64_t b = s[0], d = s[1];
  ad::Tensor<T> sig(ad::Shape{b}), z(s), noisy = in.x;
  for (int64_t n = 0; n < b; ++n) sig[n] = static_cast<T>(sigmas_[in.rng.below(sigmas_.size())]);
  ad::fill_normal(z, in.rng);
  for (int64_t n = 0; n < b; ++n)
    for (int64_t k = 0; k < d; ++k) noisy.at(n, k) += sig[n] * z.at(n, k);
  const ad::Var<T> xt = in.tape.variable(noisy);
  const ad::Var<T> sv = in.tape.constant(sig);
  const ad::Var<T> g = ad::grad(ad::sum(model->energy_at(in.theta, xt, sv)), xt, true);
  const ad::Var<T> scaled = g * ad::reshape(sv, ad::Shape{b, 1});  // σ_n ∇E(x̃_n, σ_n)
  const ad::Var<T> per = 0.5 * ad::sum(ad::square(scaled - in.tape.constant(z)), 1);
  return {ad::mean(per), {mean_term("dsm_weighted", per)}};
}

template class DenoisingScoreMatching<float>;
template class DenoisingScoreMatching<double>;
template class MultiScaleDenoisingScoreMatching<float>;
template class MultiScaleDenoisingScoreMatching<double>;

}  // namespace ebm
