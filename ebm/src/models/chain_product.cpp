// Chain products of 0/1 rows: see Note [Chain products] in binary_products.hpp.
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <bit>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "binary_products.hpp"
#include "set_bits.hpp"

namespace ebm::detail {
namespace {

// A block of rows [r0, r1) of x as a chain: per row, whether it starts from zero, and the rows of M to add to and
// to subtract from the running row (index lists, built once and walked once per column block).
struct ChainLists {
  std::vector<int32_t> idx;   // per row: the rows to add, then those to subtract
  std::vector<int64_t> off;   // off[2i] adds begin, off[2i + 1] subtracts begin, off[2i + 2] end (row r0 + i)
  std::vector<uint8_t> zero;  // row r0 + i starts from zero
};

void chain_lists(const BitRows& x, int64_t r0, int64_t r1, ChainLists& L) {
  const int64_t words = x.words, n = r1 - r0;
  L.idx.resize(static_cast<size_t>(n * x.cols + SetBitWriter::kSlack));
  L.off.resize(static_cast<size_t>(2 * n + 1));
  L.zero.resize(static_cast<size_t>(n));
  const SetBitWriter writer(1);
  int32_t* out = L.idx.data();
  const uint64_t* prev = nullptr;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t* xr = x.row(r0 + i);
    int64_t ones = 0, dist = 0;
    for (int64_t w = 0; w < words; ++w) ones += std::popcount(xr[w]);
    if (prev)
      for (int64_t w = 0; w < words; ++w) dist += std::popcount(xr[w] ^ prev[w]);
    const bool from_zero = !prev || ones <= dist;
    L.zero[static_cast<size_t>(i)] = from_zero;
    L.off[static_cast<size_t>(2 * i)] = out - L.idx.data();
    for (int64_t w = 0; w < words; ++w) out = writer(xr[w] & ~(from_zero ? 0 : prev[w]), 64 * w, out);
    L.off[static_cast<size_t>(2 * i + 1)] = out - L.idx.data();
    if (!from_zero)
      for (int64_t w = 0; w < words; ++w) out = writer(prev[w] & ~xr[w], 64 * w, out);
    prev = xr;
  }
  L.off.back() = out - L.idx.data();
}

// Columns [c0, c0 + V·W) of rows [r0, r1): the running row in V registers.
template <class T, int V>
void chain_block(const ChainLists& L, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, T* out) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  B acc[V];
  const T* m = M + c0;
  const int32_t* idx = L.idx.data();
  for (int64_t i = 0; i < r1 - r0; ++i) {
    if (L.zero[static_cast<size_t>(i)])
      for (int v = 0; v < V; ++v) acc[v] = B(T(0));
    const int64_t* o = L.off.data() + 2 * i;
    for (int64_t t = o[0]; t < o[1]; ++t) {
      const T* row = m + idx[t] * N;
      for (int v = 0; v < V; ++v) acc[v] += B::load_unaligned(row + v * W);
    }
    for (int64_t t = o[1]; t < o[2]; ++t) {
      const T* row = m + idx[t] * N;
      for (int v = 0; v < V; ++v) acc[v] -= B::load_unaligned(row + v * W);
    }
    for (int v = 0; v < V; ++v) acc[v].store_unaligned(out + (r0 + i) * N + c0 + v * W);
  }
}

// The last `cols` (< W) columns, from c0, one at a time.
template <class T>
void chain_tail(const ChainLists& L, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, int64_t cols, T* out) {
  T acc[xsimd::batch<T>::size];
  for (int64_t i = 0; i < r1 - r0; ++i) {
    if (L.zero[static_cast<size_t>(i)]) std::fill(acc, acc + cols, T(0));
    const int64_t* o = L.off.data() + 2 * i;
    for (int64_t t = o[0]; t < o[2]; ++t) {
      const T* row = M + L.idx[static_cast<size_t>(t)] * N + c0;
      for (int64_t c = 0; c < cols; ++c) acc[c] += t < o[1] ? row[c] : -row[c];
    }
    std::copy(acc, acc + cols, out + (r0 + i) * N + c0);
  }
}

template <class T, int V = 1>
void chain_block_dispatch(int vectors, const ChainLists& L, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, T* out) {
  if constexpr (V < kChainBlockVectors) {
    if (vectors != V) return chain_block_dispatch<T, V + 1>(vectors, L, M, N, r0, r1, c0, out);
  }
  chain_block<T, V>(L, M, N, r0, r1, c0, out);
}

}  // namespace

template <class T>
void chain_product(const BitRows& x, const T* M, int64_t N, T* out) {
  constexpr int64_t W = xsimd::batch<T>::size, CB = kChainBlockVectors * W;
  if (x.rows == 0 || N == 0) return;
  const int64_t blocks = (N + CB - 1) / CB;
  const Shards sh = shards_of(x.rows);
  // A task per row shard: its index lists once, then every column block.
  auto shard = [&](int64_t s) {
    const int64_t r0 = sh.begin(s), r1 = sh.begin(s + 1);
    ChainLists lists;
    chain_lists(x, r0, r1, lists);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t c0 = b * CB, cols = std::min(CB, N - c0), whole = cols / W;
      if (whole > 0) chain_block_dispatch<T>(static_cast<int>(whole), lists, M, N, r0, r1, c0, out);
      if (cols % W) chain_tail(lists, M, N, r0, r1, c0 + whole * W, cols % W, out);
    }
  };
  // Work ~ bits × column blocks (about a third of the bits are set, ~1 ns each per block): below 2^15 of them
  // (~10 µs) a second thread costs more than it saves.
  if (sh.count == 1 || x.rows * x.cols * blocks < (int64_t{1} << 15)) {
    for (int64_t s = 0; s < sh.count; ++s) shard(s);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, sh.count, 1), [&](const tbb::blocked_range<int64_t>& r) {
      for (int64_t s = r.begin(); s != r.end(); ++s) shard(s);
    }, tbb::simple_partitioner());
  }
}

template void chain_product(const BitRows&, const float*, int64_t, float*);
template void chain_product(const BitRows&, const double*, int64_t, double*);

}  // namespace ebm::detail
