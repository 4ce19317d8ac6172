// gemm-bench: GFLOP/s of the engine's GEMM kernel on the shapes the EBM workloads use (best of N reps).
// Not built by CMake (the kernel is internal); build by hand against the autodiff library:
//   g++ -O3 -march=native -std=c++20 -I autodiff/src -I autodiff/include bench/gemm_bench.cpp \
//       build-bench/libebm_autodiff.a -ltbb -o build-bench/gemm-bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autodiff/threads.hpp"
#include "kernels/gemm.hpp"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  ad::ThreadLimit limit(threads);
  struct S {
    const char* what;
    bool ta, tb;
    int64_t M, N, K;
  };
  const S shapes[] = {
      {"L fwd1 X W1t", false, true, 128, 512, 784},   {"L fwd2 a1 W2t", false, true, 128, 512, 512},
      {"L bwd1 g W1", false, false, 128, 784, 512},   {"L bwd2 g W2", false, false, 128, 512, 512},
      {"L wgt1 gt X", true, false, 512, 784, 128},    {"L wgt2 gt a1", true, false, 512, 512, 128},
      {"S fwd1 X W1t", false, true, 1024, 128, 2},    {"S fwd2", false, true, 1024, 128, 128},
      {"S bwd1 g W1", false, false, 1024, 2, 128},    {"S bwd2", false, false, 1024, 128, 128},
      {"S wgt1 gt X", true, false, 128, 2, 1024},     {"S wgt2", true, false, 128, 128, 1024},
      {"M batched tangent", false, true, 8192, 128, 128}, {"M wgt batched", true, false, 128, 128, 8192},
      {"2048^3", false, false, 2048, 2048, 2048},
  };
  {  // correctness of the transposed-operand paths: op(B) given as B or as Bᵀ must give the same C
    const int64_t M = 37, N = 70, K = 45;
    std::vector<float> A(M * K), Bm(K * N), Bt(N * K), C1(M * N), C2(M * N);
    for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 37) % 101) * 0.01f - 0.5f;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) Bt[j * K + k] = Bm[k * N + j] = static_cast<float>((k * 131 + j * 7) % 97) * 0.01f - 0.4f;
    ad::kernels::gemm(false, false, M, N, K, A.data(), Bm.data(), C1.data(), false);
    ad::kernels::gemm(false, true, M, N, K, A.data(), Bt.data(), C2.data(), false);
    std::printf("NN vs NT identical: %s\n", C1 == C2 ? "yes" : "NO");
  }
  for (const S& s : shapes) {
    std::vector<float> A(static_cast<size_t>(s.M * s.K)), B(static_cast<size_t>(s.K * s.N)), C(static_cast<size_t>(s.M * s.N));
    for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
    const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
    const int reps = std::max(5, static_cast<int>(2e9 / flops));
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      ad::kernels::gemm(s.ta, s.tb, s.M, s.N, s.K, A.data(), B.data(), C.data(), false);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("%-20s %c%c M=%5ld N=%5ld K=%5ld  %8.1f GFLOP/s  %9.4f ms\n", s.what, s.ta ? 'T' : 'N', s.tb ? 'T' : 'N',
                long(s.M), long(s.N), long(s.K), flops / best * 1e-9, best * 1e3);
  }
}
