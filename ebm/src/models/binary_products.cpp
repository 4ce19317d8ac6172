// Delta products of 0/1 rows: see Note [Delta products] in binary_products.hpp.
#include "binary_products.hpp"
#include "set_bits.hpp"

#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>
#include <vector>
#include <xsimd/xsimd.hpp>

#include <autodiff/tensor.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ebm::detail {
namespace {

int64_t hamming(const uint64_t* a, const uint64_t* b, int64_t words) {
  int64_t d = 0;
  for (int64_t w = 0; w < words; ++w) d += std::popcount(a[w] ^ b[w]);
  return d;
}

// d[j] = Hamming distance between x and row j of a word-major table (t[w·n + j]: word w of row j), for all n rows
// at once: the loop over j vectorises (vpopcntq), where one distance at a time costs a scalar popcount per word.
// Rows go in register blocks of 16 (two vectors of counts), the words in the inner loop, so that d is written
// once per row instead of once per word.
void distances(const uint64_t* x, const uint64_t* t, int64_t n, int64_t words, int64_t* d) {
  constexpr int64_t kBlock = 16;
  int64_t j0 = 0;
  for (; j0 + kBlock <= n; j0 += kBlock) {
    int64_t acc[kBlock] = {};
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t xw = x[w];
      const uint64_t* tw = t + w * n + j0;
      for (int64_t j = 0; j < kBlock; ++j) acc[j] += std::popcount(tw[j] ^ xw);
    }
    for (int64_t j = 0; j < kBlock; ++j) d[j0 + j] = acc[j];
  }
  for (int64_t j = j0; j < n; ++j) {
    int64_t acc = 0;
    for (int64_t w = 0; w < words; ++w) acc += std::popcount(t[w * n + j] ^ x[w]);
    d[j] = acc;
  }
}

// Rows [r0, r1) of x, word-major (for distances()).
std::vector<uint64_t> word_major(const BitRows& x, int64_t r0, int64_t r1) {
  const int64_t n = r1 - r0;
  std::vector<uint64_t> t(static_cast<size_t>(n * x.words));
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t w = 0; w < x.words; ++w) t[static_cast<size_t>(w * n + r - r0)] = x.row(r)[w];
  return t;
}

int64_t popcount_row(const uint64_t* a, int64_t words) {
  int64_t d = 0;
  for (int64_t w = 0; w < words; ++w) d += std::popcount(a[w]);
  return d;
}

// 64 (or fewer, `len`) values as one word; `bad` collects values other than 0 and 1.
template <class T>
uint64_t pack_word(const T* x, int64_t len, bool& bad) {
#if defined(__AVX512F__)
  if (len == 64) {
    uint64_t word = 0;
    if constexpr (sizeof(T) == 8) {
      const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
      for (int b = 0; b < 64; b += 8) {
        const __m512d v = _mm512_loadu_pd(x + b);
        const __mmask8 z = _mm512_cmp_pd_mask(v, zero, _CMP_EQ_OQ), o = _mm512_cmp_pd_mask(v, one, _CMP_EQ_OQ);
        bad |= static_cast<uint8_t>(z | o) != 0xFF;
        word |= static_cast<uint64_t>(o) << b;
      }
    } else {
      const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
      for (int b = 0; b < 64; b += 16) {
        const __m512 v = _mm512_loadu_ps(x + b);
        const __mmask16 z = _mm512_cmp_ps_mask(v, zero, _CMP_EQ_OQ), o = _mm512_cmp_ps_mask(v, one, _CMP_EQ_OQ);
        bad |= static_cast<uint16_t>(z | o) != 0xFFFF;
        word |= static_cast<uint64_t>(o) << b;
      }
    }
    return word;
  }
#endif
  uint64_t word = 0;
  for (int64_t b = 0; b < len; ++b) {
    bad |= !(x[b] == T(0) || x[b] == T(1));
    word |= static_cast<uint64_t>(x[b] == T(1)) << b;
  }
  return word;
}

