#pragma once
// Reductions and layout kernels. Sums are taken in a fixed order (fixed-size chunks combined in index
// order), so they give the same bits whatever the number of threads.
#include <cstdint>

#include "autodiff/tensor.hpp"

namespace ad::kernels {

template <class T>
T sum_all(const T* x, int64_t n);
/// x viewed as [outer, n, inner]; y[o, i] = sum_j x[o, j, i].
template <class T>
void sum_axis(const T* x, int64_t outer, int64_t n, int64_t inner, T* y);
/// y[o, i] = max_j x[o, j, i]; onehot (same layout as x) marks the first maximiser with 1, others 0.
template <class T>
void max_axis(const T* x, int64_t outer, int64_t n, int64_t inner, T* y, T* onehot);
/// Sums x over the dimensions that `to` broadcasts (numpy rules), giving a tensor of shape `to`.
template <class T>
void sum_to(const T* x, const Shape& from, T* y, const Shape& to);
/// sum_to(a * b, to) (a, b broadcasting), without materialising the product when the reduced axes form one
/// block (the adjoints of broadcasting products: [K, B, h] -> [B, h], [B, h] -> [h], [K, B, d] -> [K, 1, d]).
template <class T>
void mul_sum_to(const T* a, const Shape& sa, const T* b, const Shape& sb, T* y, const Shape& to);
/// Repeats x along broadcast dimensions to shape `to`.
template <class T>
void broadcast_to(const T* x, const Shape& from, T* y, const Shape& to);
/// y = xᵀ for x of shape [r, c].
template <class T>
void transpose(const T* x, int64_t r, int64_t c, T* y);

/// The [outer, n, inner] split of `s` around `axis`.
struct AxisSplit {
  int64_t outer, n, inner;
};
AxisSplit split_at(const Shape& s, int axis);

}  // namespace ad::kernels
