#pragma once
// The processes that share a training run's shards (Note [Shards across processes]).
//
// Note [Shards across processes]: with P processes, process r trains the shards s ≡ r (mod P) of every batch
// (ShardedObjective). Each process sends what its shards produced (losses, terms, gradients, batch statistics)
// to every other, and every process adds all S shards' parts in shard order, so each holds the same sums, bit
// for bit, and takes the same optimiser step; nothing depends on P. One primitive serves all of it: every
// process contributes bytes and receives every process's bytes. A single process is the trivial case; the MPI
// implementation (mpi_comm.hpp, the CMake option EBM_MPI) is the other.
#include <cstdint>
#include <memory>
#include <vector>

namespace ebm {

class ShardComm {
 public:
  virtual ~ShardComm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Collective: every process passes its bytes and receives every process's, indexed by rank.
  virtual std::vector<std::vector<uint8_t>> all_gather(const std::vector<uint8_t>& mine) const = 0;
  /// Does this process train shard s?
  bool owns(int s) const { return s % size() == rank(); }
};

/// One process: all_gather returns its own bytes.
class SingleProcess final : public ShardComm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<std::vector<uint8_t>> all_gather(const std::vector<uint8_t>& mine) const override { return {mine}; }
};

}  // namespace ebm
