// Batches in epochs (ebm/data/epoch_order.hpp): every row once per epoch, a different order per epoch, and the
// rows at a position independent of what was asked before (what makes resumed runs draw the same batches).
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <ebm/data/epoch_order.hpp>

TEST_CASE("EpochOrder: each epoch is a permutation, epochs differ, positions are addressable in any order") {
  const int64_t n = 1000;
  ebm::data::EpochOrder order(n, 7, 8);
  std::vector<std::vector<int64_t>> epochs(3);
  for (int64_t e = 0; e < 3; ++e)
    for (int64_t i = 0; i < n; ++i) epochs[size_t(e)].push_back(order.row(e * n + i));
  for (const auto& ep : epochs) {
    std::vector<int64_t> sorted = ep;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) REQUIRE(sorted[size_t(i)] == i);  // every row exactly once
    // Shuffled: the rows that stay in place are ~Poisson(1), not most of them.
    int64_t fixed = 0;
    for (int64_t i = 0; i < n; ++i) fixed += ep[size_t(i)] == i;
    CHECK(fixed < 10);
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);
  // A fresh order asked for positions backwards, starting in epoch 2, gives the same rows.
  ebm::data::EpochOrder fresh(n, 7, 8);
  for (int64_t p = 3 * n - 1; p >= 0; p -= 7) CHECK(fresh.row(p) == epochs[size_t(p / n)][size_t(p % n)]);
  // Another seed, another order.
  ebm::data::EpochOrder other(n, 8, 8);
  int64_t same = 0;
  for (int64_t i = 0; i < n; ++i) same += other.row(i) == epochs[0][size_t(i)];
  CHECK(same < 10);
  CHECK_THROWS(ebm::data::EpochOrder(0, 7, 8));
  CHECK_THROWS(order.row(-1));
}

TEST_CASE("EpochOrder unshuffled: the data's own order, epoch after epoch (scikit-learn's BernoulliRBM.fit)") {
  const int64_t n = 250;
  ebm::data::EpochOrder order(n, 7, 8, /*shuffled=*/false);
  for (int64_t p = 0; p < 3 * n; ++p) REQUIRE(order.row(p) == p % n);
  CHECK(order.row(10 * n + 3) == 3);
  CHECK_THROWS(order.row(-1));
}
