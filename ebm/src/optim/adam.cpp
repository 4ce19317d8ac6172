#include "ebm/optim/adam.hpp"

#include <cmath>
#include <stdexcept>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace ebm {

namespace {
constexpr int64_t kParallelUpdate = int64_t{1} << 19;  // elements: Note [Parallel update]
}  // namespace

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
  const int mode = opt_.weight_decay == 0 ? 0 : opt_.decoupled_weight_decay ? 2 : 1;
  for (size_t k = 0; k < params.size(); ++k) {
    ad::Tensor<T>& p = *params[k];
    ad::Tensor<T>& m = m_[k];
    ad::Tensor<T>& v = v_[k];
    if (m.shape() != p.shape()) throw ad::ShapeError("Adam: parameter " + std::to_string(k) + " changed shape");
    T* __restrict pp = p.data();
    T* __restrict mp = m.data();
    T* __restrict vp = v.data();
    const T* __restrict gp = grads[k].data();
    // Elementwise, so any split of the range gives the same bits. The weight-decay mode is decided outside the
    // loop, and adam.cpp is compiled without errno for sqrt (CMakeLists.txt), so the loop vectorises.
    auto range = [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T g = gp[i];
        if (mode == 1) g += wd * pp[i];
        if (mode == 2) pp[i] *= decay;
        mp[i] = b1 * mp[i] + c1 * g;
        vp[i] = b2 * vp[i] + c2 * g * g;
        const T denom = std::sqrt(vp[i]) / bc2_sqrt + eps;
        pp[i] -= step_size * (mp[i] / denom);
      }
    };
    // Note [Parallel update]: a serial update of a million parameters (an MLP on images) takes milliseconds while
    // the other core waits; smaller tensors (an RBM's weights) stay serial, where waking a sleeping worker at
    // every step cost more than it saved.
    const int64_t n = p.numel();
    if (n < kParallelUpdate) {
      range(0, n);
    } else {
      tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, kParallelUpdate / 4),
                        [&](const tbb::blocked_range<int64_t>& r) { range(r.begin(), r.end()); }, tbb::simple_partitioner());
    }
  }
}

template class Adam<float>;
template class Adam<double>;

}  // namespace ebm
