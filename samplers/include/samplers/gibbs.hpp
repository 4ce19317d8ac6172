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
#include <utility>
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

/// The units a block Gibbs chain keeps from one run to the next. Both give the same Markov chain on (v, h),
/// read at different half-sweeps; they differ when the model changes between runs (persistent chains in
/// training): `visible` draws h from the current model, `hidden` reuses the h drawn from the previous one.
enum class RbmChainUnits {
  visible,  // state rows are v; a sweep draws h ~ p(h | v), then v ~ p(v | h)
  hidden,   // state rows are h; a sweep draws v ~ p(v | h), then h ~ p(h | v) (scikit-learn's BernoulliRBM PCD)
};

/// Samplers whose persistent chains may be an RBM's hidden units hand out the visible units of their last sweep
/// (the negatives of PCD training): BlockGibbs, and the RBM's whole-step PCD in ebm/.
template <class T>
class RbmHiddenChains {
 public:
  virtual ~RbmHiddenChains() = default;
  virtual RbmChainUnits chain_units() const = 0;
  virtual int64_t num_hidden() const = 0;
  /// With hidden chains, after run(): the visible units drawn in its last sweep, [chains, V] (moved out).
  virtual ad::Tensor<T> take_visible() = 0;
};

template <class T>
class BlockGibbs final : public Sampler<T>, public RbmHiddenChains<T> {
 public:
  explicit BlockGibbs(const RbmConditionals<T>& model, RbmChainUnits units = RbmChainUnits::visible);

  /// Visible chains (the default): state rows are visible vectors; a sweep draws h ~ p(h | v), then v ~ p(v | h);
  /// `hidden()` holds the last hidden sample. Hidden chains: state rows are hidden vectors; a sweep draws
  /// v ~ p(v | h), then h ~ p(h | v); take_visible() gives the last visible sample. `observe` sees the state after
  /// each sweep. A chain whose conditional means are not finite keeps its state for that sweep.
  SamplerStats run(ChainState<T>& state, int64_t sweeps, const Observer<T>& observe = {}) override;

  /// The two half-sweeps on their own (for CD-k and PCD in training): row c uses rngs[c]. If `ok` is
  /// given, ok[c] is set to 0 for chains whose conditional means are not finite (their output row is
  /// then unspecified) and to 1 for the others.
  ad::Tensor<T> sample_hidden(const ad::Tensor<T>& v, std::vector<ad::Rng>& rngs, std::vector<uint8_t>* ok = nullptr) const;
  ad::Tensor<T> sample_visible(const ad::Tensor<T>& h, std::vector<ad::Rng>& rngs, std::vector<uint8_t>* ok = nullptr) const;

  const ad::Tensor<T>& hidden() const { return hidden_; }

  RbmChainUnits chain_units() const override { return units_; }
  int64_t num_hidden() const override { return model_.num_hidden(); }
  ad::Tensor<T> take_visible() override { return std::move(visible_); }

 private:
  const RbmConditionals<T>& model_;
  RbmChainUnits units_;
  ad::Tensor<T> hidden_, visible_;
};

extern template void fill_binary(ChainState<float>&, BinaryUnits);
extern template void fill_binary(ChainState<double>&, BinaryUnits);
extern template class SingleSiteGibbs<float>;
extern template class SingleSiteGibbs<double>;
extern template class BlockGibbs<float>;
extern template class BlockGibbs<double>;

}  // namespace samplers
