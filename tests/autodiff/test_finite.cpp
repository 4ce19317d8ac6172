// ad::all_finite (autodiff/finite.hpp), the bit test behind the training loop's and the samplers' NaN checks.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include <autodiff/finite.hpp>

TEST_CASE("ad::all_finite: false exactly when some value is NaN or infinite (float and double)") {
  auto check_type = [](auto zero) {
    using T = decltype(zero);
    using L = std::numeric_limits<T>;
    const std::vector<T> finite{T(0), T(-0.0), T(1), L::max(), L::lowest(), L::min(), L::denorm_min(), -L::denorm_min()};
    const std::vector<T> bad{L::quiet_NaN(), -L::quiet_NaN(), L::infinity(), -L::infinity(), L::signaling_NaN()};
    for (int64_t n : {1, 7, 16, 33}) {  // lengths around the vector widths
      std::vector<T> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v[size_t(i)] = finite[size_t(i) % finite.size()];
      CHECK(ad::all_finite(v.data(), n));
      for (T b : bad)
        for (int64_t at : {int64_t{0}, n / 2, n - 1}) {
          std::vector<T> w = v;
          w[size_t(at)] = b;
          CHECK_FALSE(ad::all_finite(w.data(), n));
        }
    }
    CHECK(ad::all_finite(static_cast<const T*>(nullptr), 0));
  };
  check_type(0.0f);
  check_type(0.0);
}
