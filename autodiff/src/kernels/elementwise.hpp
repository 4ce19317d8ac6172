#pragma once
// Elementwise kernels over xsimd batches. An op passes a generic lambda that works on `xsimd::batch<T>`;
// the tail is padded into a full batch, so every element goes through the same instructions (which keeps
// results identical however the range is split between threads).
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstring>

#include "autodiff/tensor.hpp"
#include "kernels/parallel.hpp"

namespace ad::kernels {

template <class T>
using Batch = xsimd::batch<T>;
template <class T>
constexpr int64_t kLanes = static_cast<int64_t>(Batch<T>::size);
constexpr int64_t kElementGrain = 1 << 15;  // elements per parallel task

/// y[i] = f(x[i])
template <class T, class F>
void map(const T* x, T* y, int64_t n, F f) {
  constexpr int64_t W = kLanes<T>;
  parallel_range(n, kElementGrain, 2 * kElementGrain, [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    for (; i + W <= hi; i += W) f(Batch<T>::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < hi) {
      alignas(64) T buf[W] = {};
      std::copy(x + i, x + hi, buf);
      f(Batch<T>::load_aligned(buf)).store_aligned(buf);
      std::copy(buf, buf + (hi - i), y + i);
    }
  });
}

/// y[i] = f(a[i], b[i]) over same-length arrays; stride 0 broadcasts one operand's first element.
template <class T, class F>
void zip_flat(const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n, F f) {
  constexpr int64_t W = kLanes<T>;
  auto run = [&](int64_t lo, int64_t hi) {
    const Batch<T> ca(a[0]), cb(b[0]);
    int64_t i = lo;
    for (; i + W <= hi; i += W) {
      const Batch<T> va = sa ? Batch<T>::load_unaligned(a + i) : ca;
      const Batch<T> vb = sb ? Batch<T>::load_unaligned(b + i) : cb;
      f(va, vb).store_unaligned(y + i);
    }
    if (i < hi) {
      alignas(64) T ba[W] = {}, bb[W] = {};
      for (int64_t k = i; k < hi; ++k) {
        ba[k - i] = sa ? a[k] : a[0];
        bb[k - i] = sb ? b[k] : b[0];
      }
      f(Batch<T>::load_aligned(ba), Batch<T>::load_aligned(bb)).store_aligned(ba);
      std::copy(ba, ba + (hi - i), y + i);
    }
  };
  parallel_range(n, kElementGrain, 2 * kElementGrain, run);
}

/// Right-aligned broadcast layout of one operand against the output shape (rank padded to 4).
struct Strides4 {
  int64_t dims[4];
  int64_t a[4], b[4];
};

inline Strides4 broadcast_strides(const Shape& sa, const Shape& sb, const Shape& out) {
  Strides4 s{};
  auto fill = [&](const Shape& in, int64_t* st) {
    int64_t stride = 1;
    for (int k = 3; k >= 0; --k) {
      const int ax = in.rank() - (4 - k);
      const int64_t d = ax >= 0 ? in[ax] : 1;
      st[k] = (d == 1) ? 0 : stride;
      stride *= d;
    }
  };
  for (int k = 0; k < 4; ++k) {
    const int ax = out.rank() - (4 - k);
    s.dims[k] = ax >= 0 ? out[ax] : 1;
  }
  fill(sa, s.a);
  fill(sb, s.b);
  return s;
}

/// y = f(a, b) with numpy broadcasting of a and b to `out` (already validated).
template <class T, class F>
void zip(const T* a, const Shape& sa, const T* b, const Shape& sb, T* y, const Shape& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const bool a_full = sa.numel() == n, b_full = sb.numel() == n;
  const bool a_one = sa.numel() == 1, b_one = sb.numel() == 1;
  if ((a_full || a_one) && (b_full || b_one)) {
    zip_flat(a, a_full ? 1 : 0, b, b_full ? 1 : 0, y, n, f);
    return;
  }
  const Strides4 s0 = broadcast_strides(sa, sb, out);
  // Coalesce adjacent axes along which both operands are laid out alike (e.g. [K, B, h] * [B, h] is
  // [K, B h] * [1, B h]), so that the inner rows are long and the outer index is rarely recomputed.
  Strides4 s{{1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  int top = 3;  // s holds axes top+1 .. 3, innermost last
  for (int k = 3; k >= 0; --k) {
    if (s0.dims[k] == 1) continue;
    if (top < 3 && s0.a[k] == s.a[top + 1] * s.dims[top + 1] && s0.b[k] == s.b[top + 1] * s.dims[top + 1]) {
      s.dims[top + 1] *= s0.dims[k];
      continue;
    }
    s.dims[top] = s0.dims[k];
    s.a[top] = s0.a[k];
    s.b[top] = s0.b[k];
    --top;
  }
  const int64_t inner = s.dims[3], outer = n / inner;
  // Tasks are (row range) for short rows, (row, column piece) for rows longer than one grain.
  const int64_t pieces = (inner + kElementGrain - 1) / kElementGrain, piece = (inner + pieces - 1) / pieces;
  constexpr int64_t W = kLanes<T>;
  auto rows = [&](int64_t lo, int64_t hi, int64_t c0, int64_t c1) {
    int64_t i2 = lo % s.dims[2], i1 = (lo / s.dims[2]) % s.dims[1], i0 = lo / (s.dims[2] * s.dims[1]);
    for (int64_t o = lo; o < hi; ++o) {
      const T* pa = a + i0 * s.a[0] + i1 * s.a[1] + i2 * s.a[2];
      const T* pb = b + i0 * s.b[0] + i1 * s.b[1] + i2 * s.b[2];
      T* py = y + o * inner;
      const int64_t sa3 = s.a[3], sb3 = s.b[3];
      const Batch<T> ca(pa[0]), cb(pb[0]);
      int64_t i = c0;
      if (sa3 && sb3)
        for (; i + W <= c1; i += W) f(Batch<T>::load_unaligned(pa + i), Batch<T>::load_unaligned(pb + i)).store_unaligned(py + i);
      else if (sa3)
        for (; i + W <= c1; i += W) f(Batch<T>::load_unaligned(pa + i), cb).store_unaligned(py + i);
      else
        for (; i + W <= c1; i += W) f(ca, sb3 ? Batch<T>::load_unaligned(pb + i) : cb).store_unaligned(py + i);
      if (i < c1) {
        alignas(64) T ba[W] = {}, bb[W] = {};
        for (int64_t k = i; k < c1; ++k) {
          ba[k - i] = sa3 ? pa[k] : pa[0];
          bb[k - i] = sb3 ? pb[k] : pb[0];
        }
        f(Batch<T>::load_aligned(ba), Batch<T>::load_aligned(bb)).store_aligned(ba);
        std::copy(ba, ba + (c1 - i), py + i);
      }
      if (++i2 == s.dims[2]) {
        i2 = 0;
        if (++i1 == s.dims[1]) {
          i1 = 0;
          ++i0;
        }
      }
    }
  };
  if (pieces == 1) {
    parallel_range(outer, std::max<int64_t>(1, kElementGrain / std::max<int64_t>(inner, 1)), 2,
                   [&](int64_t lo, int64_t hi) { rows(lo, hi, 0, inner); });
  } else {
    parallel_range(outer * pieces, 1, 2, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t o = t / pieces, c0 = (t % pieces) * piece;
        rows(o, o + 1, c0, std::min(inner, c0 + piece));
      }
    });
  }
}

/// numpy broadcasting of two shapes; throws ShapeError naming both.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

}  // namespace ad::kernels
