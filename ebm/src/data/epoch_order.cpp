#include "ebm/data/epoch_order.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "autodiff/random.hpp"

namespace ebm::data {

EpochOrder::EpochOrder(int64_t n, uint64_t seed, uint64_t stream, bool shuffled)
    : n_(n), seed_(seed), stream_(stream), shuffled_(shuffled) {
  if (n <= 0) throw std::invalid_argument("EpochOrder: a data set of " + std::to_string(n) + " rows has no epochs");
}

int64_t EpochOrder::row(int64_t p) {
  if (p < 0) throw std::invalid_argument("EpochOrder: negative position");
  if (!shuffled_) return p % n_;
  const int64_t epoch = p / n_;
  if (epoch != epoch_) shuffle(epoch);
  return perm_[static_cast<size_t>(p % n_)];
}

void EpochOrder::shuffle(int64_t epoch) {
  perm_.resize(static_cast<size_t>(n_));
  for (int64_t i = 0; i < n_; ++i) perm_[static_cast<size_t>(i)] = i;
  ad::Rng rng = ad::Rng(seed_, stream_).split(static_cast<uint64_t>(epoch));
  for (int64_t i = n_ - 1; i > 0; --i)
    std::swap(perm_[static_cast<size_t>(i)], perm_[static_cast<size_t>(rng.below(static_cast<uint64_t>(i + 1)))]);
  epoch_ = epoch;
}

}  // namespace ebm::data
