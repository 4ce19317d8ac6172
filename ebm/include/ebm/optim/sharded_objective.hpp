#pragma once
// One training step's loss and gradients, in row shards: what `ebm run` trains with.
//
// Note [Sharded training step]: a batch of B rows is split into S fixed shards (ad::split_rows). Shard s has its
// own tape, its own objective (Objective::shard: its share of the negatives, its own persistent chains) and its
// own random stream, split off the step's stream by s. Every shard computes its part (the mean over its rows,
// weighted by rows/B) and its gradient in one parallel region, and the batch's gradient is the sum of the shards'
// in shard order. So the numbers depend on S and never on the thread count, nor on the process count: with P
// processes each trains its own shards, and all of them add every shard's part in the same order (Note [Shards
// across processes], shard_comm.hpp). S = 1 is the whole batch on one tape. Objectives with a closed-form
// gradient (Objective::direct_loss_and_grad: an RBM's CD) run it per shard, and objectives whose loss is not a
// mean over rows reduce batch statistics first (Note [Statistics across shards]).
#include <cstdint>
#include <memory>
#include <vector>

#include "ebm/objectives/objective.hpp"
#include "ebm/optim/shard_comm.hpp"

namespace ebm {

template <class T>
class ShardedObjective {
 public:
  /// The S = `shards` parts of `objective`, which keeps the objective's own parameters (extra_params, bound on
  /// every shard's tape) and must outlive this. std::invalid_argument when shards < 1 or a part cannot be made.
  /// One process trains every shard until distribute() says otherwise.
  ShardedObjective(Objective<T>& objective, int shards);

  /// Trains only this process's shards of `comm` from now on; every call below becomes collective (all processes
  /// call it, in the same order).
  void distribute(std::shared_ptr<const ShardComm> comm);
  const ShardComm& comm() const { return *comm_; }

  /// Loss, terms and gradients (model parameters, then the objective's) of the batch x. `rng` is the step's
  /// stream; shard s draws from rng.split(kShardStream + s). x must have at least S rows.
  LossAndGrad<T> loss_and_grad(const Energy<T>& model, const ad::Tensor<T>& x, const ad::Rng& rng,
                               const std::vector<int64_t>* labels = nullptr);

  int shards() const { return static_cast<int>(parts_.size()); }
  const Objective<T>& objective() const { return *objective_; }
  Objective<T>& objective() { return *objective_; }
  /// The objective that trains shard s (its state: persistent chains). With several processes, a shard another
  /// process trains is current here only after sync_parts().
  const Objective<T>& part(int s) const { return *parts_.at(static_cast<size_t>(s)); }
  /// The terms of the last loss_and_grad (every shard's, combined).
  const std::vector<Term>& last_terms() const { return last_terms_; }

  /// Every shard's state (Objective::save_state), in shard order, on every process; load_state takes as many.
  std::vector<std::vector<uint8_t>> save_state() const;
  void load_state(const std::vector<std::vector<uint8_t>>& blobs);
  /// Every shard's state into every process's part of it (for summaries after training).
  void sync_parts() { load_state(save_state()); }

  static constexpr uint64_t kShardStream = 0x5348524400000000ULL;  // "SHRD"

 private:
  Objective<T>* objective_;
  std::vector<std::unique_ptr<Objective<T>>> parts_;
  std::vector<std::unique_ptr<ad::Tape<T>>> tapes_;
  std::shared_ptr<const ShardComm> comm_;
  std::vector<Term> last_terms_;
};

extern template class ShardedObjective<float>;
extern template class ShardedObjective<double>;

}  // namespace ebm
