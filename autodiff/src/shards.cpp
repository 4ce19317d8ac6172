#include "autodiff/shards.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/parallel.hpp"

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

template Tensor<float> rows_of(const Tensor<float>&, RowRange);
template Tensor<double> rows_of(const Tensor<double>&, RowRange);
template void add_in_order(Tensor<float>&, const std::vector<const float*>&);
template void add_in_order(Tensor<double>&, const std::vector<const double*>&);

}  // namespace ad
