#include "ebm/models/mlp.hpp"

#include "ebm/models/classifier.hpp"

#include <cmath>
#include <stdexcept>

namespace ebm {

std::string to_string(Activation a) { return std::string(enum_name(kActivationNames, a)); }

Activation activation_from_string(std::string_view s) { return parse_enum(kActivationNames, s, "activation"); }

template <class T>
ad::Var<T> activate(const ad::Var<T>& x, Activation a) {
  switch (a) {
    case Activation::tanh: return ad::tanh(x);
    case Activation::silu: return ad::silu(x);
    case Activation::softplus: return ad::softplus(x);
    case Activation::elu: return ad::elu(x);
    case Activation::relu: return ad::relu(x);
    case Activation::sigmoid: return ad::sigmoid(x);
  }
  throw std::invalid_argument("activate: bad activation");
}

template <class T>
std::vector<Param<T>> mlp_init(const std::vector<int64_t>& widths, ad::Rng& rng, const std::string& prefix) {
  if (widths.size() < 2) throw std::invalid_argument("mlp_init: needs at least input and output widths");
  std::vector<Param<T>> params;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    if (widths[l] < 1 || widths[l + 1] < 1) throw std::invalid_argument("mlp_init: widths must be positive");
    ad::Tensor<T> w(ad::Shape{widths[l], widths[l + 1]});
    ad::fill_normal(w, rng, T(0), static_cast<T>(1.0 / std::sqrt(static_cast<double>(widths[l]))));
    params.push_back({prefix + "W" + std::to_string(l), std::move(w)});
    params.push_back({prefix + "b" + std::to_string(l), ad::Tensor<T>(ad::Shape{widths[l + 1]}, T(0))});
  }
  return params;
}

template <class T>
ad::Var<T> mlp_forward(const std::vector<ad::Var<T>>& params, size_t first, size_t layers, const ad::Var<T>& x,
                       Activation act) {
  if (params.size() < first + 2 * layers) throw std::invalid_argument("mlp_forward: too few parameters");
  ad::Var<T> h = x;
  for (size_t l = 0; l < layers; ++l) {
    h = ad::matmul(h, params[first + 2 * l]) + params[first + 2 * l + 1];
    if (l + 1 < layers) h = activate(h, act);
  }
  return h;
}

template <class T>
MlpEnergy<T>::MlpEnergy(int64_t d, std::vector<int64_t> hidden, Activation act, ad::Rng& rng) : act_(act) {
  widths_.push_back(d);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(1);
  this->params_ = mlp_init<T>(widths_, rng);
}

template <class T>
ad::Var<T> MlpEnergy<T>::energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  this->check_call(params, x);
  const ad::Var<T> out = mlp_forward(params, 0, widths_.size() - 1, x, act_);  // [B, 1]
  return ad::reshape(out, ad::Shape{out.shape()[0]});
}

std::optional<std::string> score_matching_warning(Activation act, bool objective_uses_second_derivatives) {
  if (act == Activation::relu && objective_uses_second_derivatives)
    return std::string(
        "relu energy with a second-order score-matching objective: ∂²E/∂x² = 0 almost everywhere, so the "
        "trace/Hessian term vanishes and training only flattens the energy; use silu, softplus, tanh or elu");
  return std::nullopt;
}

template <class T>
std::optional<std::string> score_matching_warning(const Energy<T>& model, bool objective_uses_second_derivatives) {
  if (const auto* m = dynamic_cast<const MlpEnergy<T>*>(&model)) return score_matching_warning(m->activation(), objective_uses_second_derivatives);
  if (const auto* c = dynamic_cast<const ClassifierEnergy<T>*>(&model))
    return score_matching_warning(c->activation(), objective_uses_second_derivatives);
  return std::nullopt;
}

#define EBM_INSTANTIATE(T)                                                                                        \
  template ad::Var<T> activate(const ad::Var<T>&, Activation);                                                    \
  template std::vector<Param<T>> mlp_init(const std::vector<int64_t>&, ad::Rng&, const std::string&);             \
  template ad::Var<T> mlp_forward(const std::vector<ad::Var<T>>&, size_t, size_t, const ad::Var<T>&, Activation); \
  template class MlpEnergy<T>;                                                                                    \
  template std::optional<std::string> score_matching_warning(const Energy<T>&, bool);
EBM_INSTANTIATE(float)
EBM_INSTANTIATE(double)
#undef EBM_INSTANTIATE

}  // namespace ebm
