#pragma once
// Batches in epochs: every row of a data set once per epoch, in a fresh random order each epoch (or, unshuffled,
// in the data set's own order every epoch, as scikit-learn's BernoulliRBM.fit takes its batches).
//
// Position p of the concatenated epochs is row perm_e[p mod n] of epoch e = p div n, and epoch e's permutation comes
// from its own stream, Rng(seed, stream).split(e) (Fisher-Yates). So the rows at a position depend on (seed,
// stream, p) alone, not on what was asked before: a training run resumed at step s draws the rows the
// uninterrupted run would have (the experiment runner's training.batches "epochs": step s takes positions
// [s·b, (s + 1)·b)).
#include <cstdint>
#include <vector>

namespace ebm::data {

class EpochOrder {
 public:
  /// n > 0 rows. Unshuffled, position p is row p mod n.
  EpochOrder(int64_t n, uint64_t seed, uint64_t stream, bool shuffled = true);
  /// The row at position p >= 0 (the permutation of p's epoch is built when first needed, then kept).
  int64_t row(int64_t p);
  int64_t rows() const { return n_; }

 private:
  void shuffle(int64_t epoch);
  int64_t n_;
  uint64_t seed_, stream_;
  bool shuffled_;
  int64_t epoch_ = -1;
  std::vector<int64_t> perm_;
};

}  // namespace ebm::data
