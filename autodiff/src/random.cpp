#include "autodiff/random.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/parallel.hpp"

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

namespace {
// Philox blocks for 16 consecutive counters, lane j <- counter c0 + j: w[r][j] is word r of block j.
constexpr int kLanes16 = 16;
#if defined(__AVX512F__)
// The 32 × 32 → 64-bit products of the 16 lanes of x with the constant m, as their low and high words: even lanes
// from one vpmuludq, odd lanes (shifted down) from another, the halves put back in place by shifts and blends.
inline void mul_hi_lo(__m512i x, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(x, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// The rounds in registers (the scalar loop below, which GCC vectorised only in part, took ~3 of the 4.5 cycles per
// element of fill_bernoulli): the same words, bit for bit.
void philox16(uint64_t c0, uint64_t stream, uint64_t seed, uint32_t (&w)[4][kLanes16]) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i base = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(c0)));
  __m512i x0 = _mm512_add_epi32(base, lane);  // the counters' low words; a wrap carries into the high word
  const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(c0 >> 32)));
  __m512i x1 = _mm512_mask_add_epi32(high, _mm512_cmplt_epu32_mask(x0, base), high, _mm512_set1_epi32(1));
  __m512i x2 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(stream)));
  __m512i x3 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(stream >> 32)));
  const __m512i m0 = _mm512_set1_epi32(static_cast<int32_t>(kMul0)), m1 = _mm512_set1_epi32(static_cast<int32_t>(kMul1));
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mul_hi_lo(x0, m0, hi0, lo0);
    mul_hi_lo(x2, m1, hi1, lo1);
    const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32(static_cast<int32_t>(k0)));
    const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32(static_cast<int32_t>(k1)));
    x0 = n0, x1 = lo1, x2 = n2, x3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  _mm512_storeu_si512(w[0], x0);
  _mm512_storeu_si512(w[1], x1);
  _mm512_storeu_si512(w[2], x2);
  _mm512_storeu_si512(w[3], x3);
}
#else
// Written lane-wise so that the compiler vectorises the 32x32->64 multiplies.
void philox16(uint64_t c0, uint64_t stream, uint64_t seed, uint32_t (&w)[4][kLanes16]) {
  uint32_t x0[kLanes16], x1[kLanes16], x2[kLanes16], x3[kLanes16];
  for (int j = 0; j < kLanes16; ++j) {
    const uint64_t c = c0 + static_cast<uint64_t>(j);
    x0[j] = static_cast<uint32_t>(c);
    x1[j] = static_cast<uint32_t>(c >> 32);
    x2[j] = static_cast<uint32_t>(stream);
    x3[j] = static_cast<uint32_t>(stream >> 32);
  }
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
#pragma GCC unroll 1  // unrolled 16 times, the lane loop is no longer vectorised
    for (int j = 0; j < kLanes16; ++j) {
      const uint64_t p0 = static_cast<uint64_t>(kMul0) * x0[j], p1 = static_cast<uint64_t>(kMul1) * x2[j];
      const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
      const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
      const uint32_t n0 = hi1 ^ x1[j] ^ k0, n2 = hi0 ^ x3[j] ^ k1;
      x0[j] = n0;
      x1[j] = lo1;
      x2[j] = n2;
      x3[j] = lo0;
    }
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  for (int j = 0; j < kLanes16; ++j) w[0][j] = x0[j], w[1][j] = x1[j], w[2][j] = x2[j], w[3][j] = x3[j];
}
#endif

// Box-Muller uniforms from one 32-bit word (see the stream layout in random.hpp): float keeps the top 24 bits
// (exact in a float), double all 32. `radius_u` is in (0, 1] (safe in log), `angle_u` in [0, 1).
template <class T>
T radius_u(uint32_t w) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>((w >> 8) + 1u) * 0x1.0p-24f;
  else return (static_cast<double>(w) + 1.0) * 0x1.0p-32;
}
template <class T>
T angle_u(uint32_t w) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>(w >> 8) * 0x1.0p-24f;
  else return static_cast<double>(w) * 0x1.0p-32;
}

