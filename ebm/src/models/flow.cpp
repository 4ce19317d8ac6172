#include "ebm/models/flow.hpp"

#include <stdexcept>
#include <utility>

namespace ebm {

template <class T>
CouplingFlow<T>::CouplingFlow(int64_t d, int layers, std::vector<int64_t> hidden, Activation act, ad::Rng& rng,
                              const std::string& prefix)
    : d_(d), layers_(layers), act_(act) {
  if (d < 1) throw std::invalid_argument("CouplingFlow: d must be at least 1");
  if (layers < 0) throw std::invalid_argument("CouplingFlow: layers must be >= 0");
  if (layers > 0 && d < 2) throw std::invalid_argument("CouplingFlow: coupling layers need d >= 2 (use layers = 0 in 1-D)");
  widths_.push_back(d);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(d);
  for (int k = 0; k < layers; ++k)
    for (const char* net : {"S", "T"}) {
      std::vector<Param<T>> p = mlp_init<T>(widths_, rng, prefix + net + std::to_string(k) + ".");
      for (T& w : p[p.size() - 2].value) w = T(0);  // last weight zero: the layer starts as the identity
      init_.insert(init_.end(), p.begin(), p.end());
    }
  init_.push_back({prefix + "loc", ad::Tensor<T>(ad::Shape{d}, T(0))});
  init_.push_back({prefix + "log_scale", ad::Tensor<T>(ad::Shape{d}, T(0))});
}

template <class T>
std::pair<ad::Var<T>, ad::Var<T>> CouplingFlow<T>::coupling(const std::vector<ad::Var<T>>& params, size_t first, int k,
                                                            const ad::Var<T>& v) const {
  ad::Tape<T>& tape = v.tape();
  ad::Tensor<T> keep(ad::Shape{d_}), move(ad::Shape{d_});
  for (int64_t i = 0; i < d_; ++i) {
    keep[i] = static_cast<T>((i + k) % 2 == 0);
    move[i] = T(1) - keep[i];
  }
  const ad::Var<T> m = tape.constant(keep), one_minus_m = tape.constant(move);
  const ad::Var<T> cond = v * m;
  const size_t per_net = 2 * (widths_.size() - 1);
  const size_t s_first = first + static_cast<size_t>(2 * k) * per_net, t_first = s_first + per_net;
  const ad::Var<T> s = ad::tanh(mlp_forward(params, s_first, widths_.size() - 1, cond, act_)) * one_minus_m;
  const ad::Var<T> t = mlp_forward(params, t_first, widths_.size() - 1, cond, act_) * one_minus_m;
  return {s, t};
}

template <class T>
FlowOutput<T> CouplingFlow<T>::forward(const std::vector<ad::Var<T>>& params, size_t first, const ad::Var<T>& z) const {
  if (params.size() < first + init_.size()) throw std::invalid_argument("CouplingFlow::forward: too few parameters");
  if (z.shape().rank() != 2 || z.shape()[1] != d_) throw ad::ShapeError("CouplingFlow::forward: z is " + z.shape().str());
  ad::Var<T> y = z;
  ad::Var<T> log_det = z.tape().constant(ad::Shape{z.shape()[0]}, T(0));
  for (int k = 0; k < layers_; ++k) {
    const auto [s, t] = coupling(params, first, k, y);
    y = y * ad::exp(s) + t;
    log_det = log_det + ad::sum(s, 1);
  }
  const ad::Var<T>& loc = params[first + init_.size() - 2];
  const ad::Var<T>& log_scale = params[first + init_.size() - 1];
  y = loc + ad::exp(log_scale) * y;
  log_det = log_det + ad::sum(log_scale);  // the same for every row (broadcast)
  return {y, log_det};
}

template <class T>
FlowOutput<T> CouplingFlow<T>::inverse(const std::vector<ad::Var<T>>& params, size_t first, const ad::Var<T>& y) const {
  if (params.size() < first + init_.size()) throw std::invalid_argument("CouplingFlow::inverse: too few parameters");
  if (y.shape().rank() != 2 || y.shape()[1] != d_) throw ad::ShapeError("CouplingFlow::inverse: y is " + y.shape().str());
  const ad::Var<T>& loc = params[first + init_.size() - 2];
  const ad::Var<T>& log_scale = params[first + init_.size() - 1];
  ad::Var<T> z = (y - loc) * ad::exp(-log_scale);
  ad::Var<T> log_det = y.tape().constant(ad::Shape{y.shape()[0]}, T(0)) + ad::sum(log_scale);
  for (int k = layers_ - 1; k >= 0; --k) {
    const auto [s, t] = coupling(params, first, k, z);  // z's kept coordinates are the layer's input's
    z = (z - t) * ad::exp(-s);
    log_det = log_det + ad::sum(s, 1);
  }
  return {z, log_det};
}

template class CouplingFlow<float>;
template class CouplingFlow<double>;

}  // namespace ebm
