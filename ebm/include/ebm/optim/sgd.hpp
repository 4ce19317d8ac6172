#pragma once
// Stochastic gradient descent with momentum, as torch.optim.SGD:
//   g ← g + wd·θ;   buf ← g on the first step, else momentum·buf + (1 − dampening)·g;
//   g ← g + momentum·buf (Nesterov) or buf;   θ ← θ − lr·g.
#include "ebm/optim/optimizer.hpp"

namespace ebm {

struct SgdOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};

template <class T>
class Sgd : public Optimizer<T> {
 public:
  explicit Sgd(LrSchedule schedule, SgdOptions options = {});
  /// Momentum buffers, one per parameter (empty before the first step, and always without momentum).
  std::vector<ad::Tensor<T>>& momentum_buffers() { return buf_; }
  const SgdOptions& options() const { return opt_; }
  typename Optimizer<T>::StateLists state_lists() override { return {{"momentum", &buf_}}; }

 protected:
  void update(const std::vector<ad::Tensor<T>*>& params, const std::vector<ad::Tensor<T>>& grads, double lr,
              int64_t t) override;

 private:
  SgdOptions opt_;
  std::vector<ad::Tensor<T>> buf_;
};

extern template class Sgd<float>;
extern template class Sgd<double>;

}  // namespace ebm
