#pragma once
#include <cstdint>
#include <vector>

namespace ad::kernels {

/// C[M,N] (=|+=) op(A) op(B), with op(X) = X or Xᵀ. All operands contiguous row-major:
/// A is [M,K] (or [K,M] when ta), B is [K,N] (or [N,K] when tb).
/// Each element of C is accumulated in a fixed order, so the result does not depend on the thread count.
/// `packed_b`, if not null, is op(B) as pack_b_panels wrote it (see there); the product then skips packing B.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T* C, bool accumulate,
          const T* packed_b = nullptr);

/// Whether gemm packs B for this shape (the register-tile path; very narrow outputs use other kernels).
template <class T>
bool gemm_packs_b(int64_t N, int64_t K);

/// Number of elements of op(B) packed for gemm (K x N rounded up to whole column panels).
template <class T>
int64_t packed_b_size(int64_t N, int64_t K);

/// op(B) in the layout gemm packs it into, for every K slice at once. A product whose B is an operand that
/// does not change (a weight matrix recorded once and used by many products) can pack it once and pass it.
template <class T>
void pack_b_panels(bool tb, int64_t N, int64_t K, const T* B, T* dst);

}  // namespace ad::kernels
