// Row shards (shards.hpp): the split, the ordered reduction, and a loss whose per-shard gradients, added in shard
// order, agree with the one-tape computation and are the same bits on 1 and 2 threads.
#include <doctest/doctest.h>

#include <atomic>
#include <autodiff/autodiff.hpp>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>
#include "../thread_check.hpp"

namespace {

template <class T>
ad::Tensor<T> filled(const ad::Shape& s, double phase) {
  ad::Tensor<T> t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(std::sin(phase + 0.37 * static_cast<double>(i)));
  return t;
}

/// Per-row energies of a small two-layer tanh network: [rows].
template <class T>
ad::Var<T> energies(const ad::Var<T>& X, const ad::Var<T>& W1, const ad::Var<T>& W2) {
  return ad::sum(ad::tanh(ad::matmul(X, W1, false, true)) * W2, 1);
}

// Large enough for the kernels inside a shard to run in parallel too (301 x 40 x 64 products).
struct Net {
  ad::Tensor<double> X = filled<double>(ad::Shape{301, 40}, 0.1), W1 = filled<double>(ad::Shape{64, 40}, 1.3),
                     W2 = filled<double>(ad::Shape{64}, 2.1);
};

/// ∇ of the row-mean energy over (W1, W2), computed on `shards` row shards, each on its own tape.
template <class T>
std::vector<ad::Tensor<T>> sharded_gradients(const Net& net, int shards) {
  const ad::Tensor<T> X = net.X.cast<T>(), W1 = net.W1.cast<T>(), W2 = net.W2.cast<T>();
  const auto ranges = ad::split_rows(X.rows(), shards);
  std::vector<std::unique_ptr<ad::Tape<T>>> tapes;
  std::vector<std::vector<ad::Var<T>>> grads(static_cast<size_t>(shards));
  for (int s = 0; s < shards; ++s) tapes.push_back(std::make_unique<ad::Tape<T>>());
  ad::for_each_shard(shards, [&](int s) {
    ad::Tape<T>& tape = *tapes[static_cast<size_t>(s)];
    const ad::Var<T> w1 = tape.variable(W1), w2 = tape.variable(W2);
    const ad::Var<T> x = tape.constant(ad::rows_of(X, ranges[static_cast<size_t>(s)]));
    const ad::Var<T> L = ad::sum(energies(x, w1, w2)) * (T(1) / static_cast<T>(X.rows()));
    grads[static_cast<size_t>(s)] = ad::grad<T>({L}, {w1, w2});
  });
  std::vector<ad::Tensor<T>> out{ad::Tensor<T>(W1.shape()), ad::Tensor<T>(W2.shape())};
  for (size_t k = 0; k < out.size(); ++k) {
    std::vector<const T*> parts;
    for (const auto& g : grads) parts.push_back(g[k].data());
    ad::add_in_order(out[k], parts);
  }
  return out;
}

}  // namespace

TEST_CASE("split_rows: contiguous ranges covering the rows, sizes within one, larger ones first") {
  for (const int64_t rows : {0, 1, 7, 128, 1000})
    for (const int shards : {1, 2, 3, 8}) {
      const auto r = ad::split_rows(rows, shards);
      REQUIRE(r.size() == static_cast<size_t>(shards));
      CHECK(r.front().begin == 0);
      CHECK(r.back().end == rows);
      for (size_t s = 0; s + 1 < r.size(); ++s) {
        CHECK(r[s].end == r[s + 1].begin);
        CHECK(r[s].size() >= r[s + 1].size());
        CHECK(r[s].size() - r[s + 1].size() <= 1);
      }
    }
  CHECK_THROWS_AS(ad::split_rows(10, 0), std::invalid_argument);
  CHECK_THROWS_AS(ad::split_rows(-1, 2), std::invalid_argument);
}

TEST_CASE("rows_of copies the rows of a matrix or the elements of a vector, and rejects ranges outside") {
  const ad::Tensor<double> m = filled<double>(ad::Shape{5, 3}, 0.0);
  const ad::Tensor<double> r = ad::rows_of(m, {1, 4});
  REQUIRE(r.shape() == ad::Shape{3, 3});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(r.at(i, j) == m.at(i + 1, j));
  const ad::Tensor<float> v = filled<float>(ad::Shape{6}, 0.5);
  const ad::Tensor<float> e = ad::rows_of(v, {4, 6});
  REQUIRE(e.shape() == ad::Shape{2});
  CHECK(e[0] == v[4]);
  CHECK(e[1] == v[5]);
  CHECK(ad::rows_of(m, {2, 2}).rows() == 0);
  CHECK_THROWS_AS(ad::rows_of(m, {3, 6}), std::invalid_argument);
  CHECK_THROWS_AS(ad::rows_of(m, {3, 2}), std::invalid_argument);
  CHECK_THROWS_AS(ad::rows_of(ad::Tensor<double>::scalar(1.0), {0, 1}), ad::ShapeError);
}

