#pragma once
// The negative phase of maximum-likelihood training: samples from the current model, drawn by any sampler.
//
// ∇θ of the negative log-likelihood is E_data[∇θE] − E_model[∇θE]; the second expectation needs samples of
// p_θ, which MCMC provides only approximately. Three standard ways to start the chains:
//   - CD-k (Hinton 2002): k transitions starting at the data batch itself;
//   - PCD (Tieleman 2008): chains that persist across batches, k transitions per batch;
//   - a replay buffer (Du & Mordatch 2019): persistent chains in a large pool, a random subset per batch,
//     a few restarted from noise each time. PCD is the buffer whose capacity is the number of negatives
//     and whose restart probability is 0 (every chain is advanced every batch).
// The sampler is any samplers::Sampler (Langevin, MALA, HMC, Gibbs), built from the
// model at every draw with θ held fixed (the model's current parameter values, as constants), so the
// negatives carry no gradient and a gradcheck of the loss sees them as fixed draws.
//
// Reproducibility: CD-k chains draw from generators split off the batch's Rng; persistent chains own theirs
// (replay.hpp), and save_state/load_state carry chains, generators and the buffer's own generator through
// checkpoints.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <samplers/gibbs.hpp>
#include <samplers/hmc.hpp>
#include <samplers/langevin.hpp>
#include <samplers/mala.hpp>
#include <samplers/replay.hpp>

#include "ebm/models/energy.hpp"

namespace ebm {

/// Builds a sampler for a model; the model must outlive the sampler.
template <class T>
using SamplerFactory = std::function<std::unique_ptr<samplers::Sampler<T>>(const Energy<T>& model)>;

// Ready-made factories over sampler_energy(model).
template <class T> SamplerFactory<T> langevin_sampler(samplers::LangevinOptions options);
template <class T> SamplerFactory<T> mala_sampler(samplers::MalaOptions options);
template <class T> SamplerFactory<T> hmc_sampler(samplers::HmcOptions options);
/// Block Gibbs for models that are samplers::RbmConditionals (RBMs), over chains of `units`, single-site Gibbs
/// (systematic scan) for samplers::BinaryConditionals (Boltzmann machines); std::invalid_argument for any other
/// model, and for hidden chains of a model that is not an RBM.
template <class T> SamplerFactory<T> gibbs_sampler(samplers::RbmChainUnits units = samplers::RbmChainUnits::visible);

enum class ChainStart {
  data,       // CD-k: chains start at the batch (the first `count` rows, cycled if count > batch)
  persistent  // PCD / replay buffer
};

struct NegativeOptions {
  int64_t steps = 1;  // k: sampler transitions per batch
  ChainStart start = ChainStart::data;
  int64_t count = 0;  // negatives per batch; 0: as many as the batch has rows
  /// persistent only: the pool. capacity 0 means `count` (PCD: every chain advanced every batch).
  samplers::ReplayOptions buffer{.capacity = 0, .reinit_prob = 0.0};
  /// persistent only: what the pool holds. `hidden`: an RBM's hidden units, advanced by a sampler that is a
  /// samplers::RbmHiddenChains with hidden chains (block Gibbs: v | h, then h | v, as scikit-learn's BernoulliRBM);
  /// the negatives are the visible units of each chain's last sweep; steps >= 1; the pool's fresh chains are coin
  /// flips unless `buffer.init` says otherwise.
  samplers::RbmChainUnits persist = samplers::RbmChainUnits::visible;
};

/// Initialiser for persistent chains of binary models: each unit on with probability ½ ({0, 1} units).
std::function<void(double* row, int64_t dim, ad::Rng& rng)> bernoulli_init(double p_on = 0.5);

/// The last of a draw's k transitions, taken by the caller instead of the sampler (improved CD takes it on the
/// tape, Note [Improved CD]): it receives the chains after k − 1 transitions, with their generators, and must
/// leave them at their k-th positions. `others` holds the positions of the pool's other chains (every slot not in
/// this draw, as it was before the draw), or is nullptr when there are none (chains started at the data, or a pool
/// whose every chain is drawn: PCD).
template <class T>
using LastStep = std::function<void(samplers::ChainState<T>& chains, const ad::Tensor<T>* others)>;

template <class T>
class NegativePhase {
 public:
  /// `seed` seeds the persistent pool; without one, it is drawn from the Rng of the first draw (so a training
  /// run's pool follows from its seed alone).
  NegativePhase(SamplerFactory<T> sampler, NegativeOptions options, std::optional<uint64_t> seed = std::nullopt);

  /// Negatives for one batch [count, d], as constants (no gradient path to θ). `rng` serves CD-k chains.
  ad::Tensor<T> draw(const Energy<T>& model, const ad::Tensor<T>& data, ad::Rng& rng);
  /// The same, with the sampler making k − 1 transitions and `last` the k-th (k >= 1). Persistent chains keep
  /// the positions `last` leaves. Not for hidden chains.
  ad::Tensor<T> draw(const Energy<T>& model, const ad::Tensor<T>& data, ad::Rng& rng, const LastStep<T>& last);
  /// The same with a given sampler in place of the factory's (same chains, streams, statistics): for a faster
  /// implementation of the same transition, e.g. block Gibbs on an RBM's precomputed layers.
  ad::Tensor<T> draw_with(samplers::Sampler<T>& sampler, const ad::Tensor<T>& data, ad::Rng& rng, const LastStep<T>& last = {});
  /// The sampler the factory builds for `model`.
  std::unique_ptr<samplers::Sampler<T>> make_sampler(const Energy<T>& model) const { return sampler_(model); }

  /// Sampler statistics of the last draw (acceptance over its k steps).
  const samplers::SamplerStats& last_stats() const { return stats_; }
  /// Mixing of the last draw: the bulk ESS (rank-normalised, samplers/diagnostics.hpp) of ‖x‖² over the k-step
  /// paths of the first 16 chains, i.e. out of 16·k draws; NaN when k < 4 (too short to estimate).
  double last_ess() const { return ess_; }
  const NegativeOptions& options() const { return options_; }
  /// The persistent pool, once created (at the first draw or load_state).
  const samplers::ReplayBuffer<T>* buffer() const { return buffer_ ? &*buffer_ : nullptr; }

  std::vector<uint8_t> save_state() const;
  void load_state(const std::vector<uint8_t>& blob);

  /// The negative phase of row shard s of `count` (Note [Shards of an objective]): the shard's share of the
  /// negatives per batch and of the pool's capacity (ad::split_rows), and a pool of its own, seeded apart from
  /// the other shards'. Before the first draw only; std::invalid_argument when a share would be empty.
  NegativePhase shard(int s, int count) const;

 private:
  samplers::ReplayBuffer<T>& pool(int64_t dim, int64_t count, ad::Rng& rng);
  SamplerFactory<T> sampler_;
  NegativeOptions options_;
  std::optional<uint64_t> seed_;
  std::optional<samplers::ReplayBuffer<T>> buffer_;
  samplers::SamplerStats stats_;
  double ess_ = 0;
  // Fault injection (a test hook): the draw numbered EBM_TEST_NAN_IN_CHAINS (1-based, counted per object) leaves a
  // NaN in its chains, persistent ones included, for the divergence guard to roll back.
  void poison_for_test(ad::Tensor<T>& chains);
  int64_t draws_ = 0;
};

extern template class NegativePhase<float>;
extern template class NegativePhase<double>;

}  // namespace ebm