// Normals 64 at a time: the 16 Philox blocks at counters c0 .. c0+15 give elements 4j .. 4j+3 of `out`.
template <class T>
void normal64(uint64_t c0, uint64_t stream, uint64_t seed, T mean, T stddev, T* out) {
  using B = xsimd::batch<T>;
  constexpr int W = static_cast<int>(B::size);
  uint32_t w[4][kLanes16];
  philox16(c0, stream, seed, w);
  alignas(64) T u[4][kLanes16], z[4][kLanes16];
  for (int j = 0; j < kLanes16; ++j) {
    u[0][j] = radius_u<T>(w[0][j]);
    u[1][j] = angle_u<T>(w[1][j]);
    u[2][j] = radius_u<T>(w[2][j]);
    u[3][j] = angle_u<T>(w[3][j]);
  }
  const B two_pi(static_cast<T>(6.283185307179586476925)), m2(T(-2)), mu(mean), sd(stddev);
  for (int pair = 0; pair < 2; ++pair)
    for (int j = 0; j < kLanes16; j += W) {
      const B r = xsimd::sqrt(m2 * xsimd::log(B::load_aligned(&u[2 * pair][j])));
      const auto [s, c] = xsimd::sincos(two_pi * B::load_aligned(&u[2 * pair + 1][j]));
      xsimd::fma(sd, r * c, mu).store_aligned(&z[2 * pair][j]);
      xsimd::fma(sd, r * s, mu).store_aligned(&z[2 * pair + 1][j]);
    }
  for (int j = 0; j < kLanes16; ++j) {
    out[4 * j] = z[0][j];
    out[4 * j + 1] = z[1][j];
    out[4 * j + 2] = z[2][j];
    out[4 * j + 3] = z[3][j];
  }
}
}  // namespace

// Stream layout: see random.hpp. Element i depends on (seed, stream, first counter, i) only, so the fill runs
// in parallel over fixed 64-element groups and gives the same bits for every thread count.
template <class T>
void fill_normal(T* out, int64_t n, Rng& rng, T mean, T stddev) {
  Rng::State s = rng.state();
  const uint64_t c0 = s.counter;
  constexpr int64_t kGroup = 4 * kLanes16;
  if (n < kGroup) {
    for (int64_t b = 0; 4 * b < n; ++b) {
      const std::array<uint32_t, 4> w = philox(c0 + static_cast<uint64_t>(b), s.stream, s.seed);
      for (int pair = 0; pair < 2; ++pair) {
        const T r = std::sqrt(T(-2) * std::log(radius_u<T>(w[2 * pair])));
        const T a = static_cast<T>(6.283185307179586476925) * angle_u<T>(w[2 * pair + 1]);
        const int64_t i = 4 * b + 2 * pair;
        if (i < n) out[i] = mean + stddev * (r * std::cos(a));
        if (i + 1 < n) out[i + 1] = mean + stddev * (r * std::sin(a));
      }
    }
  } else {
    const int64_t groups = (n + kGroup - 1) / kGroup;
    kernels::parallel_range(groups, 64, 128, [&](int64_t lo, int64_t hi) {
      for (int64_t g = lo; g < hi; ++g) {
        const uint64_t cg = c0 + static_cast<uint64_t>(g) * kLanes16;
        if ((g + 1) * kGroup <= n) {
          normal64(cg, s.stream, s.seed, mean, stddev, out + g * kGroup);
        } else {
          alignas(64) T buf[kGroup];
          normal64(cg, s.stream, s.seed, mean, stddev, buf);
          std::copy(buf, buf + (n - g * kGroup), out + g * kGroup);
        }
      }
    });
  }
  s.counter = c0 + static_cast<uint64_t>((n + 3) / 4);
  s.used = 4;
  s.has_spare = false;
  s.spare = 0;
  rng = Rng(s);
}

