#pragma once
// Exact (i.i.d.) samples of a model, for the models that allow them: what reverse AIS starts from (ais.hpp,
// Note [Reverse AIS]) when its upper bound on log Z is to be a guaranteed one.
//
// Bernoulli RBM: enumerate the smaller layer. With s the layer of m ≤ kMaxExactSampleUnits units, o the other
// (biases b_s, b_o; W oriented o × s), summing o out of e^{−E} gives the exact marginal
//   log p̃(s) = b_sᵀ s + Σ_o softplus(b_o + (W s)_o),
// so s is drawn from the 2^m-state categorical (inverse CDF) and, if s is the hidden layer, v | s from its
// Bernoulli conditional σ(b + W h). The 2^m states are visited in Gray-code order, one column of W added or
// subtracted per state: O(2^m · n) for n units on the other side (2^20 states × 784 pixels ≈ 1 s).
//
// Gaussian energy: x = μ + C z with C the lower Cholesky factor of the covariance and z ~ N(0, I).
//
// Reproducibility: sample r draws only from Rng(seed, r), so the first n samples of a larger draw are the n
// samples of a smaller one, and nothing depends on the thread count.
#include <cstdint>
#include <string>

#include "ebm/models/energy.hpp"
#include "ebm/models/gaussian.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm {

/// The largest layer enumerated for an RBM's exact samples (2^20 states).
inline constexpr int64_t kMaxExactSampleUnits = 20;

/// n exact samples v ~ p(v) ∝ exp(−F(v)), [n, V]. Throws std::invalid_argument if both layers exceed
/// kMaxExactSampleUnits units.
ad::Tensor<double> rbm_exact_samples(const BernoulliRbm<double>& rbm, int64_t n, uint64_t seed);

/// n exact samples of N(μ, Σ) for the model's current parameters, [n, d].
ad::Tensor<double> gaussian_exact_samples(const GaussianEnergy<double>& model, int64_t n, uint64_t seed);

/// "" when exact_samples can draw from this model, else why not (for messages).
template <class T>
std::string exact_sampling_unsupported(const Energy<T>& model);

/// Dispatches to the above by the model's type; throws std::invalid_argument (with the reason) otherwise.
ad::Tensor<double> exact_samples(const Energy<double>& model, int64_t n, uint64_t seed);

}  // namespace ebm