TEST_CASE("add_in_order adds the parts left to right, on the parallel path too, and may write over a part") {
  // Float sums depend on their order, so equality with the serial left-to-right sum checks the order.
  const int64_t n = (int64_t{1} << 17) + 123;  // above the parallel threshold, not a multiple of the block
  const ad::Tensor<float> a = filled<float>(ad::Shape{n}, 0.0), b = filled<float>(ad::Shape{n}, 1e3),
                          c = filled<float>(ad::Shape{n}, -7.0);
  std::vector<float> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = (a[i] * 1e-3f + b[i] * 1e3f) + c[i];
  ad::Tensor<float> sa(a.shape()), sb(b.shape());
  for (int64_t i = 0; i < n; ++i) {
    sa[i] = a[i] * 1e-3f;
    sb[i] = b[i] * 1e3f;
  }
  for (const int threads : {1, 2}) {
    ad::ThreadLimit limit(threads);
    if (threads > 1) REQUIRE_THREADS(threads);
    ad::Tensor<float> out(a.shape());
    ad::add_in_order(out, {sa.data(), sb.data(), c.data()});
    int64_t differ = 0;
    for (int64_t i = 0; i < n; ++i) differ += out[i] != want[static_cast<size_t>(i)];
    CHECK(differ == 0);
    ad::Tensor<float> in_place = sb;  // out aliases the second part
    ad::add_in_order(in_place, {sa.data(), in_place.data(), c.data()});
    differ = 0;
    for (int64_t i = 0; i < n; ++i) differ += in_place[i] != want[static_cast<size_t>(i)];
    CHECK(differ == 0);
  }
  ad::Tensor<float> out(a.shape());
  CHECK_THROWS_AS(ad::add_in_order(out, {}), std::invalid_argument);
}

TEST_CASE("for_each_shard runs every shard once, and rethrows a shard's exception") {
  for (const int threads : {1, 2}) {
    ad::ThreadLimit limit(threads);
    if (threads > 1) REQUIRE_THREADS(threads);
    std::vector<std::atomic<int>> runs(5);
    ad::for_each_shard(5, [&](int s) { runs[static_cast<size_t>(s)]++; });
    for (const auto& r : runs) CHECK(r.load() == 1);
    CHECK_THROWS_WITH_AS(ad::for_each_shard(3,
                                            [](int s) {
                                              if (s == 1) throw std::runtime_error("shard 1 failed");
                                            }),
                         "shard 1 failed", std::runtime_error);
  }
  ad::for_each_shard(0, [](int) { FAIL("no shard to run"); });
}

TEST_CASE("a sharded row-mean loss: gradients equal the one-tape ones (float64) and match bit for bit on 1 and 2 threads") {
  const Net net;
  ad::Tape<double> tape;
  const ad::Var<double> w1 = tape.variable(net.W1), w2 = tape.variable(net.W2);
  const auto want = ad::grad<double>({ad::mean(energies(tape.constant(net.X), w1, w2))}, {w1, w2});
  for (const int shards : {1, 2, 3, 5}) {
    CAPTURE(shards);
    const auto got = sharded_gradients<double>(net, shards);
    for (size_t k = 0; k < got.size(); ++k)
      for (int64_t i = 0; i < got[k].numel(); ++i) CHECK(got[k][i] == doctest::Approx(want[k].data()[i]).epsilon(1e-13));
  }
  for (const int shards : {2, 3}) {
    std::vector<ad::Tensor<float>> by_threads[2];
    for (const int threads : {1, 2}) {
      ad::ThreadLimit limit(threads);
      if (threads > 1) REQUIRE_THREADS(threads);
      by_threads[threads - 1] = sharded_gradients<float>(net, shards);
    }
    for (size_t k = 0; k < 2; ++k)
      for (int64_t i = 0; i < by_threads[0][k].numel(); ++i) CHECK(by_threads[0][k][i] == by_threads[1][k][i]);
  }
}