template <class T>
void fill_normal(Tensor<T>& t, Rng& rng, T mean, T stddev) {
  fill_normal(t.data(), t.numel(), rng, mean, stddev);
}
// Stream layout: see random.hpp. One call serves one row (a chain's units), so it runs serially: callers
// parallelise over rows, each with its own generator (samplers' Note [One stream per chain]).
#if defined(__AVX512F__)
namespace {
// Note [Bernoulli in registers]: one group of fill_bernoulli for doubles, in registers. Word j of output r of
// Philox block j (w[r][j]) decides element 4j + r; two rounds of unpacks put each block's four words together
// within 128-bit lanes, and lane shuffles put the lanes in element order. Then u = word · 2⁻³² (exact in a
// double) is compared with p, as in the scalar loop: the same draws, bit for bit.
// The group's 64 words in element order: v[q] holds those of elements 16q .. 16q + 15.
void words_in_order_avx512(const uint32_t (&w)[4][kLanes16], __m512i (&v)[4]) {
  const __m512i w0 = _mm512_loadu_si512(w[0]), w1 = _mm512_loadu_si512(w[1]);
  const __m512i w2 = _mm512_loadu_si512(w[2]), w3 = _mm512_loadu_si512(w[3]);
  const __m512i t0 = _mm512_unpacklo_epi32(w0, w1), t1 = _mm512_unpackhi_epi32(w0, w1);
  const __m512i t2 = _mm512_unpacklo_epi32(w2, w3), t3 = _mm512_unpackhi_epi32(w2, w3);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  const __m512i a = _mm512_shuffle_i32x4(u0, u1, 0x44), b = _mm512_shuffle_i32x4(u2, u3, 0x44);
  const __m512i c = _mm512_shuffle_i32x4(u0, u1, 0xEE), d = _mm512_shuffle_i32x4(u2, u3, 0xEE);
  v[0] = _mm512_shuffle_i32x4(a, b, 0x88), v[1] = _mm512_shuffle_i32x4(a, b, 0xDD);
  v[2] = _mm512_shuffle_i32x4(c, d, 0x88), v[3] = _mm512_shuffle_i32x4(c, d, 0xDD);
}

// u = word · 2⁻³² for the 8 elements 16q + 8h .. 16q + 8h + 7.
inline __m512d uniforms_avx512(const __m512i (&v)[4], int q, int h) {
  const __m256i words = h == 0 ? _mm512_castsi512_si256(v[q]) : _mm512_extracti64x4_epi64(v[q], 1);
  return _mm512_mul_pd(_mm512_cvtepu32_pd(words), _mm512_set1_pd(0x1.0p-32));
}

void bernoulli_group_avx512(const uint32_t (&w)[4][kLanes16], const double* p, double* out) {
  __m512i v[4];
  words_in_order_avx512(w, v);
  const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
  for (int q = 0; q < 4; ++q)
    for (int h = 0; h < 2; ++h) {
      const int64_t i = 16 * q + 8 * h;
      const __mmask8 on = _mm512_cmp_pd_mask(uniforms_avx512(v, q, h), _mm512_loadu_pd(p + i), _CMP_LT_OQ);
      _mm512_storeu_pd(out + i, _mm512_mask_blend_pd(on, zero, one));
    }
}
}  // namespace
#endif

template <class T>
void fill_bernoulli(const T* p, T* out, int64_t n, Rng& rng) {
  Rng::State s = rng.state();
  const uint64_t c0 = s.counter;
  constexpr int64_t kGroup = 4 * kLanes16;
  for (int64_t g = 0; g * kGroup < n; ++g) {
    uint32_t w[4][kLanes16];
    philox16(c0 + static_cast<uint64_t>(g) * kLanes16, s.stream, s.seed, w);
    const int64_t base = g * kGroup, len = std::min(kGroup, n - base);
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, double> && kLanes16 == 16) {
      if (len == kGroup) {  // the same comparisons as below, 8 at a time (Note [Bernoulli in registers])
        bernoulli_group_avx512(w, p + base, out + base);
        continue;
      }
    }
#endif
    alignas(64) uint32_t flat[kGroup];
    for (int j = 0; j < kLanes16; ++j)
      for (int r = 0; r < 4; ++r) flat[4 * j + r] = w[r][j];
    if (len == kGroup) {
      for (int64_t i = 0; i < kGroup; ++i)
        out[base + i] = static_cast<double>(flat[i]) * 0x1.0p-32 < static_cast<double>(p[base + i]) ? T(1) : T(0);
    } else {
      for (int64_t i = 0; i < len; ++i)
        out[base + i] = static_cast<double>(flat[i]) * 0x1.0p-32 < static_cast<double>(p[base + i]) ? T(1) : T(0);
    }
  }
  s.counter = c0 + static_cast<uint64_t>((n + 3) / 4);
  s.used = 4;
  s.has_spare = false;
  s.spare = 0;
  rng = Rng(s);
}

