#pragma once
// What a model must provide for Gibbs sampling (gibbs.hpp). Models in ebm/ implement these; samplers
// never see their parameters, only conditional probabilities. The methods are const and are called
// concurrently from several threads (on different chains): an implementation must not mutate shared state.
#include <cstdint>
#include <stdexcept>

#include "autodiff/tensor.hpp"

namespace samplers {

/// Values of binary units: {0, 1} or {−1, +1}. "On" is 1 in both; "off" is 0 or −1.
enum class BinaryUnits { zero_one, plus_minus_one };

/// A fully visible Boltzmann machine (or any distribution over binary vectors with cheap single-site
/// conditionals), for single-site Gibbs. For E(x) = −Σ_{i<j} w_ij x_i x_j − Σ_i b_i x_i and p ∝ exp(−E),
/// the logit is  a_i = b_i + Σ_{j≠i} w_ij x_j  for {0,1} units and  2 a_i  for ±1 units.
template <class T>
class BinaryConditionals {
 public:
  virtual ~BinaryConditionals() = default;
  virtual int64_t num_units() const = 0;
  virtual BinaryUnits units() const = 0;
  /// log p(x_i = on | x_−i) − log p(x_i = off | x_−i) for one configuration x (num_units() values in the
  /// model's units). x_i itself must not matter.
  virtual double conditional_logit(const T* x, int64_t i) const = 0;
};

/// Visible units of a restricted Boltzmann machine. Hidden units are always Bernoulli {0, 1}.
enum class VisibleUnits { bernoulli, gaussian };

/// A restricted Boltzmann machine, for block Gibbs: all hidden units are independent given the visible
/// ones and vice versa, so a model gives the conditional means of a whole batch at once.
///   Bernoulli–Bernoulli: p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij),  p(v_i = 1 | h) = σ(b_i + Σ_j W_ij h_j).
///   Gaussian–Bernoulli (one common parameterisation, E = Σ_i (v_i − b_i)²/(2σ_i²) − Σ_ij (v_i/σ_i²) W_ij h_j
///   − Σ_j c_j h_j):  p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij / σ_i²),  v_i | h ~ N(b_i + Σ_j W_ij h_j, σ_i²).
/// Other parameterisations fit as long as v | h is Gaussian with h-independent variances.
template <class T>
class RbmConditionals {
 public:
  virtual ~RbmConditionals() = default;
  virtual int64_t num_visible() const = 0;
  virtual int64_t num_hidden() const = 0;
  virtual VisibleUnits visible_units() const = 0;
  /// p(h_j = 1 | v) for v of shape [B, V]: shape [B, H].
  virtual ad::Tensor<T> hidden_mean(const ad::Tensor<T>& v) const = 0;
  /// E[v_i | h] for h of shape [B, H]: shape [B, V]. For Bernoulli visibles that is p(v_i = 1 | h).
  virtual ad::Tensor<T> visible_mean(const ad::Tensor<T>& h) const = 0;
  /// Gaussian visibles only: the conditional standard deviations σ_i, shape [V].
  virtual ad::Tensor<T> visible_stddev() const {
    throw std::logic_error("samplers::RbmConditionals: visible_stddev() is required for Gaussian visible units");
  }
};

}  // namespace samplers
