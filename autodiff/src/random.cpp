#include "autodiff/random.hpp"

#include <cmath>

namespace ad {
namespace {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Philox4x32 with 10 rounds: counter = (counter lo, counter hi, stream lo, stream hi), key = seed.
std::array<uint32_t, 4> philox(uint64_t counter, uint64_t stream, uint64_t seed) {
  std::array<uint32_t, 4> c{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
                            static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return c;
}

// splitmix64 finaliser: derives child stream ids that do not collide with small integers.
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream) {
  state_.seed = seed;
  state_.stream = stream;
}

Rng::Rng(const State& s) : state_(s) {
  if (state_.used < 4) block_ = philox(state_.counter - 1, state_.stream, state_.seed);
}

void Rng::refill() {
  block_ = philox(state_.counter++, state_.stream, state_.seed);
  state_.used = 0;
}

uint32_t Rng::next_u32() {
  if (state_.used >= 4) refill();
  return block_[state_.used++];
}

uint64_t Rng::next_u64() {
  const uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (state_.has_spare) {
    state_.has_spare = false;
    return state_.spare;
  }
  const double u1 = uniform_pos(), u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 6.283185307179586476925 * u2;
  state_.spare = r * std::sin(a);
  state_.has_spare = true;
  return r * std::cos(a);
}

uint64_t Rng::below(uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

Rng Rng::split(uint64_t child) const { return Rng(state_.seed, mix(state_.stream * 0x100000001B3ull + mix(child))); }

template <class T>
void fill_normal(Tensor<T>& t, Rng& rng, T mean, T stddev) {
  for (T& v : t) v = static_cast<T>(mean + stddev * rng.normal());
}
template <class T>
void fill_uniform(Tensor<T>& t, Rng& rng, T lo, T hi) {
  for (T& v : t) v = static_cast<T>(lo + (hi - lo) * rng.uniform());
}
template <class T>
void fill_rademacher(Tensor<T>& t, Rng& rng) {
  for (T& v : t) v = static_cast<T>(rng.rademacher());
}

template void fill_normal(Tensor<float>&, Rng&, float, float);
template void fill_normal(Tensor<double>&, Rng&, double, double);
template void fill_uniform(Tensor<float>&, Rng&, float, float);
template void fill_uniform(Tensor<double>&, Rng&, double, double);
template void fill_rademacher(Tensor<float>&, Rng&);
template void fill_rademacher(Tensor<double>&, Rng&);

}  // namespace ad
