#pragma once
// Optimiser interface, learning-rate schedules and gradient clipping.
//
// An optimiser updates a fixed list of tensors in place from their gradients. Its state (moments, buffers,
// step count) is keyed by position in that list, so pass the same tensors in the same order on every step
// (parameter_list() builds the list for a model plus an objective's extra parameters).
// The learning rate of step t (t = 0 for the first update) is schedule.at(t).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ebm/enum_names.hpp"
#include "ebm/models/energy.hpp"

namespace ebm {

template <class T>
class Objective;

/// constant:  lr
/// step:      lr · gamma^⌊t / step_size⌋                                  (torch StepLR)
/// cosine:    min_lr + ½(lr − min_lr)(1 + cos(π t / total_steps)) for t < total_steps, then min_lr
///            (torch CosineAnnealingLR for one half-period; it is held at min_lr afterwards, not restarted)
/// warmup:    if warmup_steps > 0, the rate above is multiplied by (t + 1)/warmup_steps while t < warmup_steps.
struct LrSchedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::constant;
  double lr = 1e-3;
  int64_t step_size = 1000;
  double gamma = 0.1;
  int64_t total_steps = 1000;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;

  double at(int64_t t) const;
};
/// The schedules' names, as configs spell them.
inline constexpr EnumName<LrSchedule::Kind> kLrScheduleNames[] = {
    {"constant", LrSchedule::Kind::constant}, {"step", LrSchedule::Kind::step}, {"cosine", LrSchedule::Kind::cosine}};
LrSchedule constant_lr(double lr);
LrSchedule step_lr(double lr, int64_t step_size, double gamma);
LrSchedule cosine_lr(double lr, int64_t total_steps, double min_lr = 0.0);

template <class T>
class Optimizer {
 public:
  explicit Optimizer(LrSchedule schedule) : schedule_(schedule) {}
  virtual ~Optimizer() = default;
  /// One update: params[k] -= (rule)(grads[k]). Throws on count or shape mismatch.
  void step(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads);
  /// Number of updates done so far.
  int64_t steps() const { return steps_; }
  void set_steps(int64_t t) { steps_ = t; }
  /// The rate the next update will use.
  double next_lr() const { return schedule_.at(steps_); }
  LrSchedule& schedule() { return schedule_; }
  /// The optimiser's state besides steps(): named lists with one tensor per parameter (Adam's "m" and "v", SGD's
  /// "momentum"), each empty before the first update. A checkpoint stores every list under its name and restores
  /// it in place through these pointers, so the optimiser alone says what its state is and the checkpoint code
  /// needs to know no optimiser by type. The pointers stay valid while the optimiser lives.
  using StateLists = std::vector<std::pair<std::string, std::vector<ad::Tensor<T>>*>>;
  virtual StateLists state_lists() { return {}; }

 protected:
  /// `t` counts updates from 1 (the first update has t = 1), as torch's Adam does.
  virtual void update(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads, double lr,
                      int64_t t) = 0;

 private:
  LrSchedule schedule_;
  int64_t steps_ = 0;
};

/// Pointers to the model's parameter tensors, followed by the objective's extra parameters (if given).
template <class T>
std::vector<ad::Tensor<T>*> parameter_list(Energy<T>& model, Objective<T>* objective = nullptr);

/// Scales every gradient by max_norm / (‖g‖ + 1e-6) when the global norm ‖g‖ (over all tensors) exceeds
/// max_norm, like torch.nn.utils.clip_grad_norm_. Returns the norm before clipping.
template <class T>
double clip_grad_norm(std::vector<ad::Tensor<T>>& grads, double max_norm);
/// The global L2 norm of a list of tensors.
template <class T>
double global_norm(const std::vector<ad::Tensor<T>>& grads);

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace ebm
