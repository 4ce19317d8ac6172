#include "ebm/eval/pseudo_likelihood.hpp"
#include <autodiff/scalar.hpp>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ebm {
namespace {

using ad::scalar::log_sigmoid;
using ad::scalar::softplus;

void check_binary(const char* what, const ad::Tensor<double>& x, int64_t d) {
  if (x.rank() != 2 || x.cols() != d)
    throw std::invalid_argument(std::string(what) + ": expected [N, " + std::to_string(d) + "], got " + x.shape().str());
  for (int64_t k = 0; k < x.numel(); ++k)
    if (x[k] != 0.0 && x[k] != 1.0)
      throw std::invalid_argument(std::string(what) + ": the data must be 0/1; row " + std::to_string(k / d) + ", column " +
                                  std::to_string(k % d) + " holds " + std::to_string(x[k]));
}

}  // namespace

std::vector<int64_t> random_flip_indices(int64_t rows, int64_t d, ad::Rng& rng) {
  if (rows < 0 || d < 1) throw std::invalid_argument("random_flip_indices: needs rows >= 0 and d >= 1");
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (auto& i : out) i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(d)));
  return out;
}

ad::Tensor<double> pseudo_likelihood_one_bit(const Energy<double>& model, const ad::Tensor<double>& x,
                                             const std::vector<int64_t>& flip, int64_t chunk) {
  const int64_t d = model.dim();
  check_binary("pseudo_likelihood_one_bit", x, d);
  const int64_t n = x.rows();
  if (static_cast<int64_t>(flip.size()) != n)
    throw std::invalid_argument("pseudo_likelihood_one_bit: " + std::to_string(flip.size()) + " flip indices for " +
                                std::to_string(n) + " rows");
  for (int64_t i : flip)
    if (i < 0 || i >= d) throw std::invalid_argument("pseudo_likelihood_one_bit: flip index " + std::to_string(i) + " is not in [0, d)");
  if (chunk < 1) throw std::invalid_argument("pseudo_likelihood_one_bit: chunk must be >= 1");
  ad::Tensor<double> out(ad::Shape{n});
  for (int64_t lo = 0; lo < n; lo += chunk) {
    const int64_t m = std::min(chunk, n - lo);
    ad::Tensor<double> a(ad::Shape{m, d}, x.data() + lo * d);
    ad::Tensor<double> b = a;
    for (int64_t r = 0; r < m; ++r) {
      double& bit = b.data()[r * d + flip[static_cast<size_t>(lo + r)]];
      bit = 1.0 - bit;
    }
    const ad::Tensor<double> ea = model.evaluate(a), eb = model.evaluate(b);
    for (int64_t r = 0; r < m; ++r) out[lo + r] = double(d) * log_sigmoid(eb[r] - ea[r]);
  }
  return out;
}

ad::Tensor<double> pseudo_likelihood_all_bits(const BernoulliRbm<double>& rbm, const ad::Tensor<double>& x) {
  const int64_t v = rbm.visible(), h = rbm.hidden();
  check_binary("pseudo_likelihood_all_bits", x, v);
  const double* w = rbm.param("W").data();  // [V, H]
  const double* b = rbm.param("b").data();
  const double* c = rbm.param("c").data();
  const int64_t n = x.rows();
  ad::Tensor<double> out(ad::Shape{n});
  // F(x) = −bᵀx − Σ_j softplus(a_j), a = c + xᵀW. Flipping bit i (s = 1 − 2 x_i) moves a to a + s W_i· and
  // bᵀx by s b_i, so F(x̃) − F(x) = −s b_i − Σ_j (softplus(a_j + s W_ij) − softplus(a_j)).
  tbb::parallel_for(int64_t{0}, n, [&](int64_t r) {
    const double* xr = x.data() + r * v;
    std::vector<double> a(c, c + h), sp(static_cast<size_t>(h));
    for (int64_t i = 0; i < v; ++i)
      if (xr[i] != 0.0)
        for (int64_t j = 0; j < h; ++j) a[static_cast<size_t>(j)] += w[i * h + j];
    for (int64_t j = 0; j < h; ++j) sp[static_cast<size_t>(j)] = softplus(a[static_cast<size_t>(j)]);
    double total = 0;
    for (int64_t i = 0; i < v; ++i) {
      const double s = 1.0 - 2.0 * xr[i];
      double delta = -s * b[i];
      for (int64_t j = 0; j < h; ++j)
        delta -= softplus(a[static_cast<size_t>(j)] + s * w[i * h + j]) - sp[static_cast<size_t>(j)];
      total += log_sigmoid(delta);
    }
    out[r] = total;
  });
  return out;
}

}  // namespace ebm
