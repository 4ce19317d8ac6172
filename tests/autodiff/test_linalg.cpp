// ad::matmul_into (the tape-free product) against a naive triple loop, for every transpose combination, odd shapes
// (partial register tiles and panels), accumulation, float and double, and 1 vs 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <tuple>

#include "autodiff/linalg.hpp"
#include "autodiff/random.hpp"
#include "autodiff/threads.hpp"
#include "../thread_check.hpp"

namespace {

template <class T>
ad::Tensor<T> random_matrix(int64_t r, int64_t c, ad::Rng& rng) {
  ad::Tensor<T> t(ad::Shape{r, c});
  for (T& v : t) v = static_cast<T>(2 * rng.uniform() - 1);
  return t;
}

template <class T>
void check_all(double tol) {
  ad::Rng rng(17, sizeof(T));
  for (auto shape : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {100, 37, 784}, {9, 130, 65}, {64, 3, 200}}) {
    const int64_t m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool acc : {false, true}) {
          INFO("m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb << " accumulate " << acc);
          const ad::Tensor<T> a = ta ? random_matrix<T>(k, m, rng) : random_matrix<T>(m, k, rng);
          const ad::Tensor<T> b = tb ? random_matrix<T>(n, k, rng) : random_matrix<T>(k, n, rng);
          const ad::Tensor<T> start = random_matrix<T>(m, n, rng);
          ad::Tensor<T> out = start, out1 = start;
          ad::matmul_into(a, ta, b, tb, out, acc);
          {
            REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
            ad::ThreadLimit one(1);
            ad::matmul_into(a, ta, b, tb, out1, acc);
          }
          double worst = 0;
          bool same = true;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double s = acc ? double(start.at(i, j)) : 0.0;
              for (int64_t p = 0; p < k; ++p) s += double(ta ? a.at(p, i) : a.at(i, p)) * double(tb ? b.at(j, p) : b.at(p, j));
              worst = std::max(worst, std::abs(double(out.at(i, j)) - s) / (1 + std::abs(s)));
              same &= out.at(i, j) == out1.at(i, j);
            }
          CHECK(worst <= tol * double(k));
          CHECK(same);
        }
  }
}

}  // namespace

TEST_CASE("matmul_into equals a naive product for every transpose flag, odd shapes, with and without accumulation") {
  check_all<double>(1e-15);
  check_all<float>(1e-6);
}

TEST_CASE("matmul_into rejects mismatched shapes") {
  ad::Tensor<double> a(ad::Shape{3, 4}), b(ad::Shape{5, 2}), out(ad::Shape{3, 2});
  CHECK_THROWS_AS(ad::matmul_into(a, false, b, false, out), ad::ShapeError);
  ad::Tensor<double> b2(ad::Shape{4, 2}), wrong(ad::Shape{2, 3});
  CHECK_THROWS_AS(ad::matmul_into(a, false, b2, false, wrong), ad::ShapeError);
  CHECK_NOTHROW(ad::matmul_into(a, false, b2, false, out));
}
