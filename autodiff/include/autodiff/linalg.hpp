#pragma once
// Tape-free matrix products on plain tensors, for code that needs no derivatives (closed-form gradients,
// samplers' conditionals). The same packed kernel as ad::matmul on the tape: AVX-512/AVX2 register tiles,
// parallel over row or column panels, and every output element summed by one task in a fixed k order, so the
// result is bit-identical for any thread count.
#include "autodiff/tensor.hpp"

namespace ad {

/// out (=|+=) op(a) op(b), op(X) = Xᵀ when the flag is set. a, b rank 2; out must already have the shape
/// [rows of op(a), cols of op(b)] (no allocation). accumulate adds to out's values instead of overwriting them.
/// Throws ShapeError on mismatched shapes. out must not alias a or b.
template <class T>
void matmul_into(const Tensor<T>& a, bool ta, const Tensor<T>& b, bool tb, Tensor<T>& out, bool accumulate = false);

/// The same on raw row-major storage: a is [M, K] ([K, M] when ta), b is [K, N] ([N, K] when tb), c is [M, N].
template <class T>
void matmul_into(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, bool accumulate = false);

extern template void matmul_into(const Tensor<float>&, bool, const Tensor<float>&, bool, Tensor<float>&, bool);
extern template void matmul_into(const Tensor<double>&, bool, const Tensor<double>&, bool, Tensor<double>&, bool);
extern template void matmul_into(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*, bool);
extern template void matmul_into(bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double*, bool);

}  // namespace ad
