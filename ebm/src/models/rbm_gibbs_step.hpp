#pragma once
// Note [Whole-step shards]: a CD or PCD step of a Bernoulli RBM with block Gibbs negatives, on 0/1 data and
// chains, runs as one parallel region per Gibbs sweep instead of one per operation. Each row shard (Note [Row
// shards]: a block of data rows and the same share of the chains, fixed by the batch size alone) goes through the
// whole step on one task: its data rows' c + xW, then per sweep its chains' c + vW, h ~ p(h | v), b + hWᵀ,
// v ~ p(v | h), and after the last sweep its chains' c + vW again and their terms of the free-energy gradient.
// Only the weight gradient, which sums over all rows, runs after the region (a chain product, Note [Chain
// products]).
//
// Why: at a batch of 100 a step is ~10 operations of 50–250 µs each, and as separate regions every one of them
// read rows the other core had just written (measured: a visible product of 99 µs on one thread took ~140 µs on
// two inside the step) and paid a fork-join; two threads were then only ~5 % faster than one. In one region a
// shard's rows stay in its core's cache from the data product to the gradient terms: the region now runs 1.7×
// faster on two threads than on one (64 hidden units, batch 100), the step 1.3× (the batch copy, the chain pool's
// copies, the weight gradient and the update, outside the region, scale less).
//
// The draws are those of samplers::BlockGibbs: chain c draws its hidden units, then its visible units, from its
// own generator, and a chain whose conditional means are not finite keeps its state. The products' plans differ
// (each shard's chains start from its own data rows and, after the first sweep, from their previous states), so
// the means differ from BlockGibbs's by rounding only.
//
// Hidden chains (samplers::RbmChainUnits::hidden, scikit-learn's PCD): a chain's state is its hidden units; per
// sweep a shard draws v ~ p(v | h) from b + hWᵀ, then h ~ p(h | v) from c + vW, and that last c + vW is also
// the one the gradient needs. A step has one product fewer than with visible chains (no c + vW of the stored
// states), and the pool moves H units per chain instead of V.
#include <utility>
#include <vector>

#include <samplers/gibbs.hpp>
#include <samplers/state.hpp>

#include "models/rbm_layers.hpp"

namespace ebm::detail {

template <class T>
class RbmGibbsStep final : public samplers::Sampler<T>, public samplers::RbmHiddenChains<T> {
 public:
  /// The step's parameters (through its layers) and data batch; both must outlive this object. `units`: what
  /// the chains' states are (the draws of samplers::BlockGibbs over the same units).
  RbmGibbsStep(const RbmLayers<T>& layers, const ad::Tensor<T>& data, samplers::RbmChainUnits units = samplers::RbmChainUnits::visible);
  ~RbmGibbsStep() override;

  /// Block Gibbs sweeps (the draws of samplers::BlockGibbs), in whole-step shards when the data and the states
  /// are 0/1, otherwise by BlockGibbs over the layers.
  samplers::SamplerStats run(samplers::ChainState<T>& state, int64_t sweeps, const samplers::Observer<T>& observe = {}) override;

  /// After the sweeps: writes (=) to grads (shaped like W, b, c) the gradient of mean F(data) − mean F(negatives)
  /// and returns {mean F(data), mean F(negatives)}. `negatives` are the final states (the state run() left, or
  /// any other batch if run() was not called, e.g. with zero sweeps).
  std::pair<double, double> contrastive_grad(const ad::Tensor<T>& negatives, std::vector<ad::Tensor<T>>& grads);

  samplers::RbmChainUnits chain_units() const override { return units_; }
  int64_t num_hidden() const override { return nh_; }
  /// Hidden chains: the visible units of the last sweep (the negatives for contrastive_grad).
  ad::Tensor<T> take_visible() override { return std::move(visible_); }

 private:
  struct Shard;
  // W for c + vW as a shard reads it: in place (in_place_cols = H) or packed (0).
  struct HiddenMatrix {
    const T* m = nullptr;
    int64_t in_place_cols = 0;
  };
  // Note [Shard-packed W]: with several shards, each packs W into panels for itself, inside its task, when W
  // is larger than kSharedMatrixBytes; smaller, W is read in place (or packed once, when its rows are not whole
  // panels). Read in place, a panel's slice of a large W (256 rows of 32 doubles, 2 KiB apart at 256 hidden
  // units) falls into a few L1 sets and is read from L2 or L3 at every addition; packed, it is 64 KiB
  // contiguous. Each shard reads all of W three times per sweep (data, chains, final states), so a private copy
  // (1.6 MB, ~40 µs) pays for itself; a shared one would be written by one core while the other reads it (the
  // cost that Note [Panels packed on the fly] removed for Wᵀ). Measured, PCD-1, batch 100, 1000 steps on
  // Fashion-MNIST, two threads, interleaved medians: 1.48 → 1.30 s with 256 hidden units, the same parameters bit
  // for bit; 64 hidden units (W 400 KB, which stays in L2) gained nothing, so W that small is read in place.
  static constexpr int64_t kSharedMatrixBytes = int64_t{1} << 19;
  void sweep(Shard& sh, const HiddenMatrix& wm, const T* from, T* to, std::vector<ad::Rng>& rngs, int p, bool first, bool last);
  void sweep_hidden(Shard& sh, const HiddenMatrix& wm, const T* from, T* to, std::vector<ad::Rng>& rngs, int p, bool first, bool last);
  // c + xW of the shard's data rows (the first sweep of either kind); false if its rows or states are not 0/1.
  bool data_product(Shard& sh, const HiddenMatrix& wm, const T* states);
  // c + vW of the shard's current visible states (sh.cur) into `out`, each row from the zero row, a data row of
  // the shard or a chain's previous state (sh.prev, with pre-activations prev_pre), whose outputs are known.
  void chain_pre(Shard& sh, const HiddenMatrix& wm, T* out, const ad::Tensor<T>& prev_pre);
  // After the last sweep: both parts' rows of the free-energy gradient, from the final states `v` and their a.
  void gradient_rows(Shard& sh, const T* v, const T* a_final);

  const RbmLayers<T>& layers_;
  const ad::Tensor<T>& data_;
  samplers::RbmChainUnits units_;
  int64_t nv_, nh_;
  ad::Tensor<T> visible_;         // hidden chains: the visible units of the last sweep
  std::vector<Shard> shards_;
  bool sharded_ = false;          // the last run() went through the shards (else: BlockGibbs or no run)
  const T* final_ = nullptr;      // the values of the state that run() left
  ad::Tensor<T> pre_data_;        // c + xW
  ad::Tensor<T> pre_[2];          // c + vW of the chains' states, alternating between sweeps
  // −coef σ(a) per row: data rows, then the chains; rows start on cache lines (the weight gradient loads them
  // as whole SIMD vectors, and a load across two lines costs two).
  std::vector<T, ad::detail::AlignedAllocator<T>> q_;
};

extern template class RbmGibbsStep<float>;
extern template class RbmGibbsStep<double>;

}  // namespace ebm::detail