// Note [Bernoulli from logits]: u < σ(z) without σ's division. With e = exp(−|z|) ∈ [0, 1], σ(z) = 1/(1 + e) for
// z ≥ 0, so u < σ(z) ⟺ u(1 + e) < 1, and σ(z) = e/(1 + e) for z < 0, so u < σ(z) ⟺ u < e(1 − u): one
// exponential and one fused multiply-add per draw, where σ then a comparison cost an exponential, a division
// and a pass over memory more. The two sides are the same real inequality, so the draws are those of
// fill_bernoulli(σ(z)) except where u lies within rounding of σ(z) (probability ~10⁻¹⁶ per draw). A NaN z makes
// every comparison false: its draw is 0, and it is reported. (Measured: this alone was no faster than σ then
// fill_bernoulli, the exponential being most of the cost; Note [Bernoulli decided in float] is what gained.)
namespace {
template <class B>
auto logit_ones(const B& u, const B& z) {
  const B e = xsimd::exp(-xsimd::abs(z)), one(1.0);
  const auto up = xsimd::fma(u, e, u) < one;     // z ≥ 0
  const auto down = u < xsimd::fnma(u, e, e);    // z < 0 (and false for a NaN z)
  const auto pos = z >= B(0.0);
  return (pos && up) || (!pos && down);
}

// The lanes of a comparison as bits (lane i: bit i).
template <class BB>
uint64_t lane_bits(const BB& on) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<typename BB::register_type, __mmask8>) return static_cast<__mmask8>(on);
#endif
  alignas(64) bool b[BB::size];
  on.store_aligned(b);
  uint64_t m = 0;
  for (size_t i = 0; i < BB::size; ++i) m |= uint64_t{b[i]} << i;
  return m;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// Note [Bernoulli decided in float]: the exponential in double was most of a draw's cost (measured: the exact
// route above took as long as σ then fill_bernoulli). So 16 draws are first decided in float, where the
// exponential is ~3× cheaper per value, with the sign of d = 1 − u(1 + e) (z ≥ 0) or e(1 − u) − u (z < 0); a
// draw is taken from float only when |d| exceeds a margin larger than every error the float route can make, and
// the 16 are redone exactly in double otherwise. The float errors, in absolute terms on d (e ≤ 1, u < 1): u
// rounded to 24 bits, ≤ 2⁻²⁴; z rounded, which moves e by at most e·|z|·2⁻²⁴ ≤ 2⁻²⁴/2.7; exp's own error, a few
// ulp of e ≤ 1; the arithmetic, a few ulp; −|z| clamped at −80, which moves e by less than e⁻⁸⁰. All below
// 2⁻²⁰, against a margin of 2⁻¹⁶: so the draws are the exact route's, bit for bit, and a group is redone with
// probability ~16 · 2 · 2⁻¹⁶ ≈ 0.05 %. A NaN z is never decided in float.
// The 16 draws of elements i .. i + 15 (their words in element order): false if some must be decided in double.
inline bool float_draws16(__m512i words, const double* z, uint64_t& ones) {
  using F = xsimd::batch<float>;
  const __m512 zf = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_loadu_pd(z))), _mm512_cvtpd_ps(_mm512_loadu_pd(z + 8)), 1);
  if (_mm512_cmp_ps_mask(zf, zf, _CMP_ORD_Q) != 0xFFFF) return false;  // a NaN
  const F zb(zf), u(_mm512_mul_ps(_mm512_cvtepu32_ps(words), _mm512_set1_ps(0x1.0p-32f)));
  const F e = xsimd::exp(xsimd::max(-xsimd::abs(zb), F(-80.0f))), one(1.0f);
  const F d = xsimd::select(zb >= F(0.0f), one - xsimd::fma(u, e, u), xsimd::fnma(u, e, e) - u);
  const __mmask16 yes = _mm512_cmp_ps_mask(d, _mm512_set1_ps(0x1.0p-16f), _CMP_GT_OQ);
  const __mmask16 no = _mm512_cmp_ps_mask(d, _mm512_set1_ps(-0x1.0p-16f), _CMP_LT_OQ);
  if (static_cast<__mmask16>(yes | no) != 0xFFFF) return false;
  ones = yes;
  return true;
}
#endif

