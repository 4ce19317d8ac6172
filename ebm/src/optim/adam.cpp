#include "ebm/optim/adam.hpp"

#include <cmath>
#include <stdexcept>

namespace ebm {

template <class T>
Adam<T>::Adam(LrSchedule schedule, AdamOptions options) : Optimizer<T>(schedule), opt_(options) {
  if (!(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1))
    throw std::invalid_argument("Adam: betas must lie in [0, 1)");
}

template <class T>
void Adam<T>::set_state(State s) {
  if (s.m.size() != s.v.size()) throw std::invalid_argument("Adam::set_state: m and v differ in length");
  this->set_steps(s.step);
  m_ = std::move(s.m);
  v_ = std::move(s.v);
}

template <class T>
void Adam<T>::update(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads, double lr,
                     int64_t t) {
  if (m_.empty()) {
    for (const ad::Tensor<T>* p : params) {
      m_.emplace_back(p->shape(), T(0));
      v_.emplace_back(p->shape(), T(0));
    }
  }
  if (m_.size() != params.size() || v_.size() != params.size())  // v_ too: a restored state may hold only one
    throw std::invalid_argument("Adam: the parameter list changed length");
  const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(t));
  const T step_size = static_cast<T>(lr / bc1), bc2_sqrt = static_cast<T>(std::sqrt(bc2));
  const T b1 = static_cast<T>(opt_.beta1), b2 = static_cast<T>(opt_.beta2);
  const T c1 = static_cast<T>(1.0 - opt_.beta1), c2 = static_cast<T>(1.0 - opt_.beta2);
  const T eps = static_cast<T>(opt_.eps), wd = static_cast<T>(opt_.weight_decay);
  const T decay = static_cast<T>(1.0 - lr * opt_.weight_decay);
  for (size_t k = 0; k < params.size(); ++k) {
    ad::Tensor<T>& p = *params[k];
    ad::Tensor<T>& m = m_[k];
    ad::Tensor<T>& v = v_[k];
    if (m.shape() != p.shape()) throw ad::ShapeError("Adam: parameter " + std::to_string(k) + " changed shape");
    const ad::Tensor<T>& g0 = grads[k];
    for (int64_t i = 0; i < p.numel(); ++i) {
      T g = g0[i];
      if (opt_.weight_decay != 0) {
        if (opt_.decoupled_weight_decay) p[i] *= decay;
        else g += wd * p[i];
      }
      m[i] = b1 * m[i] + c1 * g;
      v[i] = b2 * v[i] + c2 * g * g;
      const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      p[i] -= step_size * (m[i] / denom);
    }
  }
}

template class Adam<float>;
template class Adam<double>;

}  // namespace ebm
