#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
// A generator is fully described by (seed, stream, counter): streams are independent, so giving every chain,
// probe or worker its own stream makes results identical whatever the thread count. The state is three
// integers plus a small buffer, so checkpoints can store and restore it exactly.
#include <array>
#include <cstdint>

#include "autodiff/tensor.hpp"

namespace ad {

class Rng {
 public:
  /// Everything needed to resume a generator bit-exactly.
  struct State {
    uint64_t seed = 0, stream = 0, counter = 0;
    uint32_t used = 4;  // how many of the current block's four words were consumed
    bool has_spare = false;
    double spare = 0;   // the second Box-Muller normal
  };

  explicit Rng(uint64_t seed = 0, uint64_t stream = 0);
  explicit Rng(const State& s);

  uint32_t next_u32();
  uint64_t next_u64();
  /// Uniform on [0, 1), 53 random bits.
  double uniform();
  /// Uniform on (0, 1]: safe inside log().
  double uniform_pos() { return 1.0 - uniform(); }
  /// Standard normal (Box-Muller; the pair's second value is kept for the next call).
  double normal();
  /// ±1 with probability 1/2 each.
  double rademacher() { return (next_u32() & 1u) ? 1.0 : -1.0; }
  /// Uniform integer in [0, n), without modulo bias.
  uint64_t below(uint64_t n);
  /// An independent generator: same seed, stream derived from this stream and `child`.
  Rng split(uint64_t child) const;

  State state() const { return state_; }
  uint64_t seed() const { return state_.seed; }
  uint64_t stream() const { return state_.stream; }

 private:
  void refill();
  State state_;
  std::array<uint32_t, 4> block_{};
};

/// i.i.d. N(mean, stddev²) draws, vectorised and filled in parallel; the values do not depend on the thread count.
///
/// Stream layout. Let (seed, stream, c) be the generator's state, c its next unused block counter (words left
/// over from a partly used block, and a pending `normal()` spare, are skipped). Element i (row-major) comes from
/// Philox block c + ⌊i/4⌋ with words (w0, w1, w2, w3): with r = sqrt(-2 ln u(w0)), a = 2π v(w1), elements 4b and
/// 4b+1 are r cos a and r sin a; w2, w3 give elements 4b+2 and 4b+3 the same way. u(w) ∈ (0, 1] and
/// v(w) ∈ [0, 1) use the top 24 bits of w for float ((⌊w/256⌋ + 1)·2⁻²⁴, ⌊w/256⌋·2⁻²⁴) and all 32 for double
/// ((w + 1)·2⁻³², w·2⁻³²); the arithmetic is done in T. Afterwards the generator's counter is c + ⌈n/4⌉ (a partly
/// used last block is discarded), so consecutive fills draw disjoint blocks.
template <class T>
void fill_normal(Tensor<T>& t, Rng& rng, T mean = 0, T stddev = 1);
/// The same for n values at `out` (a sampler's chain row, drawn from that chain's generator). Fewer than 64
/// values are computed block by block with the scalar functions (a d = 2 chain needs one block, not the 16 of a
/// vector group), so the bits depend on n's range as well as on the stream, never on the thread count.
template <class T>
void fill_normal(T* out, int64_t n, Rng& rng, T mean = 0, T stddev = 1);
/// Bernoulli draws out[i] = 1 if u_i < p[i], else 0 (i < n), vectorised; for block Gibbs sampling of binary units.
/// Stream layout: with c the generator's next unused block counter (as for fill_normal: leftover words and a
/// pending normal spare are skipped), u_i = w · 2⁻³² where w is word i mod 4 of Philox block c + ⌊i/4⌋; the
/// comparison is made in double. Afterwards the counter is c + ⌈n/4⌉. 32 bits per draw, against the 64 of
/// uniform(): a probability is resolved to 2⁻³², far below any Monte Carlo error. out may alias p.
template <class T>
void fill_bernoulli(const T* p, T* out, int64_t n, Rng& rng);
/// Bernoulli draws with probabilities σ(z[i]) (i < n), from the stream positions of fill_bernoulli: out[i] = 1 if
/// u_i < σ(z_i), else 0, decided without computing σ (Note [Bernoulli from logits] in random.cpp), so the draws
/// are fill_bernoulli(σ(z))'s except where u_i lies within rounding of σ(z_i). `out` may be null or alias z.
/// `bits`, if not null, receives the draws packed: bit i % 64 of bits[i / 64] (⌈n/64⌉ words, the last one's unused
/// bits zero). Returns false if some z_i is NaN (its draw is 0); ±∞ draw 1 and 0.
template <class T>
bool fill_bernoulli_logit(const T* z, T* out, uint64_t* bits, int64_t n, Rng& rng);
/// Fill with i.i.d. draws, row by row, consuming the generator in element order.
template <class T>
void fill_uniform(Tensor<T>& t, Rng& rng, T lo = 0, T hi = 1);
template <class T>
void fill_rademacher(Tensor<T>& t, Rng& rng);

/// Shape-returning conveniences.
template <class T>
Tensor<T> randn(const Shape& shape, Rng& rng) {
  Tensor<T> t(shape);
  fill_normal(t, rng);
  return t;
}

}  // namespace ad
