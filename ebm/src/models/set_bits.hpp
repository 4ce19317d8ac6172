#pragma once
// The positions of the set bits of 64-bit words as index lists, without a branch per bit (whose mispredictions,
// one per list end at least, cost more than the additions the lists drive), and 64 × 64 bit transposes.
#include <bit>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ebm::detail {

/// Writes (first + i)·scale for every set bit i of a word, in increasing order. With AVX-512 it stores 16 values
/// per 16 bits whatever their count (compress, store, advance by the popcount): the output needs room for 15
/// values past the last one written.
class SetBitWriter {
 public:
  static constexpr int64_t kSlack = 16;
  explicit SetBitWriter(int64_t scale) : scale_(scale) {
#if defined(__AVX512F__)
    lanes_ = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                _mm512_set1_epi32(static_cast<int32_t>(scale)));
#endif
  }
  int32_t* operator()(uint64_t bits, int64_t first, int32_t* out) const {
#if defined(__AVX512F__)
    for (int q = 0; q < 4 && bits; ++q, bits >>= 16) {
      const auto m = static_cast<__mmask16>(bits & 0xFFFF);
      const __m512i base = _mm512_set1_epi32(static_cast<int32_t>((first + 16 * q) * scale_));
      _mm512_storeu_si512(out, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(base, lanes_)));
      out += std::popcount(static_cast<unsigned>(m));
    }
#else
    for (; bits; bits &= bits - 1) *out++ = static_cast<int32_t>((first + std::countr_zero(bits)) * scale_);
#endif
    return out;
  }

 private:
  int64_t scale_;
#if defined(__AVX512F__)
  __m512i lanes_;
#endif
};

/// a[j] bit i ← a[i] bit j for a 64 × 64 bit matrix (bit i of a word: (w >> i) & 1), by swapping ever smaller
/// off-diagonal blocks: 6 rounds of 32 masked swaps instead of one scatter per set bit.
inline void transpose64(uint64_t (&a)[64]) {
  uint64_t m = 0x00000000FFFFFFFFull;
  for (int j = 32; j != 0; j >>= 1, m ^= m << j)
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
}

}  // namespace ebm::detail
