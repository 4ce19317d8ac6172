#pragma once
// Adam, computed as torch.optim.Adam (t counts updates from 1, m = v = 0 initially):
//   g ← g + wd·θ                                  (L2 weight decay, torch's `weight_decay`)
//   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
//   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
// With decoupled_weight_decay (AdamW) the decay is θ ← θ(1 − lr·wd) before the update instead.
// Scalars (bias corrections, step size) are computed in double and the elementwise update in T, as torch does
// for float32 parameters.
#include "ebm/optim/optimizer.hpp"

namespace ebm {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;
};

template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(LrSchedule schedule, AdamOptions options = {});
  /// First and second moments, one per parameter (empty before the first step); the step count is steps().
  struct State {
    int64_t step = 0;
    std::vector<ad::Tensor<T>> m, v;
  };
  State state() const { return {this->steps(), m_, v_}; }
  void set_state(State s);
  const AdamOptions& options() const { return opt_; }
  typename Optimizer<T>::StateLists state_lists() override { return {{"m", &m_}, {"v", &v_}}; }

 protected:
  void update(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads, double lr,
              int64_t t) override;

 private:
  AdamOptions opt_;
  std::vector<ad::Tensor<T>> m_, v_;
};

extern template class Adam<float>;
extern template class Adam<double>;

}  // namespace ebm
