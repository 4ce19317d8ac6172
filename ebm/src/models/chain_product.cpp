// Chain products of 0/1 rows: see Note [Chain products] in binary_products.hpp.
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <bit>
#include <xsimd/xsimd.hpp>

#include "binary_products.hpp"

namespace ebm::detail {
namespace {

// Walks rows [r0, r1) of x as a chain: before row r, `step(k, true)` / `step(k, false)` for the rows k of M to add
// to / subtract from the running row (`reset()` first when row r starts from zero), then `store(r)`.
template <class Reset, class Step, class Store>
void walk_chain(const BitRows& x, int64_t r0, int64_t r1, Reset&& reset, Step&& step, Store&& store) {
  const int64_t words = x.words;
  const uint64_t* prev = nullptr;
  for (int64_t r = r0; r < r1; ++r) {
    const uint64_t* xr = x.row(r);
    int64_t ones = 0, dist = 0;
    for (int64_t w = 0; w < words; ++w) ones += std::popcount(xr[w]);
    if (prev)
      for (int64_t w = 0; w < words; ++w) dist += std::popcount(xr[w] ^ prev[w]);
    const bool from_zero = !prev || ones <= dist;
    if (from_zero) reset();
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t p = from_zero ? 0 : prev[w];
      for (uint64_t add = xr[w] & ~p; add; add &= add - 1) step(64 * w + std::countr_zero(add), true);
      for (uint64_t sub = p & ~xr[w]; sub; sub &= sub - 1) step(64 * w + std::countr_zero(sub), false);
    }
    store(r);
    prev = xr;
  }
}

// Columns [c0, c0 + V·W): the running row in V registers.
template <class T, int V>
void chain_block(const BitRows& x, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, T* out) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size;
  B acc[V];
  const T* m = M + c0;
  walk_chain(
      x, r0, r1, [&] { for (int v = 0; v < V; ++v) acc[v] = B(T(0)); },
      [&](int64_t k, bool add) {
        const T* row = m + k * N;
        if (add) {
          for (int v = 0; v < V; ++v) acc[v] += B::load_unaligned(row + v * W);
        } else {
          for (int v = 0; v < V; ++v) acc[v] -= B::load_unaligned(row + v * W);
        }
      },
      [&](int64_t r) { for (int v = 0; v < V; ++v) acc[v].store_unaligned(out + r * N + c0 + v * W); });
}

// The last `cols` (< W) columns, from c0, one at a time.
template <class T>
void chain_tail(const BitRows& x, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, int64_t cols, T* out) {
  T acc[xsimd::batch<T>::size];
  walk_chain(
      x, r0, r1, [&] { std::fill(acc, acc + cols, T(0)); },
      [&](int64_t k, bool add) {
        for (int64_t c = 0; c < cols; ++c) acc[c] += add ? M[k * N + c0 + c] : -M[k * N + c0 + c];
      },
      [&](int64_t r) { std::copy(acc, acc + cols, out + r * N + c0); });
}

template <class T, int V = 1>
void chain_block_dispatch(int vectors, const BitRows& x, const T* M, int64_t N, int64_t r0, int64_t r1, int64_t c0, T* out) {
  if constexpr (V < kChainBlockVectors) {
    if (vectors != V) return chain_block_dispatch<T, V + 1>(vectors, x, M, N, r0, r1, c0, out);
  }
  chain_block<T, V>(x, M, N, r0, r1, c0, out);
}

}  // namespace

template <class T>
void chain_product(const BitRows& x, const T* M, int64_t N, T* out) {
  constexpr int64_t W = xsimd::batch<T>::size, CB = kChainBlockVectors * W;
  if (x.rows == 0 || N == 0) return;
  const int64_t blocks = (N + CB - 1) / CB;
  const Shards sh = shards_of(x.rows);
  auto task = [&](int64_t t) {
    const int64_t s = t / blocks, b = t % blocks;
    const int64_t c0 = b * CB, cols = std::min(CB, N - c0);
    const int64_t r0 = sh.begin(s), r1 = sh.begin(s + 1), whole = cols / W;
    if (whole > 0) chain_block_dispatch<T>(static_cast<int>(whole), x, M, N, r0, r1, c0, out);
    if (cols % W) chain_tail(x, M, N, r0, r1, c0 + whole * W, cols % W, out);
  };
  const int64_t tasks = sh.count * blocks;
  // Work ~ bits × column blocks (about a third of the bits are set, ~1 ns each per block): below 2^15 of them
  // (~10 µs) a second thread costs more than it saves.
  if (tasks == 1 || x.rows * x.cols * blocks < (int64_t{1} << 15)) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, tasks, 1), [&](const tbb::blocked_range<int64_t>& r) {
      for (int64_t t = r.begin(); t != r.end(); ++t) task(t);
    }, tbb::simple_partitioner());
  }
}

template void chain_product(const BitRows&, const float*, int64_t, float*);
template void chain_product(const BitRows&, const double*, int64_t, double*);

}  // namespace ebm::detail
