#include "ebm/eval/exact_samples.hpp"
#include <autodiff/scalar.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace ebm {
namespace {

using ad::scalar::sigmoid;
using ad::scalar::softplus;

}  // namespace

ad::Tensor<double> rbm_exact_samples(const BernoulliRbm<double>& rbm, int64_t n, uint64_t seed) {
  if (n < 0) throw std::invalid_argument("rbm_exact_samples: n must be non-negative");
  const int64_t nv = rbm.visible(), nh = rbm.hidden();
  const bool hidden_side = nh <= nv;  // enumerate the smaller layer
  const int64_t m = hidden_side ? nh : nv, o = hidden_side ? nv : nh;
  if (m > kMaxExactSampleUnits)
    throw std::invalid_argument("exact samples of an RBM need a layer of at most " + std::to_string(kMaxExactSampleUnits) +
                                " units (this one has " + std::to_string(nv) + " visible and " + std::to_string(nh) + " hidden)");
  const ad::Tensor<double>& w = rbm.param("W");  // [V, H]
  const ad::Tensor<double>& b = rbm.param("b");
  const ad::Tensor<double>& c = rbm.param("c");
  // In the enumerated layer's terms: weight(o_k, s_j), bias_s, bias_o.
  auto weight = [&](int64_t k, int64_t j) { return hidden_side ? w.at(k, j) : w.at(j, k); };
  const ad::Tensor<double>& bias_s = hidden_side ? c : b;
  const ad::Tensor<double>& bias_o = hidden_side ? b : c;

  // log p̃(s) for all 2^m states in Gray-code order: a = b_o + W s and bᵀs are updated by one unit per state.
  const uint64_t states = uint64_t{1} << m;
  std::vector<double> logp(states);
  std::vector<double> a(static_cast<size_t>(o));
  for (int64_t k = 0; k < o; ++k) a[size_t(k)] = bias_o[k];
  double lin = 0;
  uint64_t s = 0;
  for (uint64_t i = 0; i < states; ++i) {
    if (i > 0) {
      const int j = std::countr_zero(i);
      s ^= uint64_t{1} << j;
      const double sign = (s >> j) & 1 ? 1.0 : -1.0;
      lin += sign * bias_s[j];
      for (int64_t k = 0; k < o; ++k) a[size_t(k)] += sign * weight(k, j);
    }
    double l = lin;
    for (int64_t k = 0; k < o; ++k) l += softplus(a[size_t(k)]);
    logp[s] = l;
  }
  // Cumulative weights in state order, scaled by e^{−max} so the largest is 1.
  const double mx = *std::max_element(logp.begin(), logp.end());
  std::vector<double> cdf(states);
  double acc = 0;
  for (uint64_t t = 0; t < states; ++t) cdf[t] = acc += std::exp(logp[t] - mx);

  ad::Tensor<double> out(ad::Shape{n, nv});
  for (int64_t r = 0; r < n; ++r) {
    ad::Rng rng(seed, uint64_t(r));
    const double u = rng.uniform() * acc;
    const uint64_t st = std::min<uint64_t>(uint64_t(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()), states - 1);
    if (!hidden_side) {
      for (int64_t i = 0; i < nv; ++i) out.at(r, i) = double((st >> i) & 1);
      continue;
    }
    for (int64_t i = 0; i < nv; ++i) {  // v | h
      double pre = b[i];
      for (int64_t j = 0; j < nh; ++j)
        if ((st >> j) & 1) pre += w.at(i, j);
      out.at(r, i) = rng.uniform() < sigmoid(pre) ? 1.0 : 0.0;
    }
  }
  return out;
}

ad::Tensor<double> gaussian_exact_samples(const GaussianEnergy<double>& model, int64_t n, uint64_t seed) {
  if (n < 0) throw std::invalid_argument("gaussian_exact_samples: n must be non-negative");
  const int64_t d = model.dim();
  const ad::Tensor<double> mu = model.mean(), l = cholesky(model.covariance());
  ad::Tensor<double> out(ad::Shape{n, d});
  std::vector<double> z(static_cast<size_t>(d));
  for (int64_t r = 0; r < n; ++r) {
    ad::Rng rng(seed, uint64_t(r));
    for (double& v : z) v = rng.normal();
    for (int64_t i = 0; i < d; ++i) {
      double x = mu[i];
      for (int64_t j = 0; j <= i; ++j) x += l.at(i, j) * z[size_t(j)];
      out.at(r, i) = x;
    }
  }
  return out;
}

std::string exact_sampling_unsupported(const Energy<double>& model) {
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(&model)) {
    if (std::min(rbm->visible(), rbm->hidden()) <= kMaxExactSampleUnits) return "";
    return "exact samples of a Bernoulli RBM need a layer of at most " + std::to_string(kMaxExactSampleUnits) +
           " units to enumerate (this one has " + std::to_string(rbm->visible()) + " visible and " +
           std::to_string(rbm->hidden()) + " hidden)";
  }
  if (dynamic_cast<const GaussianEnergy<double>*>(&model)) return "";
  return "exact samples need a Bernoulli RBM with a layer of at most " + std::to_string(kMaxExactSampleUnits) +
         " units or a Gaussian energy, not the model \"" + model.name() + "\"";
}

ad::Tensor<double> exact_samples(const Energy<double>& model, int64_t n, uint64_t seed) {
  if (const std::string why = exact_sampling_unsupported(model); !why.empty()) throw std::invalid_argument(why);
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(&model)) return rbm_exact_samples(*rbm, n, seed);
  return gaussian_exact_samples(dynamic_cast<const GaussianEnergy<double>&>(model), n, seed);
}

}  // namespace ebm
