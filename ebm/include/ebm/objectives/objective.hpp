#pragma once
// The objective interface: a loss for one batch, as a Var on the tape (so ∇θ comes from ad::grad), plus
// named terms for logging. All randomness (noise, projections, noise samples) comes from the Rng passed in,
// so a fixed seed gives a fixed loss function of θ (which is what gradcheck needs).
//
// Objectives may learn parameters of their own (NCE's log Z, f-EBM's variational function, an adversarial
// sampler): they live in extra_params() and are bound next to the model's, and one optimiser descends the loss
// in all of them. A min-max objective therefore returns a surrogate whose gradient is the descent direction
// for every group (ascent parts enter with a minus sign and the other group behind ad::stop_gradient).
//
// Objectives that keep state between batches (persistent chains, a replay buffer) mutate themselves in loss(),
// hence it is not const; save_state/load_state carry that state through checkpoints, so a resumed run draws
// exactly what an uninterrupted one would. Labels are passed for supervised objectives (JEM).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebm/models/energy.hpp"

namespace ebm {

/// A named scalar for logging.
struct Term {
  std::string name;
  double value = 0;
};

template <class T>
struct Loss {
  ad::Var<T> value;         // the scalar to minimise
  std::vector<Term> terms;  // its parts and diagnostics, for logs
  /// The value of a term by name; throws std::out_of_range.
  double term(const std::string& name) const;
};

template <class T>
struct LossInput {
  ad::Tape<T>& tape;
  const Energy<T>& model;
  const std::vector<ad::Var<T>>& theta;  // the model's parameters on `tape`, in params() order
  const std::vector<ad::Var<T>>& extra;  // the objective's extra_params() on `tape`
  const ad::Tensor<T>& x;                // the batch [B, d]
  ad::Rng& rng;
  const std::vector<int64_t>* labels = nullptr;  // one per row, for supervised objectives
  /// The sums of every shard's shard_statistics(), in shard order, when the loss is one shard's part of a batch
  /// (Note [Statistics across shards]); nullptr otherwise, and the loss computes them from its own rows.
  const std::vector<double>* statistics = nullptr;
};

template <class T>
struct LossAndGrad {
  double loss = 0;
  std::vector<Term> terms;
  std::vector<ad::Tensor<T>> grad_theta;  // one per model parameter
  std::vector<ad::Tensor<T>> grad_extra;  // one per objective extra parameter
};

template <class T>
class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  /// True when the loss uses ∂²E/∂x² (exact and sliced score matching): relu energies are then degenerate.
  virtual bool uses_second_derivatives() const { return false; }
  virtual Loss<T> loss(const LossInput<T>& in) = 0;
  /// A copy, state included.
  virtual std::unique_ptr<Objective<T>> clone() const = 0;
  /// Note [Shards of an objective]: a batch is trained in S row shards (ShardedObjective), and shard s is trained
  /// by its own objective, this one's shard(s, S), with its own state: per-batch counts (negatives, model draws)
  /// become the shard's share (ad::split_rows of the count) and persistent chains a pool of its own of the
  /// shard's share of the capacity. Each shard's loss is the mean over its rows, and the batch's loss is the mean
  /// of the shards' weighted by their rows. The default, for objectives without such counts or state, is a copy.
  virtual std::unique_ptr<Objective<T>> shard(int s, int count) const {
    (void)s, (void)count;
    return clone();
  }
  /// Note [Statistics across shards]: a loss that is not a mean over rows (a product or a ratio of means over the
  /// batch) needs batch-wide numbers before any shard records its part. An objective that says so here is run in
  /// two phases: every shard computes shard_statistics() (sums over its rows, same length in every shard), the
  /// sums are added in shard order, and then every shard's loss() sees them in LossInput::statistics. The same
  /// `in` (tape, draws) serves both phases of a shard, so draws made in the first are kept for the second.
  virtual bool has_shard_statistics() const { return false; }
  virtual std::vector<double> shard_statistics(const LossInput<T>& in) {
    (void)in;
    return {};
  }
  /// The scalar to gradcheck against finite differences (`ebm check-grad`): loss() itself for ordinary
  /// objectives. A min-max objective's surrogate descends θ and ascends its own parameters, which is the
  /// gradient of no single function; it returns its game value J(θ, ω) here instead, whose gradient equals
  /// (∇θ, −∇ω) of the surrogate's, with the same random draws as loss().
  virtual ad::Var<T> gradcheck_value(const LossInput<T>& in) { return loss(in).value; }
  /// Optional fast path used by loss_and_grad: the same loss, terms and gradients (same draws from rng) computed
  /// without the tape, e.g. from closed forms. std::nullopt (the default): loss() is recorded and differentiated.
  virtual std::optional<LossAndGrad<T>> direct_loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x, ad::Rng& rng,
                                                             const std::vector<int64_t>* labels) {
    (void)model, (void)x, (void)rng, (void)labels;
    return std::nullopt;
  }

  /// State carried between batches (persistent chains, buffers, their generators) as an opaque blob;
  /// empty for stateless objectives. load_state(save_state()) restores the objective exactly.
  virtual std::vector<uint8_t> save_state() const { return {}; }
  /// Throws std::runtime_error if the blob does not belong to this objective's configuration.
  virtual void load_state(const std::vector<uint8_t>& blob) { (void)blob; }

  std::vector<Param<T>>& extra_params() { return extra_; }
  const std::vector<Param<T>>& extra_params() const { return extra_; }

 protected:
  std::vector<Param<T>> extra_;
};


/// Shard s's share of `total` per-batch draws (ad::split_rows) for Objective::shard; std::invalid_argument naming
/// `what` when the share is empty (fewer draws than shards).
int64_t shard_share(int64_t total, int s, int count, const std::string& what);

/// Clears `tape`, binds the model's and the objective's parameters as variables, evaluates the loss on x and
/// returns its value, terms and gradients.
template <class T>
LossAndGrad<T> loss_and_grad(ad::Tape<T>& tape, const Energy<T>& model, Objective<T>& objective, const ad::Tensor<T>& x,
                             ad::Rng& rng, const std::vector<int64_t>* labels = nullptr);

/// Mean over rows of a [B] Var as a logging term.
template <class T>
Term mean_term(const std::string& name, const ad::Var<T>& per_sample);

}  // namespace ebm
