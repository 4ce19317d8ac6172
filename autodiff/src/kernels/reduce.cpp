#include "kernels/reduce.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/elementwise.hpp"

namespace ad::kernels {
namespace {
constexpr int64_t kSumChunk = 4096;

// Sum of a contiguous run: W lanes accumulate in parallel, then a fixed horizontal add.
template <class T>
T sum_run(const T* x, int64_t n) {
  constexpr int64_t W = kLanes<T>;
  Batch<T> acc(T(0));
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += Batch<T>::load_unaligned(x + i);
  T s = xsimd::hadd(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}
}  // namespace

AxisSplit split_at(const Shape& s, int axis) {
  AxisSplit a{1, s[axis], 1};
  for (int k = 0; k < axis; ++k) a.outer *= s[k];
  for (int k = axis + 1; k < s.rank(); ++k) a.inner *= s[k];
  return a;
}

template <class T>
T sum_all(const T* x, int64_t n) {
  const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  if (chunks <= 1) return sum_run(x, n);
  std::vector<T> partial(static_cast<size_t>(chunks));
  parallel_range(chunks, 4, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c)
      partial[static_cast<size_t>(c)] = sum_run(x + c * kSumChunk, std::min(kSumChunk, n - c * kSumChunk));
  });
  T s = 0;
  for (T p : partial) s += p;
  return s;
}

template <class T>
void sum_axis(const T* x, int64_t outer, int64_t n, int64_t inner, T* y) {
  if (inner == 1) {
    parallel_range(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)), 64,
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t o = lo; o < hi; ++o) y[o] = sum_run(x + o * n, n);
                   });
    return;
  }
  // Vectorise along `inner`; tile it so that a parallel split exists even when outer == 1.
  constexpr int64_t kTile = 256;
  const int64_t tiles = (inner + kTile - 1) / kTile;
  parallel_range(outer * tiles, 1, n * inner * outer < (1 << 15) ? outer * tiles + 1 : 2, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / tiles, i0 = (t % tiles) * kTile, len = std::min(kTile, inner - i0);
      T* yo = y + o * inner + i0;
      std::fill(yo, yo + len, T(0));
      for (int64_t j = 0; j < n; ++j) {
        const T* xr = x + (o * n + j) * inner + i0;
        zip_flat(yo, 1, xr, 1, yo, len, [](auto a, auto b) { return a + b; });
      }
    }
  });
}

template <class T>
void max_axis(const T* x, int64_t outer, int64_t n, int64_t inner, T* y, T* onehot) {
  parallel_range(outer * inner, 256, 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t o = t / inner, i = t % inner;
      int64_t best = 0;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        const T v = x[(o * n + j) * inner + i];
        if (v > m || (j == 0)) {
          m = v;
          best = j;
        }
      }
      y[t] = m;
      if (onehot)
        for (int64_t j = 0; j < n; ++j) onehot[(o * n + j) * inner + i] = j == best ? T(1) : T(0);
    }
  });
}

template <class T>
void sum_to(const T* x, const Shape& from, T* y, const Shape& to) {
  if (from.numel() == to.numel()) {  // equal shapes, or only axes of extent 1 dropped ([1, 3, 2] -> [3, 2]): a copy
    std::copy(x, x + from.numel(), y);
    return;
  }
  if (to.numel() == 1) {
    y[0] = sum_all(x, from.numel());
    return;
  }
  // Pad both shapes to rank 4 (right-aligned) and reduce one broadcast axis at a time.
  int64_t cur[4], target[4];
  for (int k = 0; k < 4; ++k) {
    const int af = from.rank() - (4 - k), at = to.rank() - (4 - k);
    cur[k] = af >= 0 ? from[af] : 1;
    target[k] = at >= 0 ? to[at] : 1;
  }
  int last = -1;
  for (int k = 0; k < 4; ++k)
    if (cur[k] != target[k]) last = k;
  // One axis at a time, in a fixed order; the first reads x and the last writes y (no copy of x).
  std::vector<T> a, b;
  const T* src = x;
  for (int k = 0; k < 4; ++k) {
    if (cur[k] == target[k]) continue;
    int64_t outer = 1, inner = 1;
    for (int q = 0; q < k; ++q) outer *= cur[q];
    for (int q = k + 1; q < 4; ++q) inner *= cur[q];
    T* dst = y;
    if (k != last) {
      b.assign(static_cast<size_t>(outer * inner), T(0));
      dst = b.data();
    }
    sum_axis(src, outer, cur[k], inner, dst);
    cur[k] = 1;
    if (k != last) {
      a.swap(b);
      src = a.data();
    }
  }
}

