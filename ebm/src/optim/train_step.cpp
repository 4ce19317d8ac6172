#include "ebm/optim/train_step.hpp"

#include <cmath>

#include <tbb/parallel_invoke.h>

#include "autodiff/finite.hpp"

namespace ebm {

namespace {

template <class T>
bool all_finite(const std::vector<ad::Tensor<T>*>& ts) {
  for (const ad::Tensor<T>* t : ts)
    if (!ad::all_finite(t->data(), t->numel())) return false;
  return true;
}

}  // namespace

template <class T>
StepReport train_step(ShardedObjective<T>& objective, Energy<T>& model, Optimizer<T>& optimizer, const ad::Tensor<T>& x,
                      const ad::Rng& rng, const StepOptions<T>& options, const std::vector<int64_t>* labels) {
  auto phase = [&](const std::string& name, const std::function<void()>& run) {
    if (options.phase) options.phase(name, run);
    else run();
  };
  StepReport rep;
  rep.lr = optimizer.next_lr();
  std::vector<ad::Tensor<T>> grads;
  phase("training", [&] {
    LossAndGrad<T> lg = objective.loss_and_grad(model, x, rng, labels);
    rep.loss = lg.loss;
    rep.terms = std::move(lg.terms);
    grads = std::move(lg.grad_theta);
    for (ad::Tensor<T>& g : lg.grad_extra) grads.push_back(std::move(g));
  });
  if (options.after_gradients) options.after_gradients(grads);
  // The norm is a full pass over the gradients, so it is computed only when wanted; a non-finite gradient is still
  // caught without it, by the parameters' check after the update.
  rep.grad_norm = options.clip_norm > 0 ? clip_grad_norm(grads, options.clip_norm) : options.want_norm ? global_norm(grads) : 0.0;
  rep.finite = std::isfinite(rep.loss) && std::isfinite(rep.grad_norm);
  if (!rep.finite) return rep;
  const std::vector<ad::Tensor<T>*> params = parameter_list(model, &objective.objective());
  auto update = [&] {
    phase("training.update", [&] { optimizer.step(params, grads); });
    rep.finite = all_finite(params);
  };
  if (options.alongside_update) tbb::parallel_invoke(update, options.alongside_update);
  else update();
  return rep;
}

template StepReport train_step(ShardedObjective<float>&, Energy<float>&, Optimizer<float>&, const ad::Tensor<float>&,
                               const ad::Rng&, const StepOptions<float>&, const std::vector<int64_t>*);
template StepReport train_step(ShardedObjective<double>&, Energy<double>&, Optimizer<double>&, const ad::Tensor<double>&,
                               const ad::Rng&, const StepOptions<double>&, const std::vector<int64_t>*);

}  // namespace ebm
