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
void chain_product(const std::vector<const BitRows*>& parts, const std::vector<int64_t>& ranges, const T* M, int64_t N, T* out,
                   int64_t* counts) {
  constexpr int64_t W = xsimd::batch<T>::size, CB = kChainBlockVectors * W;
  std::vector<const uint64_t*> rows;  // the stacked rows
  for (const BitRows* p : parts)
    for (int64_t r = 0; r < p->rows; ++r) rows.push_back(p->row(r));
  const int64_t C = parts.empty() ? 0 : parts.front()->cols, total = static_cast<int64_t>(rows.size()), src_words = (C + 63) / 64;
  const int64_t nranges = std::max<int64_t>(0, static_cast<int64_t>(ranges.size()) - 1);
  std::fill(counts, counts + C * nranges, int64_t{0});
  if (C == 0 || N == 0) return;
  const int64_t blocks = (N + CB - 1) / CB;
  // Task w: columns [64w, 64w + 64), i.e. word w of every stacked row.
  auto task = [&](int64_t w) {
    BitRows cols;
    cols.rows = std::min<int64_t>(64, C - 64 * w), cols.cols = total, cols.words = (total + 63) / 64;
    cols.bits.assign(static_cast<size_t>(cols.rows * cols.words), 0);
    for (int64_t b = 0; b < cols.words; ++b) {
      uint64_t a[64];
      for (int64_t i = 0; i < 64; ++i) a[i] = 64 * b + i < total ? rows[static_cast<size_t>(64 * b + i)][w] : 0;
      transpose64(a);
      for (int64_t j = 0; j < cols.rows; ++j) cols.bits[static_cast<size_t>(j * cols.words + b)] = a[j];
    }
    for (int64_t k = 0; k < nranges; ++k)
      for (int64_t j = 0; j < cols.rows; ++j) counts[k * C + 64 * w + j] = cols.count_range(j, ranges[size_t(k)], ranges[size_t(k) + 1]);
    if (total == 0) {
      std::fill(out + 64 * w * N, out + (64 * w + cols.rows) * N, T(0));
      return;
    }
    ChainLists lists;
    chain_lists(cols, 0, cols.rows, lists);
    T* o = out + 64 * w * N;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t c0 = b * CB, ncols = std::min(CB, N - c0), whole = ncols / W;
      if (whole > 0) chain_block_dispatch<T>(static_cast<int>(whole), lists, M, N, 0, cols.rows, c0, o);
      if (ncols % W) chain_tail(lists, M, N, 0, cols.rows, c0 + whole * W, ncols % W, o);
    }
  };
  // Work ~ bits × column blocks (about a third of the bits are set, ~1 ns each per block): below 2^15 of them
  // (~10 µs) a second thread costs more than it saves.
  if (src_words == 1 || total * C * blocks < (int64_t{1} << 15)) {
    for (int64_t w = 0; w < src_words; ++w) task(w);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, src_words, 1), [&](const tbb::blocked_range<int64_t>& r) {
      for (int64_t w = r.begin(); w != r.end(); ++w) task(w);
    }, tbb::simple_partitioner());
  }
}

template void chain_product(const std::vector<const BitRows*>&, const std::vector<int64_t>&, const float*, int64_t, float*, int64_t*);
template void chain_product(const std::vector<const BitRows*>&, const std::vector<int64_t>&, const double*, int64_t, double*,
                            int64_t*);

}  // namespace ebm::detail
