#include "ebm/models/energy.hpp"

#include <stdexcept>

namespace ebm {

template <class T>
std::vector<ad::Var<T>> bind_params(ad::Tape<T>& tape, const std::vector<Param<T>>& params, Bind how) {
  std::vector<ad::Var<T>> out;
  out.reserve(params.size());
  for (const Param<T>& p : params) out.push_back(how == Bind::variable ? tape.variable(p.value) : tape.constant(p.value));
  return out;
}

template <class T>
size_t Energy<T>::param_index(std::string_view name) const {
  for (size_t k = 0; k < params_.size(); ++k)
    if (params_[k].name == name) return k;
  throw std::out_of_range(this->name() + ": no parameter named '" + std::string(name) + "'");
}

template <class T>
ad::Tensor<T>& Energy<T>::param(std::string_view name) {
  return params_[param_index(name)].value;
}

template <class T>
const ad::Tensor<T>& Energy<T>::param(std::string_view name) const {
  return params_[param_index(name)].value;
}

template <class T>
int64_t Energy<T>::num_parameters() const {
  int64_t n = 0;
  for (const Param<T>& p : params_) n += p.value.numel();
  return n;
}

template <class T>
void Energy<T>::check_call(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  if (params.size() != params_.size())
    throw std::invalid_argument(name() + ": expected " + std::to_string(params_.size()) + " parameters, got " +
                                std::to_string(params.size()));
  for (size_t k = 0; k < params.size(); ++k)
    if (params[k].shape() != params_[k].value.shape())
      throw ad::ShapeError(name() + ": parameter '" + params_[k].name + "' bound with shape " + params[k].shape().str() +
                           ", expected " + params_[k].value.shape().str());
  if (x.rank() != 2 || x.shape()[1] != dim())
    throw ad::ShapeError(name() + ": x must be [B, " + std::to_string(dim()) + "], got " + x.shape().str());
}

template <class T>
ad::Var<T> Energy<T>::fixed_energy(const ad::Var<T>& x) const {
  return energy(bind_params(x.tape(), params_, Bind::constant), x);
}

template <class T>
ad::Tensor<T> Energy<T>::evaluate(const ad::Tensor<T>& x) const {
  ad::Tape<T> tape;
  typename ad::Tape<T>::NoGrad no_grad(tape);  // values only: nothing to differentiate
  return fixed_energy(tape.constant(x)).value();
}

template <class T>
ad::Tensor<T> Energy<T>::grad_energy(const ad::Tensor<T>& x) const {
  ad::Tape<T> tape;
  const ad::Var<T> xv = tape.variable(x);
  return ad::grad(ad::sum(fixed_energy(xv)), xv).value();
}

template <class T>
ad::Tensor<T> Energy<T>::score(const ad::Tensor<T>& x) const {
  ad::Tensor<T> g = grad_energy(x);
  for (T& v : g) v = -v;
  return g;
}

template std::vector<ad::Var<float>> bind_params(ad::Tape<float>&, const std::vector<Param<float>>&, Bind);
template std::vector<ad::Var<double>> bind_params(ad::Tape<double>&, const std::vector<Param<double>>&, Bind);
template class Energy<float>;
template class Energy<double>;

}  // namespace ebm
