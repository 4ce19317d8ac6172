#pragma once
// One training step, the one `ebm run`'s loop takes: the sharded loss and gradients of a batch (model parameters,
// then the objective's extra parameters), the global gradient norm with optional clipping, one optimiser update.
#include <functional>
#include <string>
#include <vector>

#include "ebm/optim/optimizer.hpp"
#include "ebm/optim/sharded_objective.hpp"

namespace ebm {

struct StepReport {
  double loss = 0;
  std::vector<Term> terms;
  double grad_norm = 0;  // global norm before clipping; 0 when neither clipping nor the caller asked for it
  double lr = 0;         // the rate this update used
  bool finite = true;    // loss, norm and updated parameters all finite; false: the update may be partial or skipped
};

template <class T>
struct StepOptions {
  double clip_norm = 0;    // > 0: clip the global gradient norm to this (clip_grad_norm)
  bool want_norm = true;   // compute grad_norm even without clipping (a full pass over the gradients)
  /// Runs each phase of the step, "training" (loss and gradients) and "training.update"; the runner names
  /// failures by phase through it. Default: calls the phase.
  std::function<void(const std::string& phase, const std::function<void()>& run)> phase = {};
  /// Sees the gradients before the update (the runner's fault injection).
  std::function<void(std::vector<ad::Tensor<T>>& grads)> after_gradients = {};
  /// Runs on another thread while the update runs (the runner draws the next batch there: Note [Batch drawn
  /// during the update] in the runner). Must not touch the parameters.
  std::function<void()> alongside_update = {};
};

/// `rng` is the step's stream (ShardedObjective::loss_and_grad). The optimiser updates parameter_list(model,
/// &objective.objective()). A non-finite loss or gradient skips the update; report.finite says whether the
/// step is good, and the caller decides what to do with a bad one (the runner restores its last good state).
template <class T>
StepReport train_step(ShardedObjective<T>& objective, Energy<T>& model, Optimizer<T>& optimizer, const ad::Tensor<T>& x,
                      const ad::Rng& rng, const StepOptions<T>& options = {}, const std::vector<int64_t>* labels = nullptr);

}  // namespace ebm
