// Blocked GEMM: B is packed into NR-wide column panels per KC slice of K, A into MR-row panels, and an
// MR x NR register tile (MR rows x two SIMD vectors) is accumulated with FMAs. Row panels run in parallel.
// Very narrow outputs (N below half a SIMD vector, e.g. the d = 2 input layer) use dot products instead, or
// SIMD axpys along the rows of A when A is stored transposed, since an NR-wide panel would be mostly padding.
#include "kernels/gemm.hpp"

#include <algorithm>

#include <tbb/task_arena.h>
#include <type_traits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "autodiff/tensor.hpp"
#include "kernels/elementwise.hpp"

namespace ad::kernels {
namespace {

template <class T>
using Buffer = std::vector<T, ad::detail::AlignedAllocator<T>>;

// The packed-B buffer, kept per thread and reused across calls: a fresh one per call came straight from mmap
// (page faults and zeroing on every product). A call that finds its thread's buffer in use (a product started
// from a task that this thread picked up while waiting inside another product) takes a private one.
template <class T>
class PackBuffer {
 public:
  explicit PackBuffer(size_t n) {
    Slot& s = slot();
    if (!s.busy) {
      s.busy = shared_ = true;
      if (s.data.size() < n) s.data.resize(n);
      ptr_ = s.data.data();
    } else {
      own_.resize(n);
      ptr_ = own_.data();
    }
  }
  ~PackBuffer() {
    if (shared_) slot().busy = false;
  }
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  T* data() { return ptr_; }

 private:
  struct Slot {
    Buffer<T> data;
    bool busy = false;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }
  Buffer<T> own_;
  T* ptr_ = nullptr;
  bool shared_ = false;
};

template <class T>
struct Tile {
  static constexpr int64_t W = kLanes<T>;
  static constexpr int64_t NR = 2 * W;
  // 512-bit registers: 32 of them, so 8 rows x 2 vectors of accumulators fit; 256-bit: 16, so 6 rows.
  static constexpr int64_t MR = (W * sizeof(T) == 64) ? 8 : 6;
  static constexpr int64_t KC = 256;
};

// The MR x NR tile C[0..rows, 0..cols) (=|+=) Σ_k A(r, k) Bp[k ldb + c] over kc values of k, each element summed
// in k order in one register. A(r, k) is at a[r + k as] (a packed panel: as = MR; A stored transposed and read in
// place: as = M), or, with kRowsInPlace, at a[r as + k] (the rows of a row-major A read in place: as = lda).
template <class T, bool kRowsInPlace = false>
void micro_kernel(int64_t kc, const T* a, int64_t as, const T* Bp, int64_t ldb, T* C, int64_t ldc, int64_t rows,
                  int64_t cols, bool overwrite) {
  using B = Batch<T>;
  constexpr int64_t W = Tile<T>::W, NR = Tile<T>::NR, MR = Tile<T>::MR;
  B acc0[MR], acc1[MR];
  for (int64_t r = 0; r < MR; ++r) acc0[r] = acc1[r] = B(T(0));
  for (int64_t k = 0; k < kc; ++k) {
    const B b0 = B::load_unaligned(Bp + k * ldb), b1 = B::load_unaligned(Bp + k * ldb + W);
    for (int64_t r = 0; r < MR; ++r) {
      const B av(kRowsInPlace ? a[r * as + k] : a[r + k * as]);
      acc0[r] = xsimd::fma(av, b0, acc0[r]);
      acc1[r] = xsimd::fma(av, b1, acc1[r]);
    }
  }
  if (rows == MR && cols == NR) {
    for (int64_t r = 0; r < MR; ++r) {
      T* c = C + r * ldc;
      if (overwrite) {
        acc0[r].store_unaligned(c);
        acc1[r].store_unaligned(c + W);
      } else {
        (B::load_unaligned(c) + acc0[r]).store_unaligned(c);
        (B::load_unaligned(c + W) + acc1[r]).store_unaligned(c + W);
      }
    }
    return;
  }
  alignas(64) T buf[MR * NR];
  for (int64_t r = 0; r < MR; ++r) {
    acc0[r].store_aligned(buf + r * NR);
    acc1[r].store_aligned(buf + r * NR + W);
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) C[r * ldc + c] = overwrite ? buf[r * NR + c] : C[r * ldc + c] + buf[r * NR + c];
}

#if defined(__AVX__)
// dst[k NR + c] = src[c ld + k] for an 8 x 8 float block: an in-register transpose (unpack, shuffle, lane swap).
inline void transpose8x8(const float* src, int64_t ld, float* dst, int64_t ldd) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld),
         r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld),
         r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
               u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
               u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
               u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// B's columns [p NR, p NR + NR) for k in [kb, kb + kc), as dst[k NR + c] (zero beyond column N).
