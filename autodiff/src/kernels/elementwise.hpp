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
  const Strides4 s = broadcast_strides(sa, sb, out);
  const int64_t inner = s.dims[3], outer = n / inner;
  parallel_range(outer, std::max<int64_t>(1, kElementGrain / std::max<int64_t>(inner, 1)), 2,
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t o = lo; o < hi; ++o) {
                     const int64_t i2 = o % s.dims[2], i1 = (o / s.dims[2]) % s.dims[1], i0 = o / (s.dims[2] * s.dims[1]);
                     const T* pa = a + i0 * s.a[0] + i1 * s.a[1] + i2 * s.a[2];
                     const T* pb = b + i0 * s.b[0] + i1 * s.b[1] + i2 * s.b[2];
                     const int64_t sa3 = s.a[3], sb3 = s.b[3];
                     // Serial inner row: the outer loop already carries the parallelism.
                     constexpr int64_t W = kLanes<T>;
                     T* py = y + o * inner;
                     const Batch<T> ca(pa[0]), cb(pb[0]);
                     int64_t i = 0;
                     for (; i + W <= inner; i += W) {
                       const Batch<T> va = sa3 ? Batch<T>::load_unaligned(pa + i) : ca;
                       const Batch<T> vb = sb3 ? Batch<T>::load_unaligned(pb + i) : cb;
                       f(va, vb).store_unaligned(py + i);
                     }
                     if (i < inner) {
                       alignas(64) T ba[W] = {}, bb[W] = {};
                       for (int64_t k = i; k < inner; ++k) {
                         ba[k - i] = sa3 ? pa[k] : pa[0];
                         bb[k - i] = sb3 ? pb[k] : pb[0];
                       }
                       f(Batch<T>::load_aligned(ba), Batch<T>::load_aligned(bb)).store_aligned(ba);
                       std::copy(ba, ba + (inner - i), py + i);
                     }
                   }
                 });
}

/// numpy broadcasting of two shapes; throws ShapeError naming both.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

}  // namespace ad::kernels
