#pragma once
// One training step's loss and gradients, in row shards: what `ebm run` trains with and what bench/ times.
//
// Note [Sharded training step]: a batch of B rows is split into S fixed shards (ad::split_rows). Shard s has its
// own tape, its own objective (Objective::shard: its share of the negatives, its own persistent chains) and its
// own random stream, split off the step's stream by s. Every shard records its part (the mean over its rows,
// weighted by rows/B) in one parallel region, and the parameters' gradient is the sum of the shards' in shard
// order (ad::sharded_value_and_grad, Note [Sharded gradients]). So the numbers depend on S and never on the
// thread count; S = 1 is the whole batch on one tape. Objectives with a closed-form gradient
// (Objective::direct_loss_and_grad: an RBM's CD) run it per shard, and objectives whose loss is not a mean over
// rows reduce batch statistics first (Note [Statistics across shards]).
#include <cstdint>
#include <memory>
#include <vector>

#include "ebm/objectives/objective.hpp"

namespace ebm {

template <class T>
class ShardedObjective {
 public:
  /// The S = `shards` parts of `objective`, which keeps the objective's own parameters (extra_params, bound on
  /// every shard's tape) and must outlive this. std::invalid_argument when shards < 1 or a part cannot be made.
  ShardedObjective(Objective<T>& objective, int shards);

  /// Loss, terms and gradients (model parameters, then the objective's) of the batch x. `rng` is the step's
  /// stream; shard s draws from rng.split(kShardStream + s). x must have at least S rows.
  LossAndGrad<T> loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x, const ad::Rng& rng,
                               const std::vector<int64_t>* labels = nullptr);

  int shards() const { return static_cast<int>(parts_.size()); }
  const Objective<T>& objective() const { return *objective_; }
  /// The objective that trains shard s (its state: persistent chains, the last draw's statistics).
  const Objective<T>& part(int s) const { return *parts_.at(static_cast<size_t>(s)); }

  /// Every shard's state (Objective::save_state), in shard order; load_state takes as many.
  std::vector<std::vector<uint8_t>> save_state() const;
  void load_state(const std::vector<std::vector<uint8_t>>& blobs);

  static constexpr uint64_t kShardStream = 0x5348524400000000ULL;  // "SHRD"

 private:
  Objective<T>* objective_;
  std::vector<std::unique_ptr<Objective<T>>> parts_;
  std::vector<std::unique_ptr<ad::Tape<T>>> tapes_;
};

extern template class ShardedObjective<float>;
extern template class ShardedObjective<double>;

}  // namespace ebm
