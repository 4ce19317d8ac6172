#pragma once
// Whether n values are all finite, for float and double.
//
// NaN and ±∞ are the values whose exponent bits are all ones; adding one to the exponent field of those (and only
// those) carries into the sign bit. So the test is integer and/or/add only, and the loop vectorises, where a
// |v| <= max comparison per value stays scalar (it cost ~10 % of an RBM training step at batch 10).
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace ad {

template <class T>
bool all_finite(const T* p, int64_t n) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "ad::all_finite: float or double");
  using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
  constexpr int kMantissa = std::numeric_limits<T>::digits - 1;
  constexpr Bits kExponentOne = Bits{1} << kMantissa;
  constexpr Bits kExponent = static_cast<Bits>(~Bits{0} >> 1) & ~(kExponentOne - 1);
  Bits carried = 0;
  for (int64_t i = 0; i < n; ++i) {
    Bits bits;
    std::memcpy(&bits, p + i, sizeof bits);
    carried |= (bits & kExponent) + kExponentOne;
  }
  return (carried >> (8 * sizeof(Bits) - 1)) == 0;
}

}  // namespace ad