// One group of 64 draws from logits z[0..63] (as doubles): their 0/1 values into out (if not null), returned as
// the bits of one word (bit i: draw i); nan |= some z is NaN.
uint64_t bernoulli_logit_group(const uint32_t (&w)[4][kLanes16], const double* z, double* out, bool& nan) {
  using B = xsimd::batch<double>;
  uint64_t word = 0;
#if defined(__AVX512F__)
  if constexpr (B::size == 8) {
    __m512i v[4];
    words_in_order_avx512(w, v);
    const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd();
    for (int q = 0; q < 4; ++q) {
#if defined(__AVX512DQ__)
      uint64_t ones;
      if (float_draws16(v[q], z + 16 * q, ones)) {  // Note [Bernoulli decided in float]
        word |= ones << (16 * q);
        if (out)
          for (int h = 0; h < 2; ++h)
            _mm512_storeu_pd(out + 16 * q + 8 * h, _mm512_mask_blend_pd(static_cast<__mmask8>(ones >> (8 * h)), zero, one));
        continue;
      }
#endif
      for (int h = 0; h < 2; ++h) {
        const int64_t i = 16 * q + 8 * h;
        const B zb = B::load_unaligned(z + i);
        const auto on = logit_ones(B(uniforms_avx512(v, q, h)), zb);
        nan |= xsimd::any(xsimd::isnan(zb));
        word |= lane_bits(on) << i;
        if (out) xsimd::select(on, B(1.0), B(0.0)).store_unaligned(out + i);
      }
    }
    return word;
  }
#endif
  alignas(64) double u[4 * kLanes16];
  for (int j = 0; j < kLanes16; ++j)
    for (int r = 0; r < 4; ++r) u[4 * j + r] = static_cast<double>(w[r][j]) * 0x1.0p-32;
  for (int64_t i = 0; i < 4 * kLanes16; i += static_cast<int64_t>(B::size)) {
    const B zb = B::load_unaligned(z + i);
    const auto on = logit_ones(B::load_aligned(u + i), zb);
    nan |= xsimd::any(xsimd::isnan(zb));
    word |= lane_bits(on) << i;
    if (out) xsimd::select(on, B(1.0), B(0.0)).store_unaligned(out + i);
  }
  return word;
}
}  // namespace

template <class T>
bool fill_bernoulli_logit(const T* z, T* out, uint64_t* bits, int64_t n, Rng& rng) {
  Rng::State s = rng.state();
  const uint64_t c0 = s.counter;
  constexpr int64_t kGroup = 4 * kLanes16;
  bool nan = false;
  for (int64_t g = 0; g * kGroup < n; ++g) {
    uint32_t w[4][kLanes16];
    philox16(c0 + static_cast<uint64_t>(g) * kLanes16, s.stream, s.seed, w);
    const int64_t base = g * kGroup, len = std::min(kGroup, n - base);
    uint64_t word;
    if (std::is_same_v<T, double> && len == kGroup) {
      word = bernoulli_logit_group(w, reinterpret_cast<const double*>(z + base), out ? reinterpret_cast<double*>(out + base) : nullptr, nan);
    } else {  // float, or the last partial group: through double buffers, padded with z = 0 (whose bits are masked off)
      alignas(64) double zz[kGroup] = {}, o[kGroup];
      std::copy(z + base, z + base + len, zz);
      word = bernoulli_logit_group(w, zz, o, nan);
      if (len < kGroup) word &= (uint64_t{1} << len) - 1;
      if (out) std::copy(o, o + len, out + base);
    }
    if (bits) bits[g] = word;
  }
  s.counter = c0 + static_cast<uint64_t>((n + 3) / 4);
  s.used = 4;
  s.has_spare = false;
  s.spare = 0;
  rng = Rng(s);
  return !nan;
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
template void fill_normal(float*, int64_t, Rng&, float, float);
template void fill_normal(double*, int64_t, Rng&, double, double);
template void fill_bernoulli(const float*, float*, int64_t, Rng&);
template void fill_bernoulli(const double*, double*, int64_t, Rng&);
template bool fill_bernoulli_logit(const float*, float*, uint64_t*, int64_t, Rng&);
template bool fill_bernoulli_logit(const double*, double*, uint64_t*, int64_t, Rng&);
template void fill_uniform(Tensor<float>&, Rng&, float, float);
template void fill_uniform(Tensor<double>&, Rng&, double, double);
template void fill_rademacher(Tensor<float>&, Rng&);
template void fill_rademacher(Tensor<double>&, Rng&);

}  // namespace ad