// The plan's index lists: for row r with parent bits pb (null: the all-zero row), per slice the rows of M where x_r
// has a 1 and the parent a 0, then those where the parent has a 1 and x_r a 0.
template <class T>
void emit_lists(DeltaPlan& plan, const BitRows& x, const BitRows* refs) {
  const int64_t nr = plan.stride, ks = DeltaLayout<T>::kSliceRows, wps = ks / 64;
  const int64_t n = x.rows, S = plan.slices, words = x.words;
  plan.off.assign(static_cast<size_t>(2 * n * S + 1), 0);
  std::vector<uint64_t> zero(static_cast<size_t>(words), 0);
  auto parent_bits = [&](int64_t r) {
    const int64_t p = plan.parent[static_cast<size_t>(r)];
    return p < 0 ? zero.data() : p < n ? x.row(p) : refs->row(p - n);
  };
  int64_t total = 0;
  for (int64_t r = 0; r < n; ++r) total += hamming(x.row(r), parent_bits(r), words);
  // Branch-free index lists (set_bits.hpp); the last store may run past the end, hence the slack, trimmed below.
  const SetBitWriter writer(nr);
  plan.idx.resize(static_cast<size_t>(total + SetBitWriter::kSlack));
  int32_t* out = plan.idx.data();
  auto emit = [&](uint64_t bits, int64_t w, int64_t k0) { out = writer(bits, 64 * w - k0, out); };
  for (int64_t r = 0; r < n; ++r) {
    const uint64_t* xr = x.row(r);
    const uint64_t* pb = parent_bits(r);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t w0 = s * wps, w1 = std::min(words, w0 + wps);
      plan.off[static_cast<size_t>(2 * (r * S + s))] = out - plan.idx.data();
      for (int64_t w = w0; w < w1; ++w) emit(xr[w] & ~pb[w], w, s * ks);
      plan.off[static_cast<size_t>(2 * (r * S + s) + 1)] = out - plan.idx.data();
      for (int64_t w = w0; w < w1; ++w) emit(pb[w] & ~xr[w], w, s * ks);
    }
  }
  plan.idx.resize(static_cast<size_t>(total));
  plan.off.back() = plan.entries();
}

}  // namespace

template <class T>
int64_t DeltaLayout<T>::width() {
  return kVectors * static_cast<int64_t>(xsimd::batch<T>::size);
}

template <class T>
bool BitRows::assign(const T* x, int64_t n, int64_t c) {
  reset(n, c);
  bool bad = false;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t w = 0; w < words; ++w) bits[static_cast<size_t>(r * words + w)] = pack_word(x + r * c + 64 * w, std::min<int64_t>(64, c - 64 * w), bad);
  return !bad;
}

void BitRows::reset(int64_t n, int64_t c) {
  rows = n, cols = c, words = (c + 63) / 64;
  bits.assign(static_cast<size_t>(rows * words), 0);
}

void BitRows::append(const BitRows& other) {
  if (rows == 0) {
    *this = other;
    return;
  }
  bits.insert(bits.end(), other.bits.begin(), other.bits.end());
  rows += other.rows;
}

Shards shards_of(int64_t n) {
  constexpr int64_t kShardRows = 64;
  return {std::max<int64_t>(1, (n + kShardRows - 1) / kShardRows), n};
}

int64_t BitRows::count(int64_t r) const { return popcount_row(row(r), words); }

int64_t BitRows::count_range(int64_t r, int64_t c0, int64_t c1) const {
  const uint64_t* x = row(r);
  int64_t n = 0;
  for (int64_t c = c0; c < c1;) {
    const int64_t w = c / 64, lo = c % 64, hi = std::min<int64_t>(64, c1 - 64 * w);
    const uint64_t mask = (hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1) & ~((uint64_t{1} << lo) - 1);
    n += std::popcount(x[w] & mask);
    c = 64 * w + hi;
  }
  return n;
}