template <class T>
void pack_b(bool tb, int64_t N, int64_t K, const T* B, int64_t kb, int64_t kc, int64_t p, T* dst) {
  using Bt = Batch<T>;
  constexpr int64_t W = Tile<T>::W, NR = Tile<T>::NR;
  const int64_t j0 = p * NR, cols = std::min(NR, N - j0);
  if (!tb) {
    const T* src = B + kb * N + j0;
    if (cols == NR) {
      for (int64_t k = 0; k < kc; ++k) {
        Bt::load_unaligned(src + k * N).store_aligned(dst + k * NR);
        Bt::load_unaligned(src + k * N + W).store_aligned(dst + k * NR + W);
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        std::copy(src + k * N, src + k * N + cols, dst + k * NR);
        std::fill(dst + k * NR + cols, dst + (k + 1) * NR, T(0));
      }
    }
    return;
  }
  // Bᵀ stored: column j of op(B) is row j of B, contiguous in k. Read rows, write with stride NR (the panel
  // is kc NR elements, a few tens of KiB, so the scattered writes stay in L1).
  if (cols < NR) std::fill(dst, dst + kc * NR, T(0));
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    if (cols == NR) {  // 8 x 8 blocks transposed in registers, the k tail by element
      const int64_t k8 = kc / 8 * 8;
      for (int64_t c = 0; c < NR; c += 8)
        for (int64_t k = 0; k < k8; k += 8) transpose8x8(B + (j0 + c) * K + kb + k, K, dst + k * NR + c, NR);
      for (int64_t c = 0; c < NR; ++c)
        for (int64_t k = k8; k < kc; ++k) dst[k * NR + c] = B[(j0 + c) * K + kb + k];
      return;
    }
  }
#endif
  for (int64_t c = 0; c < cols; ++c) {
    const T* src = B + (j0 + c) * K + kb;
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = src[k];
  }
}

// A's rows [i0, i0 + rows) for k in [kb, kb + kc), as Ap[k MR + r] (zero beyond row M).
template <class T>
void pack_a(bool ta, int64_t M, int64_t K, const T* A, int64_t kb, int64_t kc, int64_t i0, int64_t rows, T* Ap) {
  constexpr int64_t MR = Tile<T>::MR;
  if (ta) {
    if (rows == MR) {  // fixed-size copies: vector moves, not a memmove call per k
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t r = 0; r < MR; ++r) Ap[k * MR + r] = A[(kb + k) * M + i0 + r];
      return;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = A + (kb + k) * M + i0;
      T* d = Ap + k * MR;
      for (int64_t r = 0; r < MR; ++r) d[r] = r < rows ? src[r] : T(0);
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const T* src = A + (i0 + r) * K + kb;
    for (int64_t k = 0; k < kc; ++k) Ap[k * MR + r] = src[k];
  }
  for (int64_t r = rows; r < MR; ++r)
    for (int64_t k = 0; k < kc; ++k) Ap[k * MR + r] = T(0);
}

// K in equal slices of at most KC (784 = 4 x 196, not 3 x 256 + 16: a thin last slice costs a full pass).
template <class T>
int64_t slice_depth(int64_t K) {
  const int64_t slices = (K + Tile<T>::KC - 1) / Tile<T>::KC;
  return (K + slices - 1) / slices;
}

