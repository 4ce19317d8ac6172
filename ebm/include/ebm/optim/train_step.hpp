#pragma once
// One training step: loss and gradients of an objective on a batch (model parameters and the objective's
// extra parameters together), optional global-norm clipping, one optimiser update.
#include "ebm/objectives/objective.hpp"
#include "ebm/optim/optimizer.hpp"

namespace ebm {

struct StepReport {
  double loss = 0;
  std::vector<Term> terms;
  double grad_norm = 0;  // global norm before clipping
  double lr = 0;         // the rate this update used
};

/// clip_norm <= 0 disables clipping. The optimiser sees parameter_list(model, &objective) in that order.
template <class T>
StepReport train_step(ad::Tape<T>& tape, Energy<T>& model, Objective<T>& objective, Optimizer<T>& optimizer,
                      const ad::Tensor<T>& x, ad::Rng& rng, double clip_norm = 0.0,
                      const std::vector<int64_t>* labels = nullptr);

}  // namespace ebm