template <class T>
DeltaPlan plan_tree(const BitRows& x, const BitRows* refs, int64_t in_place_cols) {
  DeltaPlan plan;
  plan.stride = in_place_cols > 0 ? in_place_cols : DeltaLayout<T>::width();
  const int64_t n = x.rows, words = x.words;
  plan.rows = n;
  plan.slices = (x.cols + DeltaLayout<T>::kSliceRows - 1) / DeltaLayout<T>::kSliceRows;
  plan.parent.assign(static_cast<size_t>(n), -1);
  plan.order.reserve(static_cast<size_t>(n));
  // References are worth their n·m distances only for modest sizes (a training step's batches).
  const int64_t m = refs && refs->words == words && n * refs->rows <= (int64_t{1} << 18) ? refs->rows : 0;
  constexpr int64_t kBlock = 256;
  std::vector<int64_t> best(static_cast<size_t>(n)), d(static_cast<size_t>(std::max<int64_t>(m, kBlock)));
  const std::vector<uint64_t> ref_t = m ? word_major(*refs, 0, m) : std::vector<uint64_t>{};
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock), nb = b1 - b0;
    for (int64_t r = b0; r < b1; ++r) {
      int64_t c = x.count(r), p = -1;
      if (m) {
        // The nearest reference (the first on ties), if it beats the bias: a vectorised minimum, then its index
        // (a branch per candidate would be mispredicted at random).
        distances(x.row(r), ref_t.data(), m, words, d.data());
        int64_t low = c;
        for (int64_t q = 0; q < m; ++q) low = std::min(low, d[static_cast<size_t>(q)]);
        if (low < c) {
          int64_t q = 0;
          while (d[static_cast<size_t>(q)] != low) ++q;
          c = low, p = n + q;
        }
      }
      best[static_cast<size_t>(r)] = c, plan.parent[static_cast<size_t>(r)] = p;
    }
    // Prim: repeatedly take the cheapest row not yet planned (lowest index on ties) and let it offer itself as
    // parent. key = cost so far, or the maximum once planned; the update loop is branch-free (it vectorises).
    const std::vector<uint64_t> block_t = word_major(x, b0, b1);
    int64_t* __restrict key = best.data() + b0;
    int64_t* __restrict par = plan.parent.data() + b0;
    const int64_t* __restrict dist = d.data();
    constexpr int64_t kDone = std::numeric_limits<int64_t>::max();
    for (int64_t it = 0; it < nb; ++it) {
      // The lowest key (a vectorised reduction), then its first row.
      int64_t low = kDone;
      for (int64_t j = 0; j < nb; ++j) low = std::min(low, key[j]);
      int64_t r = 0;
      while (key[r] != low) ++r;
      key[r] = kDone;
      plan.order.push_back(static_cast<int32_t>(b0 + r));
      distances(x.row(b0 + r), block_t.data(), nb, words, d.data());
      for (int64_t j = 0; j < nb; ++j) {
        const bool better = key[j] != kDone && dist[j] < key[j];
        key[j] = better ? dist[j] : key[j];
        par[j] = better ? b0 + r : par[j];
      }
    }
  }
  emit_lists<T>(plan, x, m ? refs : nullptr);
  return plan;
}

template <class T>
DeltaPlan plan_pairs(const BitRows& x, const BitRows& refs, int64_t in_place_cols) {
  if (refs.rows != x.rows || refs.words != x.words) throw std::invalid_argument("plan_pairs: one reference row per row");
  DeltaPlan plan;
  plan.stride = in_place_cols > 0 ? in_place_cols : DeltaLayout<T>::width();
  const int64_t n = x.rows;
  plan.rows = n;
  plan.slices = (x.cols + DeltaLayout<T>::kSliceRows - 1) / DeltaLayout<T>::kSliceRows;
  plan.parent.resize(static_cast<size_t>(n));
  plan.order.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    plan.order[static_cast<size_t>(r)] = static_cast<int32_t>(r);
    plan.parent[static_cast<size_t>(r)] = hamming(x.row(r), refs.row(r), x.words) < x.count(r) ? n + r : -1;
  }
  emit_lists<T>(plan, x, &refs);
  return plan;
}

