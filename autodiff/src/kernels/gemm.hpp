#pragma once
#include <cstdint>

namespace ad::kernels {

/// C[M,N] (=|+=) op(A) op(B), with op(X) = X or Xᵀ. All operands contiguous row-major:
/// A is [M,K] (or [K,M] when ta), B is [K,N] (or [N,K] when tb).
/// Each element of C is accumulated in a fixed order, so the result does not depend on the thread count.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate);

}  // namespace ad::kernels
