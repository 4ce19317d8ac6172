#include "ebm/models/composite.hpp"

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
NoiseConditionalEnergy<T>::NoiseConditionalEnergy(std::unique_ptr<Energy<T>> inner, Conditioning how, double default_sigma)
    : inner_(std::move(inner)), how_(how), default_sigma_(default_sigma) {
  if (!inner_) throw std::invalid_argument("NoiseConditionalEnergy: null inner energy");
  if (how != Conditioning::scale && inner_->dim() < 2)
    throw std::invalid_argument("NoiseConditionalEnergy: a sigma column needs an inner energy over d + 1 >= 2 columns");
  if (!(default_sigma > 0)) throw std::invalid_argument("NoiseConditionalEnergy: default sigma must be positive");
  this->params_ = inner_->params();
}

template <class T>
NoiseConditionalEnergy<T>::NoiseConditionalEnergy(const NoiseConditionalEnergy& other)
    : Energy<T>(other), inner_(other.inner_->clone()), how_(other.how_), default_sigma_(other.default_sigma_) {}

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
  const ad::Var<T> e = inner_->energy(params, ad::transpose(ad::concat_rows<T>({ad::transpose(x), col})));
  return how_ == Conditioning::column_and_scale ? e / ad::reshape(sigma, ad::Shape{b}) : e;
}

template class SumEnergy<float>;
template class SumEnergy<double>;
template class NoiseConditionalEnergy<float>;
template class NoiseConditionalEnergy<double>;

}  // namespace ebm