#if defined(__AVX512F__)
// dst[i·ldd + j] = src[j·lds + i] for an 8 × 8 block of doubles, in registers.
inline void transpose8x8(const double* src, int64_t lds, double* dst, int64_t ldd) {
  __m512d r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm512_loadu_pd(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);      // a0 b0 a2 b2 a4 b4 a6 b6
    t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);  // a1 b1 a3 b3 ...
  }
  // Pairs of 128-bit lanes, then 256-bit halves.
  __m512d u[8];
  u[0] = _mm512_shuffle_f64x2(t[0], t[2], 0x88), u[1] = _mm512_shuffle_f64x2(t[1], t[3], 0x88);
  u[2] = _mm512_shuffle_f64x2(t[0], t[2], 0xDD), u[3] = _mm512_shuffle_f64x2(t[1], t[3], 0xDD);
  u[4] = _mm512_shuffle_f64x2(t[4], t[6], 0x88), u[5] = _mm512_shuffle_f64x2(t[5], t[7], 0x88);
  u[6] = _mm512_shuffle_f64x2(t[4], t[6], 0xDD), u[7] = _mm512_shuffle_f64x2(t[5], t[7], 0xDD);
  _mm512_storeu_pd(dst + 0 * ldd, _mm512_shuffle_f64x2(u[0], u[4], 0x88));
  _mm512_storeu_pd(dst + 1 * ldd, _mm512_shuffle_f64x2(u[1], u[5], 0x88));
  _mm512_storeu_pd(dst + 2 * ldd, _mm512_shuffle_f64x2(u[2], u[6], 0x88));
  _mm512_storeu_pd(dst + 3 * ldd, _mm512_shuffle_f64x2(u[3], u[7], 0x88));
  _mm512_storeu_pd(dst + 4 * ldd, _mm512_shuffle_f64x2(u[0], u[4], 0xDD));
  _mm512_storeu_pd(dst + 5 * ldd, _mm512_shuffle_f64x2(u[1], u[5], 0xDD));
  _mm512_storeu_pd(dst + 6 * ldd, _mm512_shuffle_f64x2(u[2], u[6], 0xDD));
  _mm512_storeu_pd(dst + 7 * ldd, _mm512_shuffle_f64x2(u[3], u[7], 0xDD));
}
#endif

namespace {

// Panel p of pack_panels: columns [p·NR, p·NR + NR) of M, all K rows, row after row, into dst (K·NR values).
template <class T>
void pack_panel(const T* M, bool trans, int64_t K, int64_t N, int64_t p, T* dst) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size, NR = DeltaLayout<T>::kVectors * W;
  const int64_t j0 = p * NR, cols = std::min(NR, N - j0);
  if (!trans) {
    for (int64_t k = 0; k < K; ++k) {
      const T* src = M + k * N + j0;
      if (cols == NR) {
        for (int64_t v = 0; v < NR; v += W) B::load_unaligned(src + v).store_aligned(dst + k * NR + v);
      } else {
        std::copy(src, src + cols, dst + k * NR);
        std::fill(dst + k * NR + cols, dst + (k + 1) * NR, T(0));
      }
    }
    return;
  }
  // Column j0 + c of M is row j0 + c of the stored matrix, contiguous in k.
  int64_t c0 = 0, k8 = 0;
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 8) {
    k8 = K / 8 * 8;
    for (; c0 + 8 <= cols; c0 += 8)
      for (int64_t k = 0; k < k8; k += 8) transpose8x8(M + (j0 + c0) * K + k, K, dst + k * NR + c0, NR);
  }
