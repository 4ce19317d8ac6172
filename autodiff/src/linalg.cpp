#include "autodiff/linalg.hpp"

#include <string>

#include "kernels/gemm.hpp"

namespace ad {

template <class T>
void matmul_into(const Tensor<T>& a, bool ta, const Tensor<T>& b, bool tb, Tensor<T>& out, bool accumulate) {
  if (a.rank() != 2 || b.rank() != 2 || out.rank() != 2)
    throw ShapeError("matmul_into: operands must be matrices, got " + a.shape().str() + ", " + b.shape().str() + " -> " +
                     out.shape().str());
  const int64_t M = ta ? a.cols() : a.rows(), K = ta ? a.rows() : a.cols();
  const int64_t Kb = tb ? b.cols() : b.rows(), N = tb ? b.rows() : b.cols();
  if (K != Kb || out.rows() != M || out.cols() != N)
    throw ShapeError("matmul_into: op(a) " + std::to_string(M) + "x" + std::to_string(K) + " times op(b) " + std::to_string(Kb) +
                     "x" + std::to_string(N) + " into " + out.shape().str());
  kernels::gemm(ta, tb, M, N, K, a.data(), b.data(), out.data(), accumulate);
}

template <class T>
void matmul_into(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, bool accumulate) {
  kernels::gemm(ta, tb, M, N, K, a, b, c, accumulate);
}

template void matmul_into(const Tensor<float>&, bool, const Tensor<float>&, bool, Tensor<float>&, bool);
template void matmul_into(const Tensor<double>&, bool, const Tensor<double>&, bool, Tensor<double>&, bool);
template void matmul_into(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float*, bool);
template void matmul_into(bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double*, bool);

}  // namespace ad