template <class T>
void mul_sum_to(const T* a, const Shape& sa, const T* b, const Shape& sb, T* y, const Shape& to) {
  const Shape full = broadcast_shape("mul_sum_to", sa, sb);
  const Strides4 s = broadcast_strides(sa, sb, full);
  int64_t tgt[4];
  for (int k = 0; k < 4; ++k) {
    const int ax = to.rank() - (4 - k);
    tgt[k] = ax >= 0 ? to[ax] : 1;
  }
  // The axes (extent > 1) split into kept ones (y's, in order) and reduced ones, each list coalesced where both
  // operands' strides allow. The reduced ones must become one axis, the innermost kept one must be contiguous or
  // broadcast in both operands (it is vectorised); up to three other kept axes index the rows of y.
  struct Axis {
    int64_t n, sa, sb;
  };
  Axis kept[4], red[4];
  int nk = 0, nr = 0;
  auto push = [](Axis* list, int& n, const Axis& ax) {
    if (n > 0 && list[n - 1].sa == ax.sa * ax.n && list[n - 1].sb == ax.sb * ax.n) {
      // list[n-1] is the outer neighbour of ax: merge ax into it (outer-to-inner order)
      list[n - 1] = {list[n - 1].n * ax.n, ax.sa, ax.sb};
      return;
    }
    list[n++] = ax;
  };
  for (int k = 0; k < 4; ++k) {
    if (s.dims[k] == 1) continue;
    const Axis ax{s.dims[k], s.a[k], s.b[k]};
    if (tgt[k] == 1) push(red, nr, ax);
    else push(kept, nk, ax);
  }
  if (nr == 0) {  // nothing to reduce: a plain product
    zip(a, sa, b, sb, y, full, [](auto u, auto v) { return u * v; });
    return;
  }
  const Axis inner = nk > 0 ? kept[nk - 1] : Axis{1, 0, 0};
  const int nrow_axes = nk > 0 ? nk - 1 : 0;
  const bool fits = nr == 1 && (inner.n == 1 || ((inner.sa == 0 || inner.sa == 1) && (inner.sb == 0 || inner.sb == 1)));
  if (!fits) {
    std::vector<T> prod(static_cast<size_t>(full.numel()));
    zip(a, sa, b, sb, prod.data(), full, [](auto u, auto v) { return u * v; });
    sum_to(prod.data(), full, y, to);
    return;
  }
  const Axis R = red[0];
  int64_t rows = 1;
  for (int k = 0; k < nrow_axes; ++k) rows *= kept[k].n;
  // y[row, i] = Σ_r a[row, r, i] b[row, r, i], r in order: every element is summed the same way on any thread count.
  constexpr int64_t W = kLanes<T>, kTile = 16 * W;
  const int64_t I = inner.n, tiles = (I + kTile - 1) / kTile;
  const int64_t ai = I > 1 ? inner.sa : 0, bi = I > 1 ? inner.sb : 0;
  parallel_range(rows * tiles, 1, rows * R.n * I < (1 << 15) ? rows * tiles + 1 : 2, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t row = t / tiles, i0 = (t % tiles) * kTile, len = std::min(kTile, I - i0);
      int64_t oa = 0, ob = 0;
      for (int64_t k = nrow_axes - 1, rem = row; k >= 0; --k) {
        const int64_t idx = rem % kept[k].n;
        rem /= kept[k].n;
        oa += idx * kept[k].sa;
        ob += idx * kept[k].sb;
      }
      Batch<T> acc[16];
      for (auto& v : acc) v = Batch<T>(T(0));
      const int64_t nv = (len + W - 1) / W, whole = len / W;
      for (int64_t r = 0; r < R.n; ++r) {
        const T* pa = a + oa + r * R.sa + i0 * ai;
        const T* pb = b + ob + r * R.sb + i0 * bi;
        if (ai && bi) {
          for (int64_t v = 0; v < whole; ++v)
            acc[v] = xsimd::fma(Batch<T>::load_unaligned(pa + v * W), Batch<T>::load_unaligned(pb + v * W), acc[v]);
        } else {
          const Batch<T> ca(pa[0]), cb(pb[0]);
          for (int64_t v = 0; v < whole; ++v)
            acc[v] = xsimd::fma(ai ? Batch<T>::load_unaligned(pa + v * W) : ca, bi ? Batch<T>::load_unaligned(pb + v * W) : cb,
                                acc[v]);
        }
        if (whole < nv) {  // the last partial vector
          alignas(64) T ba[W] = {}, bb[W] = {};
          for (int64_t i = whole * W; i < len; ++i) {
            ba[i - whole * W] = pa[i * ai];
            bb[i - whole * W] = pb[i * bi];
          }
          acc[whole] = xsimd::fma(Batch<T>::load_aligned(ba), Batch<T>::load_aligned(bb), acc[whole]);
        }
      }
      alignas(64) T out[kTile];
      for (int64_t v = 0; v < nv; ++v) acc[v].store_aligned(out + v * W);
      std::copy(out, out + len, y + row * I + i0);
    }
  });
}

template <class T>
void broadcast_to(const T* x, const Shape& from, T* y, const Shape& to) {
  const T zero = 0;
  zip(x, from, &zero, Shape{}, y, to, [](auto a, auto) { return a; });
}

template <class T>
void transpose(const T* x, int64_t r, int64_t c, T* y) {
  constexpr int64_t kB = 32;
  const int64_t tiles_r = (r + kB - 1) / kB;
  parallel_range(tiles_r, 1, r * c < (1 << 16) ? tiles_r + 1 : 2, [&](int64_t lo, int64_t hi) {
    for (int64_t tr = lo; tr < hi; ++tr)
      for (int64_t j0 = 0; j0 < c; j0 += kB)
        for (int64_t i = tr * kB; i < std::min(r, tr * kB + kB); ++i)
          for (int64_t j = j0; j < std::min(c, j0 + kB); ++j) y[j * r + i] = x[i * c + j];
  });
}

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  int64_t dims[kMaxRank];
  for (int k = 0; k < rank; ++k) {
    const int ia = a.rank() - rank + k, ib = b.rank() - rank + k;
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) throw ShapeError(op, a, b, "cannot broadcast");
    dims[k] = da == 1 ? db : da;
  }
  return Shape::of_rank(rank, dims);
}

#define AD_INSTANTIATE(T)                                                       \
  template T sum_all(const T*, int64_t);                                        \
  template void sum_axis(const T*, int64_t, int64_t, int64_t, T*);              \
  template void max_axis(const T*, int64_t, int64_t, int64_t, T*, T*);          \
  template void sum_to(const T*, const Shape&, T*, const Shape&);               \
  template void broadcast_to(const T*, const Shape&, T*, const Shape&);         \
  template void mul_sum_to(const T*, const Shape&, const T*, const Shape&, T*, const Shape&); \
  template void transpose(const T*, int64_t, int64_t, T*);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad::kernels
