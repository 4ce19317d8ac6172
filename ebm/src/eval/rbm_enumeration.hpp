#pragma once
// Note [Gray-code enumeration]: summing one layer of a Bernoulli RBM out in closed form leaves, for the other layer s
// (m units, biases b_s) and the summed one o (biases b_o, W oriented o × s),
//   log p̃(s) = b_sᵀ s + Σ_o softplus(b_o + (W s)_o).
// Walking the 2^m states in Gray-code order changes one unit per state, so a = b_o + W s and b_sᵀ s are updated by
// one column of W instead of recomputed: O(2^m · |o|) in all. Exact samples (exact_samples.cpp) and exact log Z
// (partition.cpp) both walk the smaller layer this way; a walk can be cut into chunks of its high bits, each starting
// from its own a, so chunks run in parallel.
#include <bit>
#include <cstdint>
#include <vector>

#include <autodiff/scalar.hpp>

#include "ebm/models/rbm.hpp"

namespace ebm::detail {

/// The smaller layer of `rbm` as the enumerated one.
struct RbmEnumeration {
  const BernoulliRbm<double>& rbm;
  bool hidden_side;  // the hidden layer is enumerated (it is not larger than the visible one)
  int64_t m, o;      // units of the enumerated layer and of the summed one

  explicit RbmEnumeration(const BernoulliRbm<double>& r)
      : rbm(r), hidden_side(r.hidden() <= r.visible()), m(hidden_side ? r.hidden() : r.visible()),
        o(hidden_side ? r.visible() : r.hidden()) {}

  /// visit(s, log p̃(s)) for the states s = (high << low_bits) | t, t over all 2^low_bits values in Gray-code order.
  template <class Visit>
  void walk(uint64_t high, int low_bits, Visit visit) const {
    const ad::Tensor<double>& w = rbm.param("W");  // [V, H]
    const ad::Tensor<double>& bias_s = hidden_side ? rbm.param("c") : rbm.param("b");
    const ad::Tensor<double>& bias_o = hidden_side ? rbm.param("b") : rbm.param("c");
    auto weight = [&](int64_t k, int64_t j) { return hidden_side ? w.at(k, j) : w.at(j, k); };
    std::vector<double> a(static_cast<size_t>(o));
    double lin = 0;
    for (int64_t k = 0; k < o; ++k) a[size_t(k)] = bias_o[k];
    for (int64_t j = low_bits; j < m; ++j)  // the chunk's fixed high bits
      if ((high >> (j - low_bits)) & 1u) {
        lin += bias_s[j];
        for (int64_t k = 0; k < o; ++k) a[size_t(k)] += weight(k, j);
      }
    uint64_t t = 0;
    for (uint64_t i = 0; i < (uint64_t{1} << low_bits); ++i) {
      if (i > 0) {
        const int j = std::countr_zero(i);
        t ^= uint64_t{1} << j;
        const double sign = (t >> j) & 1 ? 1.0 : -1.0;
        lin += sign * bias_s[j];
        for (int64_t k = 0; k < o; ++k) a[size_t(k)] += sign * weight(k, j);
      }
      double l = lin;
      for (int64_t k = 0; k < o; ++k) l += ad::scalar::softplus(a[size_t(k)]);
      visit((high << low_bits) | t, l);
    }
  }
};

}  // namespace ebm::detail