// Whether gemm_panels splits C's columns across threads (gemm_columns) rather than its rows.
// Also for A stored transposed up to 1024 rows of C (ta: a weight's gradient Gᵀ X, M = the layer's width):
// measured with bench/gemm_bench.cpp, 512 × 784 and 512 × 512 outputs over K = 128 rows ran at 364–395 GFLOP/s
// on two threads this way against 314–335 splitting the rows (1 thread: the same within ±5 %); 1024 × 128 over
// 128–256 rows 305–313 against 234–239. Not for A in place with many rows (8192 × 128 × 128: slower both ways),
// nor wider (2048 × 784: 287 against 316; A is read in place, M values apart per k).
template <class T>
bool splits_columns(bool ta, int64_t M, int64_t N, int64_t K) {
  const int64_t NP = (N + Tile<T>::NR - 1) / Tile<T>::NR, MP = (M + Tile<T>::MR - 1) / Tile<T>::MR;
  return (MP <= 32 || (ta && M <= 1024)) && NP >= 4 && M * N * K >= (1 << 16);
}

// Packed layout of op(B): the K slices one after the other, each as its NP column panels of kc x NR (panel p
// of the slice starting at kb is at kb NP NR + p kc NR). A per-call packing holds one slice at a time.
//
// Few rows (a batch of 128): C's columns are split across threads. Each task packs its own B panels and runs every
// row panel against them, so each core keeps only its share of B in its L2 (splitting rows made both cores
// stream all of B) and a slice needs one synchronisation instead of two. Same per-element order as gemm_panels.
// The pieces own disjoint columns of C, so each runs all K slices in order on its own: one synchronisation
// per product. Whole row panels of A are read in place (rows of A, or A stored transposed): with several column
// pieces per thread, packing A would be done once per piece. Only a partial last panel is packed.
// Four pieces per thread, not one: the two cores are not equally fast at every moment, and with one piece each
// the faster waited for the slower (measured with a working ThreadLimit on 2 cores, gemm_bench, 128-row
// products: 1.6-1.7x over 1 thread with one piece per thread, 1.9-2.0x with four).
template <class T>
void gemm_columns(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate,
                  const T* packed_b) {
  constexpr int64_t NR = Tile<T>::NR, MR = Tile<T>::MR;
  const int64_t NP = (N + NR - 1) / NR, MP = (M + MR - 1) / MR;
  const int64_t KS = slice_depth<T>(K);
  PackBuffer<T> buffer(packed_b ? 0 : static_cast<size_t>(std::min(K, KS) * NP * NR));
  // Where slice kb's panels are, and whether this call packs them.
  auto slice_panels = [&](int64_t kb) { return packed_b ? const_cast<T*>(packed_b) + kb * NP * NR : buffer.data(); };
  const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
  parallel_range(NP, (NP + 4 * threads - 1) / (4 * threads), 2, [&](int64_t lo, int64_t hi) {
    alignas(64) T Ap[Tile<T>::KC * Tile<T>::MR];
    for (int64_t kb = 0; kb < K; kb += KS) {
      const int64_t kc = std::min(KS, K - kb);
      const bool overwrite = kb == 0 && !accumulate;
      T* panels = slice_panels(kb);
      // Panel p of this slice is at panels + p stride. In this call's own buffer the stride is that of the deepest
      // slice: a thinner last slice packed at p kc NR would overwrite the end of panel p - 1 of the slice before,
      // which a piece still behind by a slice may be reading.
      const int64_t stride = (packed_b ? kc : KS) * NR;
      if (!packed_b)
        for (int64_t p = lo; p < hi; ++p) pack_b(tb, N, K, B, kb, kc, p, panels + p * stride);
      // A's part of the slice, read in place: element (r, k) at a0[r + k M] when ta, else at a0[r K + k].
      const T* a0 = ta ? A + kb * M : A + kb;
      const int64_t as = ta ? M : K;
      for (int64_t rp = 0; rp < MP; ++rp) {
        const int64_t i0 = rp * MR, rows = std::min(MR, M - i0);
        if (rows < MR) pack_a(ta, M, K, A, kb, kc, i0, rows, Ap);
        const T* a = a0 + (ta ? i0 : i0 * as);
        for (int64_t p = lo; p < hi; ++p) {
          const T* bp = panels + p * stride;
          T* c = C + i0 * N + p * NR;
          const int64_t cols = std::min(NR, N - p * NR);
          if (rows < MR)
            micro_kernel(kc, Ap, MR, bp, NR, c, N, rows, cols, overwrite);
          else if (ta)
            micro_kernel(kc, a, as, bp, NR, c, N, rows, cols, overwrite);
          else
            micro_kernel<T, true>(kc, a, as, bp, NR, c, N, rows, cols, overwrite);
        }
      }
    }
  });
}

