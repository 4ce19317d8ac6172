#include "ebm/eval/exact_samples.hpp"

#include "rbm_enumeration.hpp"
#include <autodiff/scalar.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace ebm {
namespace {

using ad::scalar::sigmoid;

}  // namespace

ad::Tensor<double> rbm_exact_samples(const BernoulliRbm<double>& rbm, int64_t n, uint64_t seed) {
  if (n < 0) throw std::invalid_argument("rbm_exact_samples: n must be non-negative");
  const int64_t nv = rbm.visible(), nh = rbm.hidden();
  const detail::RbmEnumeration e(rbm);  // the smaller layer (Note [Gray-code enumeration])
  if (e.m > kMaxExactSampleUnits)
    throw std::invalid_argument("exact samples of an RBM need a layer of at most " + std::to_string(kMaxExactSampleUnits) +
                                " units (this one has " + std::to_string(nv) + " visible and " + std::to_string(nh) + " hidden)");
  const bool hidden_side = e.hidden_side;
  const ad::Tensor<double>& w = rbm.param("W");  // [V, H]
  const ad::Tensor<double>& b = rbm.param("b");
  const uint64_t states = uint64_t{1} << e.m;
  std::vector<double> logp(states);
  e.walk(0, int(e.m), [&](uint64_t s, double l) { logp[s] = l; });
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

template <class T>
std::string exact_sampling_unsupported(const Energy<T>& model) {
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<T>*>(&model)) {
    if (std::min(rbm->visible(), rbm->hidden()) <= kMaxExactSampleUnits) return "";
    return "exact samples of a Bernoulli RBM need a layer of at most " + std::to_string(kMaxExactSampleUnits) +
           " units to enumerate (this one has " + std::to_string(rbm->visible()) + " visible and " +
           std::to_string(rbm->hidden()) + " hidden)";
  }
  if (dynamic_cast<const GaussianEnergy<T>*>(&model)) return "";
  return "exact samples need a Bernoulli RBM with a layer of at most " + std::to_string(kMaxExactSampleUnits) +
         " units or a Gaussian energy, not the model \"" + model.name() + "\"";
}

template std::string exact_sampling_unsupported(const Energy<float>&);
template std::string exact_sampling_unsupported(const Energy<double>&);

ad::Tensor<double> exact_samples(const Energy<double>& model, int64_t n, uint64_t seed) {
  if (const std::string why = exact_sampling_unsupported(model); !why.empty()) throw std::invalid_argument(why);
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(&model)) return rbm_exact_samples(*rbm, n, seed);
  return gaussian_exact_samples(dynamic_cast<const GaussianEnergy<double>&>(model), n, seed);
}

}  // namespace ebm
