#pragma once
// Persistent chains and the replay buffer of Du & Mordatch (2019) / Grathwohl et al. (2020, JEM).
//
// The buffer holds `capacity` slots, each a chain position with its own generator: a ChainState of
// `capacity` rows. Training draws a batch of distinct slots; each drawn slot is re-initialised with fresh
// noise with probability `reinit_prob` (5% in both papers), the batch is advanced by any sampler (usually
// a few Langevin steps), and `write_back` returns the final positions and generator states to their
// slots. With capacity equal to the batch size every slot is drawn every time (in slot order): that is
// persistent contrastive divergence (Tieleman 2008) with random restarts.
//
// All randomness is reproducible: slot choice and restart decisions come from the buffer's own generator,
// fresh noise and the sampler's moves from each slot's generator. `save`/`load` write and read the whole
// buffer (slots, slot generators, buffer generator) as a binary blob, so a training checkpoint can include
// it and resume bit-exactly.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include "autodiff/random.hpp"
#include "samplers/state.hpp"

namespace samplers {

enum class InitNoise { uniform, normal };

struct ReplayOptions {
  int64_t capacity = 10000;
  double reinit_prob = 0.05;
  InitNoise noise = InitNoise::uniform;  // U[lo, hi) (images scaled to [−1, 1] in IGEBM and JEM) or N(0, sd²)
  double lo = -1, hi = 1, sd = 1;
  /// Optional custom initialiser of one row (dim values) from that slot's generator; overrides `noise`.
  std::function<void(double* row, int64_t dim, ad::Rng& rng)> init{};
};

template <class T>
class ReplayBuffer {
 public:
  /// A buffer of `options.capacity` slots of dimension `dim`, every slot filled with fresh noise. Slot i
  /// uses ad::Rng(seed, i); the buffer's own generator is ad::Rng(seed, capacity) split once, so it shares
  /// no stream with any slot.
  ReplayBuffer(int64_t dim, ReplayOptions options, uint64_t seed);

  struct Batch {
    ChainState<T> chains;       // positions and generators of the drawn slots
    std::vector<int64_t> slots;  // slot of each row, increasing
    std::vector<uint8_t> fresh;  // 1 where the row was just re-initialised
  };
  /// `batch` distinct slots chosen uniformly (Floyd's algorithm), in increasing slot order.
  Batch draw(int64_t batch);
  /// draw(capacity()) (the same slots, restarts and draws), except that when no slot restarts the positions are
  /// moved into the batch instead of copied: persistent chains read their starting positions once and the pool
  /// gets the new ones back, so the copy out is wasted (627 KB per step for 100 Fashion-MNIST chains in double).
  /// Until write_back(batch) the buffer holds no positions: draw, lend_all, save and slots() throw
  /// std::logic_error, load ends the loan.
  Batch lend_all();
  /// Stores positions and generator states of an advanced batch back into its slots.
  void write_back(const Batch& batch);

  int64_t capacity() const { return capacity_; }
  int64_t dim() const { return dim_; }
  const ChainState<T>& slots() const;
  /// Whether lend_all's positions are out (not yet written back).
  bool lent() const { return lent_; }

  void save(std::ostream& out) const;
  /// Replaces this buffer's contents; throws std::runtime_error if the blob's capacity or dimension differ.
  void load(std::istream& in);

 private:
  void reinit(ChainState<T>& s, int64_t row);
  Batch take(int64_t batch, bool lend);
  void check_not_lent(const char* what) const;
  ReplayOptions options_;
  ChainState<T> slots_;
  int64_t capacity_, dim_;
  ad::Rng rng_;
  bool lent_ = false;
};

extern template class ReplayBuffer<float>;
extern template class ReplayBuffer<double>;

}  // namespace samplers