#endif
  for (int64_t c = 0; c < NR; ++c) {
    const int64_t kfrom = c < c0 ? k8 : 0;
    if (c >= cols) {
      for (int64_t k = 0; k < K; ++k) dst[k * NR + c] = T(0);
      continue;
    }
    const T* src = M + (j0 + c) * K;
    for (int64_t k = kfrom; k < K; ++k) dst[k * NR + c] = src[k];
  }
}

// Runs f(p) for the NP panels: in parallel when asked and worth it (about a nanosecond per plan entry and panel:
// below ~20 µs of work a second thread costs more than it saves).
template <class F>
void for_each_panel(int64_t NP, bool parallel, const F& f) {
  if (!parallel || NP < 2) {
    for (int64_t p = 0; p < NP; ++p) f(p);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, NP, 1), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t p = r.begin(); p != r.end(); ++p) f(p);
  }, tbb::simple_partitioner());
}

// Panel p of delta_product: output columns [p·NR, p·NR + NR) of every planned row. `m` is that panel packed
// (K·NR values), or M itself when the plan reads it in place.
template <class T>
void delta_panel(const DeltaPlan& plan, const T* m, int64_t N, int64_t p, const T* bias, const T* const* ref_rows, T* out) {
  using B = xsimd::batch<T>;
  constexpr int64_t W = B::size, NV = DeltaLayout<T>::kVectors, NR = NV * W, KS = DeltaLayout<T>::kSliceRows;
  const int64_t n = plan.rows, S = plan.slices;
  const bool in_place = plan.stride != NR;
  const int64_t j0 = p * NR, cols = std::min(NR, N - j0);
  alignas(64) T tmp[NR];
  const int32_t* idx = plan.idx.data();
  for (int64_t s = 0; s < S; ++s) {
    // This slice of the panel: contiguous and L1-sized when packed; in place, rows N apart.
    const T* buf = in_place ? m + j0 + s * KS * N : m + s * KS * NR;
    for (int64_t r = 0; r < n; ++r) {
      const int64_t* o = plan.off.data() + 2 * (r * S + s);
      B a[NV], b[NV];
      for (int64_t v = 0; v < NV; ++v) a[v] = b[v] = B(T(0));
      // Two accumulator sets (even and odd entries) keep two independent chains of additions in flight.
      int64_t t = o[0];
      for (; t + 2 <= o[1]; t += 2) {
        const T* p0 = buf + idx[t];
        const T* p1 = buf + idx[t + 1];
        for (int64_t v = 0; v < NV; ++v) a[v] += B::load_aligned(p0 + v * W);
        for (int64_t v = 0; v < NV; ++v) b[v] += B::load_aligned(p1 + v * W);
      }
      if (t < o[1])
        for (int64_t v = 0; v < NV; ++v) a[v] += B::load_aligned(buf + idx[t] + v * W);
      t = o[1];
      for (; t + 2 <= o[2]; t += 2) {
        const T* p0 = buf + idx[t];
        const T* p1 = buf + idx[t + 1];
        for (int64_t v = 0; v < NV; ++v) a[v] -= B::load_aligned(p0 + v * W);
        for (int64_t v = 0; v < NV; ++v) b[v] -= B::load_aligned(p1 + v * W);
      }
      if (t < o[2])
        for (int64_t v = 0; v < NV; ++v) a[v] -= B::load_aligned(buf + idx[t] + v * W);
      T* dst = out + r * N + j0;
      if (cols == NR) {
        for (int64_t v = 0; v < NV; ++v) {
          B d = a[v] + b[v];
          if (s > 0) d = B::load_unaligned(dst + v * W) + d;
          d.store_unaligned(dst + v * W);
        }
      } else {
        for (int64_t v = 0; v < NV; ++v) (a[v] + b[v]).store_aligned(tmp + v * W);
        for (int64_t c = 0; c < cols; ++c) dst[c] = s > 0 ? dst[c] + tmp[c] : tmp[c];
      }
    }
  }
  // Bases, parents first: out_r = D_r + (bias | out_parent | reference output).
  for (const int32_t r : plan.order) {
    const int64_t q = plan.parent[static_cast<size_t>(r)];
    const T* base = q < 0 ? (bias ? bias + j0 : nullptr) : q < n ? out + q * N + j0 : ref_rows[q - n] + j0;
    if (!base) continue;
    T* dst = out + r * N + j0;
    int64_t c = 0;
    for (; c + W <= cols; c += W) (B::load_unaligned(dst + c) + B::load_unaligned(base + c)).store_unaligned(dst + c);
    for (; c < cols; ++c) dst[c] += base[c];
  }
}

}  // namespace

