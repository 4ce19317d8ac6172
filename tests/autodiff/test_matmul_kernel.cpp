// The GEMM behind ad::matmul against a naive triple loop, on shapes chosen to reach each of its code paths:
// the column split for few row panels (whole panels read in place, a packed partial last panel, a partial
// last column panel, K cut into several slices), the row-panel path for many rows, and the narrow-N kernels.
// Every element must match the naive sum to rounding, and 1 and 2 threads must agree bit for bit.
#include <doctest/doctest.h>

#include <autodiff/autodiff.hpp>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "expect_ad.hpp"
#include "kernels/gemm.hpp"
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

namespace {

template <class T>
Tensor<T> uniform_as(const Shape& shape, uint64_t seed) {
  const Tensor<double> d = test::uniform(shape, -1, 1, seed);
  Tensor<T> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(d[i]);
  return t;
}

// With B a constant, its packing is kept on the tape and reused by a second product (Note [Packed operands]);
// with B computed (b · 1), the product packs it itself. Both must give the same bits.
template <class T>
Tensor<T> product(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
  ad::Tape<T> tape;
  const ad::Var<T> A = tape.constant(a), B = tape.constant(b);
  const Tensor<T> first = ad::matmul(A, B, ta, tb).value(), again = ad::matmul(A, B, ta, tb).value();
  const Tensor<T> computed = ad::matmul(A, B * tape.scalar(T(1)), ta, tb).value();
  for (int64_t e = 0; e < first.numel(); ++e) {
    REQUIRE(first[e] == again[e]);
    REQUIRE(first[e] == computed[e]);
  }
  return first;
}

// op(a) op(b) summed in long double, and the largest |term| sum per element for the rounding tolerance.
template <class T>
void naive(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
           std::vector<long double>& c, std::vector<long double>& mag) {
  c.assign(static_cast<size_t>(M * N), 0);
  mag.assign(static_cast<size_t>(M * N), 0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        const long double t = static_cast<long double>(ta ? a.at(k, i) : a.at(i, k)) * (tb ? b.at(j, k) : b.at(k, j));
        c[static_cast<size_t>(i * N + j)] += t;
        mag[static_cast<size_t>(i * N + j)] += std::fabs(t);
      }
}

template <class T>
void check_shape(int64_t M, int64_t N, int64_t K) {
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(ta);
      CAPTURE(tb);
      const Tensor<T> a = uniform_as<T>(ta ? Shape{K, M} : Shape{M, K}, 7);
      const Tensor<T> b = uniform_as<T>(tb ? Shape{N, K} : Shape{K, N}, 8);
      Tensor<T> one, two;
      {
        REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
        ad::ThreadLimit limit(1);
        one = product(a, b, ta, tb);
      }
      {
        ad::ThreadLimit limit(2);
        REQUIRE_THREADS(2);
        two = product(a, b, ta, tb);
      }
      REQUIRE(one.shape() == Shape{M, N});
      std::vector<long double> c, mag;
      naive(a, b, ta, tb, M, N, K, c, mag);
      const long double eps = std::numeric_limits<T>::epsilon();
      int64_t off = 0, differ = 0;
      for (int64_t e = 0; e < M * N; ++e) {
        if (std::fabs(one[e] - c[static_cast<size_t>(e)]) > 2 * K * eps * mag[static_cast<size_t>(e)]) ++off;
        if (one[e] != two[e]) ++differ;
      }
      CHECK(off == 0);
      CHECK(differ == 0);
    }
}

}  // namespace

TEST_CASE("matmul kernel: every path agrees with a naive product, and 1 and 2 threads agree bit for bit") {
  // Column split: 36 rows = 4 whole panels of 8 + a partial one; N = 130 leaves a partial column panel;
  // K = 520 is cut into 3 slices.
  check_shape<double>(36, 130, 520);
  check_shape<float>(36, 130, 520);
  check_shape<float>(128, 136, 40);  // whole row panels only
  // Row panels in parallel (more than 32 of them), a partial last one.
  check_shape<double>(300, 40, 260);
  check_shape<float>(300, 40, 260);
  // Narrow outputs: dot products, and the Aᵀ axpy kernel.
  check_shape<double>(300, 3, 70);
  check_shape<float>(300, 2, 70);
}

TEST_CASE("matmul kernel: a packing dropped by rewind lends its storage to the next operand, never its values") {
  // Note [Packed operands]: after clear/rewind the packed buffers are kept for reuse. Each round records new
  // operands of another size on the same tape (larger, smaller, the same), whose products must be their own.
  ad::Tape<double> tape;
  const std::vector<std::array<int64_t, 3>> rounds = {{36, 130, 520}, {20, 64, 100}, {36, 130, 520}, {50, 200, 600}};
  for (size_t r = 0; r < rounds.size(); ++r) {
    const auto [M, N, K] = rounds[r];
    CAPTURE(r);
    tape.clear();
    const Tensor<double> a = uniform_as<double>(Shape{M, K}, 11 + r), b = uniform_as<double>(Shape{N, K}, 21 + r);
    const Tensor<double> c = ad::matmul(tape.constant(a), tape.constant(b), false, true).value();
    std::vector<long double> want, mag;
    naive(a, b, false, true, M, N, K, want, mag);
    int64_t off = 0;
    for (int64_t e = 0; e < M * N; ++e)
      if (std::fabs(c[e] - want[static_cast<size_t>(e)]) > 2 * K * 1e-16 * mag[static_cast<size_t>(e)]) ++off;
    CHECK(off == 0);
  }
}

TEST_CASE("matmul kernel: products packing B themselves give the same bits every time when K slices differ in depth") {
  // K = 520 is cut into slices of 174, 174 and 172. The column split's pieces pack their own panels of each slice
  // into one buffer; panels laid out by each slice's own depth once let a piece that ran a slice ahead overwrite
  // the end of a panel that a piece behind was still reading (most products on 2 threads went wrong once the
  // worker was awake; a single call rarely shows it). Repeated products must all equal the 1-thread one.
  const int64_t M = 36, N = 130, K = 520;
  for (const bool ta : {false, true}) {
    CAPTURE(ta);
    const Tensor<float> a = uniform_as<float>(ta ? Shape{K, M} : Shape{M, K}, 41), b = uniform_as<float>(Shape{K, N}, 42);
    Tensor<float> want(Shape{M, N}), got(Shape{M, N});
    {
      REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
      ad::ThreadLimit limit(1);
      ad::kernels::gemm(ta, false, M, N, K, a.data(), b.data(), want.data(), false);
    }
    ad::ThreadLimit limit(2);
    REQUIRE_THREADS(2);
    int wrong = 0;
    for (int r = 0; r < 300; ++r) {
      ad::kernels::gemm(ta, false, M, N, K, a.data(), b.data(), got.data(), false);
      bool same = true;
      for (int64_t e = 0; e < M * N; ++e) same = same && got[e] == want[e];
      wrong += !same;
    }
    CHECK(wrong == 0);
  }
}