template <class T>
void gemm_panels(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate,
                 const T* packed_b) {
  if (splits_columns<T>(ta, M, N, K)) {
    gemm_columns(ta, tb, M, N, K, A, B, C, accumulate, packed_b);
    return;
  }
  constexpr int64_t NR = Tile<T>::NR, MR = Tile<T>::MR;
  const int64_t NP = (N + NR - 1) / NR, MP = (M + MR - 1) / MR;
  const int64_t work = M * N * K;
  const int64_t KS = slice_depth<T>(K);
  PackBuffer<T> buffer(packed_b ? 0 : static_cast<size_t>(std::min(K, KS) * NP * NR));
  auto slice_panels = [&](int64_t kb) { return packed_b ? const_cast<T*>(packed_b) + kb * NP * NR : buffer.data(); };
  for (int64_t kb = 0; kb < K; kb += KS) {
    const int64_t kc = std::min(KS, K - kb);
    // Every panel is packed, B stored transposed or not: reading B in place (rows N apart) measured ~10 % slower
    // on the 128-row products than packing it (contiguous panels: fewer TLB and prefetch misses).
    T* panels = slice_panels(kb);
    if (!packed_b)
      parallel_range(NP, 4, work < (1 << 16) ? NP + 1 : 8, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) pack_b(tb, N, K, B, kb, kc, p, panels + p * kc * NR);
      });
    const bool overwrite = kb == 0 && !accumulate;
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 17) / std::max<int64_t>(1, kc * N * MR));
    parallel_range(MP, grain, work < (1 << 16) ? MP + 1 : 2, [&](int64_t lo, int64_t hi) {
      alignas(64) T Ap[Tile<T>::KC * Tile<T>::MR];
      for (int64_t rp = lo; rp < hi; ++rp) {
        const int64_t i0 = rp * MR, rows = std::min(MR, M - i0);
        // Whole panels of a row-major A are read in place; A stored transposed is packed (in place, each k
        // would be a new row M elements away: a TLB miss per k once M is large).
        const bool in_place = !ta && rows == MR;
        if (!in_place) pack_a(ta, M, K, A, kb, kc, i0, rows, Ap);
        for (int64_t p = 0; p < NP; ++p) {
          const T* bp = panels + p * kc * NR;
          T* c = C + i0 * N + p * NR;
          const int64_t cols = std::min(NR, N - p * NR);
          if (in_place)
            micro_kernel<T, true>(kc, A + i0 * K + kb, K, bp, NR, c, N, rows, cols, overwrite);
          else
            micro_kernel(kc, Ap, MR, bp, NR, c, N, rows, cols, overwrite);
        }
      }
    });
  }
}

// C[i,j] = sum_k A(i,k) B(k,j) as SIMD dot products along k: for N smaller than one vector.
template <class T>
void gemm_dots(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate) {
  using Bt = Batch<T>;
  constexpr int64_t W = kLanes<T>;
  const int64_t Kp = (K + W - 1) / W * W;
  Buffer<T> cols(static_cast<size_t>(N * Kp), T(0));
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) cols[static_cast<size_t>(j * Kp + k)] = tb ? B[j * K + k] : B[k * N + j];
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, K * N));
  parallel_range(M, grain, M * N * K < (1 << 16) ? M + 1 : 2, [&](int64_t lo, int64_t hi) {
    Buffer<T> row(static_cast<size_t>(Kp), T(0));
    const bool in_place = !ta && K == Kp;  // rows of A are read where they are unless they need gathering or padding
    for (int64_t i = lo; i < hi; ++i) {
      const T* ri = A + i * K;
      if (!in_place) {
        for (int64_t k = 0; k < K; ++k) row[static_cast<size_t>(k)] = ta ? A[k * M + i] : A[i * K + k];
        ri = row.data();
      }
      for (int64_t j = 0; j < N; ++j) {
        Bt acc(T(0));
        const T* cj = cols.data() + j * Kp;
        for (int64_t k = 0; k < Kp; k += W) acc = xsimd::fma(Bt::load_unaligned(ri + k), Bt::load_aligned(cj + k), acc);
        const T v = xsimd::hadd(acc);
        C[i * N + j] = accumulate ? C[i * N + j] + v : v;
      }
    }
  });
}