template <class T>
void pack_panels(const T* M, bool trans, int64_t K, int64_t N, T* out, int64_t parallel_from) {
  const int64_t NR = DeltaLayout<T>::width();
  for_each_panel(panels<T>(N), K * N >= parallel_from, [&](int64_t p) { pack_panel(M, trans, K, N, p, out + p * K * NR); });
}

template <class T>
void delta_product(const DeltaPlan& plan, const T* packed, int64_t K, int64_t N, const T* bias, const T* const* ref_rows, T* out,
                   bool parallel) {
  const int64_t NR = DeltaLayout<T>::width(), NP = panels<T>(N);
  if (plan.rows == 0 || N == 0) return;
  const bool in_place = plan.stride != NR;
  if (in_place && (plan.stride != N || N % NR != 0))
    throw std::invalid_argument("delta_product: a plan for M in place needs M's column count, a multiple of the panel width");
  for_each_panel(NP, parallel && plan.entries() * NP >= (int64_t{1} << 15), [&](int64_t p) {
    delta_panel(plan, in_place ? packed : packed + p * K * NR, N, p, bias, ref_rows, out);
  });
}

template <class T>
void delta_product_transposed(const DeltaPlan& plan, const T* mt, int64_t K, int64_t N, const T* bias, const T* const* ref_rows,
                              T* out, bool parallel) {
  const int64_t NR = DeltaLayout<T>::width(), NP = panels<T>(N);
  if (plan.rows == 0 || N == 0) return;
  if (plan.stride != NR) throw std::invalid_argument("delta_product_transposed: the plan must be made for packed panels");
  // Panels [p0, p1) through one buffer (not zeroed: pack_panel writes every value).
  auto panels_in = [&](int64_t p0, int64_t p1) {
    std::vector<T, ad::detail::TensorAllocator<T>> panel(static_cast<size_t>(K * NR));
    for (int64_t p = p0; p < p1; ++p) {
      pack_panel(mt, true, K, N, p, panel.data());
      delta_panel(plan, panel.data(), N, p, bias, ref_rows, out);
    }
  };
  if (!parallel || NP < 2 || plan.entries() * NP < (int64_t{1} << 15)) {
    panels_in(0, NP);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, NP, 1), [&](const tbb::blocked_range<int64_t>& r) { panels_in(r.begin(), r.end()); },
                      tbb::simple_partitioner());
  }
}

#define EBM_DELTA(T)                                                                                           \
  template struct DeltaLayout<T>;                                                                              \
  template bool BitRows::assign(const T*, int64_t, int64_t);                                                   \
  template DeltaPlan plan_tree<T>(const BitRows&, const BitRows*, int64_t);                                    \
  template DeltaPlan plan_pairs<T>(const BitRows&, const BitRows&, int64_t);                                   \
  template void pack_panels(const T*, bool, int64_t, int64_t, T*, int64_t);                                    \
  template void delta_product(const DeltaPlan&, const T*, int64_t, int64_t, const T*, const T* const*, T*, bool); \
  template void delta_product_transposed(const DeltaPlan&, const T*, int64_t, int64_t, const T*, const T* const*, T*, bool);
EBM_DELTA(float)
EBM_DELTA(double)
#undef EBM_DELTA

}  // namespace ebm::detail
