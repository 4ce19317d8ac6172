#include "ebm/eval/fisher.hpp"

#include <cmath>
#include <stdexcept>

namespace ebm {

template <class T>
Estimate fisher_divergence(const Energy<T>& model, const ad::Tensor<T>& samples,
                           const std::function<ad::Tensor<T>(const ad::Tensor<T>&)>& target_score, int64_t batch) {
  if (samples.rank() != 2 || samples.cols() != model.dim() || samples.rows() < 2)
    throw ad::ShapeError("fisher_divergence: samples must be [n >= 2, " + std::to_string(model.dim()) + "], got " +
                         samples.shape().str());
  if (batch < 1) throw std::invalid_argument("fisher_divergence: batch must be positive");
  const int64_t n = samples.rows(), d = samples.cols();
  double sum = 0, sum_sq = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t b = std::min(batch, n - start);
    const ad::Tensor<T> x(ad::Shape{b, d}, samples.data() + start * d);
    const ad::Tensor<T> s_model = model.score(x);
    const ad::Tensor<T> s_true = target_score(x);
    if (s_true.shape() != x.shape()) throw ad::ShapeError("fisher_divergence: target score", s_true.shape(), x.shape());
    for (int64_t r = 0; r < b; ++r) {
      double q = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double diff = static_cast<double>(s_true.at(r, k)) - static_cast<double>(s_model.at(r, k));
        q += diff * diff;
      }
      sum += q;
      sum_sq += q * q;
    }
  }
  const double mean = sum / static_cast<double>(n);
  const double var = std::max(0.0, (sum_sq - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1));
  return {mean, std::sqrt(var / static_cast<double>(n)), n};
}

template Estimate fisher_divergence(const Energy<float>&, const ad::Tensor<float>&,
                                    const std::function<ad::Tensor<float>(const ad::Tensor<float>&)>&, int64_t);
template Estimate fisher_divergence(const Energy<double>&, const ad::Tensor<double>&,
                                    const std::function<ad::Tensor<double>(const ad::Tensor<double>&)>&, int64_t);

}  // namespace ebm