// C = Aᵀ op(B) with A stored [K, M] and N below half a vector (the weight gradient of a d = 2 input layer,
// gᵀ X): a row of A is contiguous along i, so C's columns are accumulated as SIMD axpys over i, k in order.
template <class T>
void gemm_ta_narrow(bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate) {
  using Bt = Batch<T>;
  constexpr int64_t W = kLanes<T>, IB = 2 * W, NMAX = W / 2;
  const int64_t tiles = (M + IB - 1) / IB;
  parallel_range(tiles, 1, M * N * K < (1 << 16) ? tiles + 1 : 2, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t i0 = t * IB, len = std::min(IB, M - i0);
      Bt acc0[NMAX], acc1[NMAX];
      for (int64_t j = 0; j < N; ++j) acc0[j] = acc1[j] = Bt(T(0));
      alignas(64) T pad[IB] = {};
      for (int64_t k = 0; k < K; ++k) {
        const T* a = A + k * M + i0;
        if (len < IB) {
          std::copy(a, a + len, pad);
          a = pad;
        }
        const Bt a0 = Bt::load_unaligned(a), a1 = Bt::load_unaligned(a + W);
        for (int64_t j = 0; j < N; ++j) {
          const Bt b(tb ? B[j * K + k] : B[k * N + j]);
          acc0[j] = xsimd::fma(a0, b, acc0[j]);
          acc1[j] = xsimd::fma(a1, b, acc1[j]);
        }
      }
      alignas(64) T out[NMAX][IB];
      for (int64_t j = 0; j < N; ++j) {
        acc0[j].store_aligned(out[j]);
        acc1[j].store_aligned(out[j] + W);
      }
      for (int64_t r = 0; r < len; ++r)
        for (int64_t j = 0; j < N; ++j) {
          T& c = C[(i0 + r) * N + j];
          c = accumulate ? c + out[j][r] : out[j][r];
        }
    }
  });
}

}  // namespace

template <class T>
bool gemm_packs_b(int64_t N, int64_t K) {
  return N > 0 && K > 0 && !(N < kLanes<T> / 2 && K >= kLanes<T>);
}

template <class T>
int64_t packed_b_size(int64_t N, int64_t K) {
  constexpr int64_t NR = Tile<T>::NR;
  return K * ((N + NR - 1) / NR) * NR;
}

template <class T>
void pack_b_panels(bool tb, int64_t N, int64_t K, const T* B, T* dst) {
  constexpr int64_t NR = Tile<T>::NR;
  const int64_t NP = (N + NR - 1) / NR, KS = slice_depth<T>(K);
  for (int64_t kb = 0; kb < K; kb += KS) {
    const int64_t kc = std::min(KS, K - kb);
    parallel_range(NP, 4, N * K < (1 << 14) ? NP + 1 : 8, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) pack_b(tb, N, K, B, kb, kc, p, dst + kb * NP * NR + p * kc * NR);
    });
  }
}

template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate,
          const T* packed_b) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::fill(C, C + M * N, T(0));
    return;
  }
  if (ta && N < kLanes<T> / 2 && K >= kLanes<T>)
    gemm_ta_narrow(tb, M, N, K, A, B, C, accumulate);
  else if (N < kLanes<T> / 2 && K >= kLanes<T>)
    gemm_dots(ta, tb, M, N, K, A, B, C, accumulate);
  else
    gemm_panels(ta, tb, M, N, K, A, B, C, accumulate, packed_b);
}

#define AD_GEMM_INSTANTIATE(T)                                                                                  \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, const T*, const T*, T*, bool, const T*);        \
  template bool gemm_packs_b<T>(int64_t, int64_t);                                                            \
  template int64_t packed_b_size<T>(int64_t, int64_t);                                                        \
  template void pack_b_panels<T>(bool, int64_t, int64_t, const T*, T*);
AD_GEMM_INSTANTIATE(float)
AD_GEMM_INSTANTIATE(double)
#undef AD_GEMM_INSTANTIATE

}  // namespace ad::kernels
