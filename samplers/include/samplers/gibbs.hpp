#pragma once
// Gibbs samplers for binary Boltzmann machines (single-site) and restricted Boltzmann machines (block),
// over the model interfaces of conditionals.hpp. Many chains run as one batch, in parallel over chains,
// each chain drawing only from its own stream (Note [One stream per chain]).
//
// The sampler keeps a reference to the model: the model must outlive it. A non-finite conditional
// (logit or mean) is a NaN proposal: that unit (single-site) or that chain's sweep (block) is left as
// it was and counted. Every other update counts as accepted.
//
// Block Gibbs draws a chain's binary units with ad::fill_bernoulli from that chain's generator (vectorised Philox,
// one 32-bit word per unit, in unit order; random.hpp documents the layout): the same numbers for any thread count.
#include <cstdint>
#include <vector>

#include "samplers/conditionals.hpp"
#include "samplers/state.hpp"

namespace samplers {

/// Fill every chain with independent uniformly random units (each from its own stream).
template <class T>
void fill_binary(ChainState<T>& state, BinaryUnits units);

enum class ScanOrder {
  systematic,  // sites 0, 1, …, d−1 in every sweep
  random,      // d sites drawn uniformly with replacement per sweep (random-scan Gibbs, reversible)
};

template <class T>
class SingleSiteGibbs final : public Sampler<T> {
 public:
  explicit SingleSiteGibbs(const BinaryConditionals<T>& model, ScanOrder order = ScanOrder::systematic);

  /// `sweeps` sweeps of d single-site updates per chain; `observe` sees the state after each sweep.
  /// Throws std::invalid_argument if the state's width is not num_units() or a value is not a unit value.
  SamplerStats run(ChainState<T>& state, int64_t sweeps, const Observer<T>& observe = {}) override;

 private:
  const BinaryConditionals<T>& model_;
  ScanOrder order_;
};

template <class T>
class BlockGibbs final : public Sampler<T> {
 public:
  explicit BlockGibbs(const RbmConditionals<T>& model);

  /// State rows are visible vectors. A sweep draws h ~ p(h | v), then v ~ p(v | h); `observe` sees the
  /// visible state after each sweep, and `hidden()` holds the last hidden sample.
  SamplerStats run(ChainState<T>& state, int64_t sweeps, const Observer<T>& observe = {}) override;

  /// The two half-sweeps on their own (for CD-k and PCD in training): row c uses rngs[c]. If `ok` is
  /// given, ok[c] is set to 0 for chains whose conditional means are not finite (their output row is
  /// then unspecified) and to 1 for the others.
  ad::Tensor<T> sample_hidden(const ad::Tensor<T>& v, std::vector<ad::Rng>& rngs, std::vector<uint8_t>* ok = nullptr) const;
  ad::Tensor<T> sample_visible(const ad::Tensor<T>& h, std::vector<ad::Rng>& rngs, std::vector<uint8_t>* ok = nullptr) const;

  const ad::Tensor<T>& hidden() const { return hidden_; }

 private:
  const RbmConditionals<T>& model_;
  ad::Tensor<T> hidden_;
};

extern template void fill_binary(ChainState<float>&, BinaryUnits);
extern template void fill_binary(ChainState<double>&, BinaryUnits);
extern template class SingleSiteGibbs<float>;
extern template class SingleSiteGibbs<double>;
extern template class BlockGibbs<float>;
extern template class BlockGibbs<double>;

}  // namespace samplers
