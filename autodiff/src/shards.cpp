#include "autodiff/shards.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "node.hpp"

namespace ad {

std::vector<RowRange> split_rows(int64_t rows, int shards) {
  if (shards < 1) throw std::invalid_argument("split_rows: shards must be at least 1, got " + std::to_string(shards));
  if (rows < 0) throw std::invalid_argument("split_rows: rows must be non-negative, got " + std::to_string(rows));
  std::vector<RowRange> out(static_cast<size_t>(shards));
  const int64_t base = rows / shards, extra = rows % shards;
  int64_t at = 0;
  for (int s = 0; s < shards; ++s) {
    const int64_t n = base + (s < extra ? 1 : 0);
    out[static_cast<size_t>(s)] = {at, at + n};
    at += n;
  }
  return out;
}

void for_each_shard(int count, const std::function<void(int shard)>& body) {
  if (count <= 0) return;
  if (count == 1) return body(0);
  // One task per shard (grain 1, no merging): which thread runs a shard never changes what it computes.
  tbb::parallel_for(
      tbb::blocked_range<int>(0, count, 1),
      [&](const tbb::blocked_range<int>& r) {
        for (int s = r.begin(); s < r.end(); ++s) body(s);
      },
      tbb::simple_partitioner());
}

template <class T>
Tensor<T> rows_of(const Tensor<T>& t, RowRange r) {
  if (t.rank() < 1 || t.rank() > 2) throw ShapeError("rows_of: expects a vector or a matrix, got shape " + t.shape().str());
  const int64_t n = t.shape()[0];
  if (r.begin < 0 || r.end < r.begin || r.end > n)
    throw std::invalid_argument("rows_of: rows [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
                                ") outside a tensor of shape " + t.shape().str());
  const int64_t cols = t.rank() == 2 ? t.cols() : 1;
  const Shape shape = t.rank() == 2 ? Shape{r.size(), cols} : Shape{r.size()};
  return Tensor<T>(shape, t.data() + r.begin * cols);
}

template <class T>
void add_in_order(Tensor<T>& out, const std::vector<const T*>& parts) {
  if (parts.empty()) throw std::invalid_argument("add_in_order: no parts");
  T* o = out.data();
  // Elementwise, so any split over elements gives the same bits; each element adds its parts left to right.
  // Blocks through a local accumulator: the loops vectorise, and a part may alias `out`.
  constexpr int64_t kBlock = 512;
  kernels::parallel_range(out.numel(), int64_t{1} << 15, int64_t{1} << 16, [&](int64_t lo, int64_t hi) {
    alignas(64) T acc[kBlock];
    for (int64_t b = lo; b < hi; b += kBlock) {
      const int64_t n = std::min(kBlock, hi - b);
      const T* p0 = parts[0] + b;
      for (int64_t i = 0; i < n; ++i) acc[i] = p0[i];
      for (size_t p = 1; p < parts.size(); ++p) {
        const T* pp = parts[p] + b;
        for (int64_t i = 0; i < n; ++i) acc[i] += pp[i];
      }
      std::copy_n(acc, n, o + b);
    }
  });
}

namespace {

// Adds (or writes, when !accumulate) Σ pᵀ q over the deferred products of one parameter to out [m, n], as one
// product over the factors' rows, product after product (each p [K, m], q [K, n]: the sweep defers no other).
// The factors are read where the shards left them (kernels::gemm_stacked): copying them into one stacked pair
// was a serial pass of ~20 µs per weight on energy_grad/large, with the other core idle.
template <class T>
void add_products(const std::vector<const detail::ProductFactors<T>*>& fs, T* out, int64_t m, int64_t n, bool accumulate) {
  std::vector<kernels::KRows<T>> blocks;
  blocks.reserve(fs.size());
  for (const auto* f : fs) {
    if (!f->tp || f->tq || f->p.shape()[1] != m || f->q.shape()[1] != n || f->q.shape()[0] != f->p.shape()[0])
      throw std::logic_error("sharded_value_and_grad: a deferred product does not match its parameter");
    blocks.push_back({f->p.data(), f->q.data(), f->p.shape()[0]});
  }
  kernels::gemm_stacked(m, n, blocks, out, accumulate);
}

}  // namespace

template <class T>
T sharded_value_and_grad(int shards, const std::function<ShardLoss<T>(int)>& part, std::vector<Tensor<T>>& grads) {
  if (shards < 1) throw std::invalid_argument("sharded_value_and_grad: shards must be at least 1, got " + std::to_string(shards));
  std::vector<ShardLoss<T>> parts(static_cast<size_t>(shards));
  std::vector<std::vector<Var<T>>> sums(parts.size());
  std::vector<std::vector<std::vector<detail::ProductFactors<T>>>> products(parts.size());
  for_each_shard(shards, [&](int s) {
    const auto i = static_cast<size_t>(s);
    parts[i] = part(s);
    sums[i] = detail::grad_deferring_products<T>({parts[i].loss}, parts[i].params, products[i]);
  });
  const std::vector<Var<T>>& first = parts[0].params;
  for (size_t s = 1; s < parts.size(); ++s) {
    if (parts[s].params.size() != first.size())
      throw std::invalid_argument("sharded_value_and_grad: shard " + std::to_string(s) + " has " + std::to_string(parts[s].params.size()) +
                                  " parameters, shard 0 has " + std::to_string(first.size()));
    for (size_t k = 0; k < first.size(); ++k)
      if (parts[s].params[k].shape() != first[k].shape())
        throw ShapeError("sharded_value_and_grad: parameter " + std::to_string(k) + " has shape " + parts[s].params[k].shape().str() +
                         " in shard " + std::to_string(s) + ", " + first[k].shape().str() + " in shard 0");
  }
  T value = 0;
  for (const ShardLoss<T>& p : parts) value += p.loss.item();
  grads.resize(first.size());
  for (size_t k = 0; k < first.size(); ++k) {
    const Shape shape = first[k].shape();
    if (grads[k].shape() != shape) grads[k] = Tensor<T>(shape);
    std::vector<const T*> computed;
    for (const auto& s : sums)
      if (s[k].defined()) computed.push_back(s[k].data());
    bool written = !computed.empty();
    if (written) add_in_order(grads[k], computed);
    // The deferred products of every shard, shard after shard, as one product.
    std::vector<const detail::ProductFactors<T>*> fs;
    for (const auto& p : products)
      for (const auto& f : p[k]) fs.push_back(&f);
    if (!fs.empty()) {
      add_products(fs, grads[k].data(), shape[0], shape.rank() == 2 ? shape[1] : 1, written);
      written = true;
    }
    if (!written) std::fill(grads[k].begin(), grads[k].end(), T(0));
  }
  return value;
}

template float sharded_value_and_grad(int, const std::function<ShardLoss<float>(int)>&, std::vector<Tensor<float>>&);
template double sharded_value_and_grad(int, const std::function<ShardLoss<double>(int)>&, std::vector<Tensor<double>>&);
template Tensor<float> rows_of(const Tensor<float>&, RowRange);
template Tensor<double> rows_of(const Tensor<double>&, RowRange);
template void add_in_order(Tensor<float>&, const std::vector<const float*>&);
template void add_in_order(Tensor<double>&, const std::vector<const double*>&);

}  // namespace ad
