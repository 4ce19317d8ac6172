#include "ebm/models/composite.hpp"

#include <cmath>

#include <stdexcept>

namespace ebm {

// ---- SumEnergy ----

template <class T>
SumEnergy<T>::SumEnergy(std::vector<std::unique_ptr<Energy<T>>> experts, std::vector<double> weights, double temperature)
    : experts_(std::move(experts)), weights_(std::move(weights)), temperature_(temperature) {
  if (experts_.empty()) throw std::invalid_argument("SumEnergy: needs at least one expert");
  if (weights_.empty()) weights_.assign(experts_.size(), 1.0);
  if (weights_.size() != experts_.size()) throw std::invalid_argument("SumEnergy: one weight per expert");
  if (!(temperature_ > 0)) throw std::invalid_argument("SumEnergy: temperature must be positive");
  for (size_t k = 0; k < experts_.size(); ++k) {
    if (!experts_[k]) throw std::invalid_argument("SumEnergy: null expert");
    if (experts_[k]->dim() != experts_[0]->dim()) throw std::invalid_argument("SumEnergy: experts differ in dim()");
    offset_.push_back(this->params_.size());
    // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on "e" + std::to_string(k) + ...
    for (const Param<T>& p : experts_[k]->params()) {
      std::string name = "e";
      name.append(std::to_string(k)).append(".").append(p.name);
      this->params_.push_back({std::move(name), p.value});
    }
  }
}

template <class T>
SumEnergy<T>::SumEnergy(const SumEnergy& other)
    : Energy<T>(other), offset_(other.offset_), weights_(other.weights_), temperature_(other.temperature_) {
  for (const auto& e : other.experts_) experts_.push_back(e->clone());
}

template <class T>
ad::Var<T> SumEnergy<T>::energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  this->check_call(params, x);
  ad::Var<T> total;
  for (size_t k = 0; k < experts_.size(); ++k) {
    const auto first = params.begin() + static_cast<std::ptrdiff_t>(offset_[k]);
    const std::vector<ad::Var<T>> sub(first, first + static_cast<std::ptrdiff_t>(experts_[k]->params().size()));
    const ad::Var<T> e = experts_[k]->energy(sub, x) * (weights_[k] / temperature_);
    total = total.defined() ? total + e : e;
  }
  return total;
}

template <class T>
std::unique_ptr<Energy<T>> SumEnergy<T>::expert_snapshot(size_t k) const {
  std::unique_ptr<Energy<T>> e = experts_.at(k)->clone();
  for (size_t j = 0; j < e->params().size(); ++j) e->params()[j].value = this->params_[offset_[k] + j].value;
  return e;
}

// ---- NoiseConditionalEnergy ----

template <class T>
NoiseConditionalEnergy<T>::NoiseConditionalEnergy(std::unique_ptr<Energy<T>> inner, Conditioning how, double default_sigma,
                                                  double data_mean, double data_sd)
    : inner_(std::move(inner)), how_(how), default_sigma_(default_sigma), data_mean_(data_mean), data_sd_(data_sd) {
  if (!(data_sd > 0) || !std::isfinite(data_mean)) throw std::invalid_argument("NoiseConditionalEnergy: data sd must be positive, the mean finite");
  if (!inner_) throw std::invalid_argument("NoiseConditionalEnergy: null inner energy");
  if (how != Conditioning::scale && inner_->dim() < 2)
    throw std::invalid_argument("NoiseConditionalEnergy: a sigma column needs an inner energy over d + 1 >= 2 columns");
  if (!(default_sigma > 0)) throw std::invalid_argument("NoiseConditionalEnergy: default sigma must be positive");
  this->params_ = inner_->params();
}

template <class T>
NoiseConditionalEnergy<T>::NoiseConditionalEnergy(const NoiseConditionalEnergy& other)
    : Energy<T>(other), inner_(other.inner_->clone()), how_(other.how_), default_sigma_(other.default_sigma_),
      data_mean_(other.data_mean_), data_sd_(other.data_sd_) {}

template <class T>
ad::Var<T> NoiseConditionalEnergy<T>::energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  return energy_at(params, x, x.tape().constant(ad::Shape{x.shape()[0]}, static_cast<T>(default_sigma_)));
}

template <class T>
ad::Var<T> NoiseConditionalEnergy<T>::energy_at(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x,
                                                const ad::Var<T>& sigma) const {
  this->check_call(params, x);
  const int64_t b = x.shape()[0];
  if (sigma.numel() != b) throw ad::ShapeError("NoiseConditionalEnergy::energy_at", x.shape(), sigma.shape());
  if (how_ == Conditioning::scale) return inner_->energy(params, x) / ad::reshape(sigma, ad::Shape{b});
  // [x, log σ]: the engine concatenates along rows only, so concatenate the transposes.
  const ad::Var<T> col = ad::reshape(ad::log(sigma), ad::Shape{1, b});
  if (how_ == Conditioning::preconditioned) {
    const ad::Var<T> s = ad::reshape(sigma, ad::Shape{b});
    const ad::Var<T> v = ad::square(s) + data_sd_ * data_sd_;  // σ² + σ_d², [B]
    const ad::Var<T> xc = x - data_mean_;
    const ad::Var<T> x_in = xc / ad::reshape(ad::sqrt(v), ad::Shape{b, 1});
    const ad::Var<T> inner = inner_->energy(params, ad::transpose(ad::concat_rows<T>({ad::transpose(x_in), col})));
    return ad::sum(ad::square(xc), 1) / (v * 2.0) - inner * data_sd_ / (s * ad::sqrt(v));
  }
  const ad::Var<T> e = inner_->energy(params, ad::transpose(ad::concat_rows<T>({ad::transpose(x), col})));
  return how_ == Conditioning::column_and_scale ? e / ad::reshape(sigma, ad::Shape{b}) : e;
}

template class SumEnergy<float>;
template class SumEnergy<double>;
template class NoiseConditionalEnergy<float>;
template class NoiseConditionalEnergy<double>;

}  // namespace ebm
