#pragma once
// Row shards: data parallelism over the rows of a batch, each shard on its own tape.
//
// The kernels already split every op across threads, but an op over a [128, 512] batch is a few µs of work
// against a fork-join of about the same cost, and the tape bookkeeping between ops is serial. When the rows of
// a batch are independent (per-row energies, scores, Langevin chains), a fixed number of shards, each running
// the whole computation on its rows with its own tape, needs one fork-join in all, not one per op.
//
// Note [Shards fix the numbers, threads do not]: the split depends on the row count and the shard count only,
// and shard results are combined in shard order, so a computation gives the same bits on 1 thread and on many.
// Changing the shard count changes the summation order of cross-row reductions (last-bit differences).
//
//   const auto ranges = ad::split_rows(B, 2);
//   ad::for_each_shard(2, [&](int s) { ... record on tapes[s], rows ranges[s].begin .. ranges[s].end ... });
//   ad::add_in_order(total, {g0.data(), g1.data()});   // total has the gradients' shape
#include <cstdint>
#include <functional>
#include <vector>

#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"

namespace ad {

/// Rows [begin, end) of a batch.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

/// `rows` split into `shards` contiguous ranges whose sizes differ by at most one (the first ones are the larger).
/// Throws std::invalid_argument unless shards >= 1 and rows >= 0; ranges may be empty when shards > rows.
std::vector<RowRange> split_rows(int64_t rows, int shards);

/// Runs body(s) for every s in [0, count) concurrently on the engine's threads (ad::ThreadLimit) and returns
/// when all have finished. Each body must record on its own tape (Note [No global tape] in tape.hpp); ops inside
/// a body still use the parallel kernels, so a shard that finishes early helps the others. The first exception
/// thrown by a body is rethrown here.
void for_each_shard(int count, const std::function<void(int shard)>& body);

/// The rows `r` of a matrix (or of a vector: its elements), copied.
template <class T>
Tensor<T> rows_of(const Tensor<T>& t, RowRange r);

/// out[i] = parts[0][i] + parts[1][i] + ... for i < out.numel(), added in that order whatever the thread
/// count: the reduction of per-shard gradients. Each part points at out.numel() values (a Var's data(), a
/// Tensor's); a part may alias out.
template <class T>
void add_in_order(Tensor<T>& out, const std::vector<const T*>& parts);

/// One shard's part of a sharded loss: a single number recorded on the shard's own tape, and the shard's copies
/// of the shared parameters (variables on that tape), in the same order and shapes in every shard.
template <class T>
struct ShardLoss {
  Var<T> loss;
  std::vector<Var<T>> params;
};

/// Note [Sharded gradients]: Σ_s loss_s and its gradient with respect to the shared parameters, written (=) to
/// grads (resized to one tensor per parameter). part(s) records shard s's loss; every shard records and sweeps
/// in one parallel region (for_each_shard). A weight's gradient through matrix products is a sum over all rows
/// (for a layer x Wᵀ: Gᵀ X, with G the adjoints of its outputs), and per shard it would be a full product on the
/// shard's rows, written once per shard and then added (for a 512 × 784 layer, megabytes per shard). Instead the
/// sweeps keep such products as their factors, when these are smaller than the product (a shard's K rows:
/// K (m + n) < m n), and after the region all of a weight's are computed as one product over the factors' rows
/// (K = every shard's rows, for every use of the weight), by the parallel kernel, which reads each factor where
/// its shard left it. Other contributions (narrow
/// products over many rows, biases, elementwise uses) are computed in the sweeps and added in shard order. Every
/// sum runs in a fixed order, so any thread count gives the same bits; the shard count changes the last bits.
/// The shards' tapes keep the sweep's values until the caller rewinds them.
template <class T>
T sharded_value_and_grad(int shards, const std::function<ShardLoss<T>(int shard)>& part, std::vector<Tensor<T>>& grads);

extern template float sharded_value_and_grad(int, const std::function<ShardLoss<float>(int)>&, std::vector<Tensor<float>>&);
extern template double sharded_value_and_grad(int, const std::function<ShardLoss<double>(int)>&, std::vector<Tensor<double>>&);
extern template Tensor<float> rows_of(const Tensor<float>&, RowRange);
extern template Tensor<double> rows_of(const Tensor<double>&, RowRange);
extern template void add_in_order(Tensor<float>&, const std::vector<const float*>&);
extern template void add_in_order(Tensor<double>&, const std::vector<const double*>&);

}  // namespace ad
