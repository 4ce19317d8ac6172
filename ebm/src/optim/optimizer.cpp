#include "ebm/optim/optimizer.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "ebm/objectives/objective.hpp"

namespace ebm {

double LrSchedule::at(int64_t t) const {
  double r = lr;
  switch (kind) {
    case Kind::constant: break;
    case Kind::step:
      if (step_size < 1) throw std::invalid_argument("LrSchedule: step_size must be positive");
      r = lr * std::pow(gamma, static_cast<double>(t / step_size));
      break;
    case Kind::cosine:
      if (total_steps < 1) throw std::invalid_argument("LrSchedule: total_steps must be positive");
      r = t >= total_steps ? min_lr
                           : min_lr + 0.5 * (lr - min_lr) *
                                          (1.0 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(total_steps)));
      break;
  }
  if (warmup_steps > 0 && t < warmup_steps) r *= static_cast<double>(t + 1) / static_cast<double>(warmup_steps);
  return r;
}

LrSchedule constant_lr(double lr) {
  LrSchedule s;
  s.lr = lr;
  return s;
}

LrSchedule step_lr(double lr, int64_t step_size, double gamma) {
  LrSchedule s;
  s.kind = LrSchedule::Kind::step;
  s.lr = lr;
  s.step_size = step_size;
  s.gamma = gamma;
  return s;
}

LrSchedule cosine_lr(double lr, int64_t total_steps, double min_lr) {
  LrSchedule s;
  s.kind = LrSchedule::Kind::cosine;
  s.lr = lr;
  s.total_steps = total_steps;
  s.min_lr = min_lr;
  return s;
}

template <class T>
void Optimizer<T>::step(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads) {
  if (params.size() != grads.size())
    throw std::invalid_argument("Optimizer::step: " + std::to_string(params.size()) + " parameters but " +
                                std::to_string(grads.size()) + " gradients");
  for (size_t k = 0; k < params.size(); ++k)
    if (!params[k] || params[k]->shape() != grads[k].shape())
      throw ad::ShapeError("Optimizer::step: parameter " + std::to_string(k) + " and its gradient differ in shape");
  const double lr = schedule_.at(steps_);
  ++steps_;
  update(params, grads, lr, steps_);
}

template <class T>
std::vector<ad::Tensor<T>*> parameter_list(Energy<T>& model, Objective<T>* objective) {
  std::vector<ad::Tensor<T>*> out;
  for (Param<T>& p : model.params()) out.push_back(&p.value);
  if (objective)
    for (Param<T>& p : objective->extra_params()) out.push_back(&p.value);
  return out;
}

template <class T>
double global_norm(const std::vector<ad::Tensor<T>>& grads) {
  // Eight partial sums (element i into sum i mod 8), added in a fixed order: independent chains of additions that
  // vectorise, where a single running sum waits on each addition's latency.
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (const ad::Tensor<T>& g : grads) {
    const T* v = g.data();
    const int64_t n = g.numel();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; ++l) part[l] += static_cast<double>(v[i + l]) * static_cast<double>(v[i + l]);
    for (; i < n; ++i) part[i % 8] += static_cast<double>(v[i]) * static_cast<double>(v[i]);
  }
  const double s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  return std::sqrt(s);
}

template <class T>
double clip_grad_norm(std::vector<ad::Tensor<T>>& grads, double max_norm) {
  const double norm = global_norm(grads);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (ad::Tensor<T>& g : grads)
      for (T& v : g) v = static_cast<T>(static_cast<double>(v) * coef);
  return norm;
}

#define EBM_INSTANTIATE(T)                                                             \
  template class Optimizer<T>;                                                         \
  template std::vector<ad::Tensor<T>*> parameter_list(Energy<T>&, Objective<T>*);      \
  template double global_norm(const std::vector<ad::Tensor<T>>&);                      \
  template double clip_grad_norm(std::vector<ad::Tensor<T>>&, double);
EBM_INSTANTIATE(float)
EBM_INSTANTIATE(double)
#undef EBM_INSTANTIATE

}  // namespace ebm
