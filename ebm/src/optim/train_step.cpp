#include "ebm/optim/train_step.hpp"

namespace ebm {

template <class T>
StepReport train_step(ad::Tape<T>& tape, Energy<T>& model, Objective<T>& objective, Optimizer<T>& optimizer,
                      const ad::Tensor<T>& x, ad::Rng& rng, double clip_norm, const std::vector<int64_t>* labels) {
  LossAndGrad<T> r = loss_and_grad(tape, model, objective, x, rng, labels);
  std::vector<ad::Tensor<T>> grads = std::move(r.grad_theta);
  for (ad::Tensor<T>& g : r.grad_extra) grads.push_back(std::move(g));
  StepReport rep;
  rep.loss = r.loss;
  rep.terms = std::move(r.terms);
  rep.grad_norm = clip_norm > 0 ? clip_grad_norm(grads, clip_norm) : global_norm(grads);
  rep.lr = optimizer.next_lr();
  optimizer.step(parameter_list(model, &objective), grads);
  return rep;
}

template StepReport train_step(ad::Tape<float>&, Energy<float>&, Objective<float>&, Optimizer<float>&, const ad::Tensor<float>&,
                               ad::Rng&, double, const std::vector<int64_t>*);
template StepReport train_step(ad::Tape<double>&, Energy<double>&, Objective<double>&, Optimizer<double>&,
                               const ad::Tensor<double>&, ad::Rng&, double, const std::vector<int64_t>*);

}  // namespace ebm
