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

extern template Tensor<float> rows_of(const Tensor<float>&, RowRange);
extern template Tensor<double> rows_of(const Tensor<double>&, RowRange);
extern template void add_in_order(Tensor<float>&, const std::vector<const float*>&);
extern template void add_in_order(Tensor<double>&, const std::vector<const double*>&);

}  // namespace ad
