// Tests of ad::Rng (Philox4x32-10). Statistical checks use fixed seeds and thresholds from the sampling
// distribution of each statistic: a moment test passes within 5 standard errors (two-sided p ~ 6e-7 for
// a correct generator), a chi-square test below its upper 1e-6 quantile.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/threads.hpp"
#include "../thread_check.hpp"

namespace {

// Moments about the sample mean: returns {mean, m2, m3, m4} (biased central moments).
std::array<double, 4> moments(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double d = v - mean, d2 = d * d;
    m2 += d2, m3 += d2 * d, m4 += d2 * d2;
  }
  return {mean, m2 / n, m3 / n, m4 / n};
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ma = moments(a), mb = moments(b);
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - ma[0]) * (b[i] - mb[0]);
  return s / static_cast<double>(a.size()) / std::sqrt(ma[1] * mb[1]);
}

// Upper quantile of chi-square with k degrees of freedom at standard-normal quantile z, by the
// Wilson-Hilferty cube approximation (relative error well under 1% for k >= 5 at these tails).
double chi2_upper(double k, double z) {
  const double a = 2.0 / (9.0 * k);
  return k * std::pow(1 - a + z * std::sqrt(a), 3);
}
constexpr double kZ1e6 = 4.753;  // standard normal upper 1e-6 quantile

std::array<uint32_t, 4> block_at(const ad::Rng::State& s) {
  ad::Rng r(s);
  return {r.next_u32(), r.next_u32(), r.next_u32(), r.next_u32()};
}

}  // namespace

TEST_CASE("Rng: Philox4x32-10 matches the Random123 known-answer vectors") {
  // Counter words are (counter lo, counter hi, stream lo, stream hi) and the key is the seed, so the
  // reference vectors pin down both the cipher and this generator's layout.
  using A = std::array<uint32_t, 4>;
  CHECK(block_at({0, 0, 0, 4, false, 0}) == A{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(block_at({~0ull, ~0ull, ~0ull, 4, false, 0}) == A{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(block_at({0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, 4, false, 0}) ==
        A{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("Rng: normal() has the moments of N(0,1)") {
  constexpr std::size_t n = 200000;
  ad::Rng rng(12345, 7);
  std::vector<double> x(n);
  for (double& v : x) v = rng.normal();
  const auto [mean, m2, m3, m4] = moments(x);
  const double dn = static_cast<double>(n);
  // Standard errors for normal data: mean 1/sqrt(n); variance sqrt((mu4 - 1)/n) = sqrt(2/n);
  // skewness sqrt(6/n); kurtosis sqrt(24/n).
  CHECK(std::abs(mean) < 5 / std::sqrt(dn));
  CHECK(std::abs(m2 - 1) < 5 * std::sqrt(2 / dn));
  CHECK(std::abs(m3 / std::pow(m2, 1.5)) < 5 * std::sqrt(6 / dn));
  CHECK(std::abs(m4 / (m2 * m2) - 3) < 5 * std::sqrt(24 / dn));
  // Both halves of each Box-Muller pair are used; they must be uncorrelated with each other.
  std::vector<double> even(n / 2), odd(n / 2);
  for (std::size_t i = 0; i < n / 2; ++i) even[i] = x[2 * i], odd[i] = x[2 * i + 1];
  CHECK(std::abs(correlation(even, odd)) < 5 / std::sqrt(dn / 2));
}

TEST_CASE("Rng: uniform() is U[0,1) and uniform_pos() is U(0,1]") {
  constexpr std::size_t n = 200000;
  ad::Rng rng(99, 0);
  std::vector<double> x(n);
  bool in_range = true;
  for (double& v : x) {
    v = rng.uniform();
    in_range = in_range && v >= 0 && v < 1;
  }
  CHECK(in_range);
  const auto [mean, m2, m3, m4] = moments(x);
  const double dn = static_cast<double>(n);
  // U(0,1): mean 1/2 (sd of the mean sqrt(1/12/n)); variance 1/12 with sd sqrt((1/80 - 1/144)/n);
  // third central moment 0 with sd sqrt(mu6/n), mu6 = 1/448.
  CHECK(std::abs(mean - 0.5) < 5 * std::sqrt(1.0 / 12 / dn));
  CHECK(std::abs(m2 - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / dn));
  CHECK(std::abs(m3) < 5 * std::sqrt(1.0 / 448 / dn));
  bool pos_in_range = true;
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform_pos();
    pos_in_range = pos_in_range && u > 0 && u <= 1;
  }
  CHECK(pos_in_range);
}

TEST_CASE("Rng: rademacher() is a fair +-1 coin") {
  constexpr int n = 200000;
  ad::Rng rng(3, 1);
  int plus = 0, other = 0, same_as_prev = 0;
  double prev = 0;
  for (int i = 0; i < n; ++i) {
    const double r = rng.rademacher();
    plus += r == 1.0;
    other += r != 1.0 && r != -1.0;
    same_as_prev += i > 0 && r == prev;
    prev = r;
  }
  CHECK(other == 0);
  // Binomial(n, 1/2): sd sqrt(n)/2. Consecutive signs agree with probability 1/2 as well.
  CHECK(std::abs(plus - n / 2) < 5 * std::sqrt(double(n)) / 2);
  CHECK(std::abs(same_as_prev - (n - 1) / 2) < 5 * std::sqrt(double(n - 1)) / 2);
}

TEST_CASE("Rng: streams, seeds and split() children are distinct and uncorrelated") {
  constexpr std::size_t n = 100000;
  auto draw = [&](ad::Rng r) {
    std::vector<double> x(n);
    for (double& v : x) v = r.normal();
    return x;
  };
  const ad::Rng parent(2024, 0);
  const std::vector<ad::Rng> gens = {parent, ad::Rng(2024, 1), ad::Rng(2025, 0), parent.split(0), parent.split(1),
                                     ad::Rng(2024, 1).split(0)};
  std::vector<std::vector<double>> xs;
  for (const auto& g : gens) xs.push_back(draw(g));
  // Under independence a sample correlation has sd 1/sqrt(n).
  for (std::size_t i = 0; i < xs.size(); ++i)
    for (std::size_t j = i + 1; j < xs.size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(xs[i] != xs[j]);
      CHECK(std::abs(correlation(xs[i], xs[j])) < 5 / std::sqrt(double(n)));
    }
  // Children are a function of (seed, stream, child) only: reproducible, and independent of how
  // far the parent has advanced.
  ad::Rng advanced = parent;
  for (int i = 0; i < 13; ++i) advanced.next_u32();
  CHECK(parent.split(5).state().stream == advanced.split(5).state().stream);
  CHECK(parent.split(5).state().stream != parent.split(6).state().stream);
  CHECK(parent.split(0).seed() == parent.seed());
}

TEST_CASE("Rng: State save/restore resumes bit-exactly") {
  auto sequence = [](ad::Rng& r) {
    std::vector<uint64_t> out;
    for (int i = 0; i < 50; ++i) {
      out.push_back(r.next_u32());
      out.push_back(std::bit_cast<uint64_t>(r.uniform()));  // bit patterns: exact, NaN-safe
      out.push_back(std::bit_cast<uint64_t>(r.normal()));
      out.push_back(r.below(1000));
    }
    return out;
  };
  SUBCASE("mid-block, no spare normal") {
    ad::Rng a(77, 3);
    for (int i = 0; i < 5; ++i) a.next_u32();  // 1 of the 4 words of the second block used
    const ad::Rng::State s = a.state();
    REQUIRE(s.used == 1);
    REQUIRE_FALSE(s.has_spare);
    ad::Rng b(s);
    CHECK(sequence(a) == sequence(b));
  }
  SUBCASE("with a pending Box-Muller spare") {
    ad::Rng a(77, 3);
    a.next_u32();
    a.normal();  // leaves the pair's second value pending, mid-block
    const ad::Rng::State s = a.state();
    REQUIRE(s.has_spare);
    REQUIRE(s.used < 4);
    ad::Rng b(s);
    CHECK(a.normal() == b.normal());  // the spare itself
    CHECK(sequence(a) == sequence(b));
  }
  SUBCASE("at a block boundary") {
    ad::Rng a(1, 1);
    for (int i = 0; i < 8; ++i) a.next_u32();
    REQUIRE(a.state().used == 4);
    ad::Rng b(a.state());
    CHECK(sequence(a) == sequence(b));
  }
}

TEST_CASE("Rng: below(n) is in range and uniform") {
  ad::Rng rng(5, 5);
  CHECK(rng.below(0) == 0);
  CHECK(rng.below(1) == 0);
  const uint64_t big = (1ull << 63) + 12345;  // rejection region is large here: exercises the retry loop
  bool big_ok = true;
  for (int i = 0; i < 1000; ++i) big_ok = big_ok && rng.below(big) < big;
  CHECK(big_ok);
  for (uint64_t k : {6ull, 10ull, 37ull}) {
    CAPTURE(k);
    const int n = 100000;
    std::vector<int> count(k, 0);
    bool in_range = true;
    for (int i = 0; i < n; ++i) {
      const uint64_t v = rng.below(k);
      in_range = in_range && v < k;
      if (v < k) ++count[v];
    }
    CHECK(in_range);
    // Pearson chi-square against equal cell probabilities has k - 1 degrees of freedom.
    const double expected = double(n) / double(k);
    double chi2 = 0;
    for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
    CHECK(chi2 < chi2_upper(double(k - 1), kZ1e6));
  }
}

namespace {
// fill_normal's documented stream layout, evaluated in double with libm from the generator's own words.
double layout_normal(const ad::Rng::State& s, int64_t i, bool single) {
  ad::Rng r(ad::Rng::State{s.seed, s.stream, s.counter + static_cast<uint64_t>(i / 4), 4, false, 0});
  const uint32_t w[4] = {r.next_u32(), r.next_u32(), r.next_u32(), r.next_u32()};
  const int pair = static_cast<int>(i % 4) / 2;
  const uint32_t wr = w[2 * pair], wa = w[2 * pair + 1];
  const double u = single ? (double(wr >> 8) + 1) * 0x1.0p-24 : (double(wr) + 1) * 0x1.0p-32;
  const double v = single ? double(wa >> 8) * 0x1.0p-24 : double(wa) * 0x1.0p-32;
  const double rad = std::sqrt(-2 * std::log(u)), a = 6.283185307179586476925 * v;
  return i % 2 == 0 ? rad * std::cos(a) : rad * std::sin(a);
}
}  // namespace

TEST_CASE_TEMPLATE("fill_normal follows its documented stream layout", T, float, double) {
  ad::Rng rng(31, 4);
  rng.next_u32();  // a partly used block: the fill starts at the next one
  const ad::Rng::State s0 = rng.state();
  ad::Tensor<T> t(ad::Shape{37, 29});  // 1073 elements: not a multiple of 4 or of the 64-element groups
  ad::fill_normal(t, rng, T(0.5), T(2));
  const bool single = std::is_same_v<T, float>;
  // float: u has 24 bits and the xsimd log/sincos are accurate to a few ulp of float.
  const double tol = single ? 2e-5 : 1e-12;
  double worst = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double want = 0.5 + 2 * layout_normal({s0.seed, s0.stream, s0.counter, 4, false, 0}, i, single);
    worst = std::max(worst, std::abs(double(t[i]) - want) / (1 + std::abs(want)));
  }
  CHECK(worst < tol);
  // The generator moves past the blocks used, ⌈n/4⌉ of them, with nothing pending.
  CHECK(rng.state().counter == s0.counter + (t.numel() + 3) / 4);
  CHECK(rng.state().used == 4);
  CHECK_FALSE(rng.state().has_spare);
}

TEST_CASE("fill_normal: same bits on 1 and 2 threads; a shorter fill is a prefix of a longer one") {
  auto fill = [](int threads, int64_t n) {
    ad::ThreadLimit limit(threads);
    if (threads > 1) REQUIRE_THREADS(threads);
    ad::Rng rng(8, 1);
    ad::Tensor<float> t(ad::Shape{n});
    ad::fill_normal(t, rng);
    return std::vector<float>(t.begin(), t.end());
  };
  const auto one = fill(1, 300000), two = fill(2, 300000), short_fill = fill(2, 1001);
  CHECK(one == two);
  CHECK(std::equal(short_fill.begin(), short_fill.end(), one.begin()));
}

TEST_CASE("fill_normal has the moments of N(0,1), and consecutive fills are uncorrelated") {
  constexpr int64_t n = 200000;
  ad::Rng rng(12345, 7);
  ad::Tensor<double> a(ad::Shape{n}), b(ad::Shape{n});
  ad::fill_normal(a, rng);
  ad::fill_normal(b, rng);
  const std::vector<double> x(a.begin(), a.end()), y(b.begin(), b.end());
  const auto [mean, m2, m3, m4] = moments(x);
  const double dn = static_cast<double>(n);
  CHECK(std::abs(mean) < 5 / std::sqrt(dn));
  CHECK(std::abs(m2 - 1) < 5 * std::sqrt(2 / dn));
  CHECK(std::abs(m3 / std::pow(m2, 1.5)) < 5 * std::sqrt(6 / dn));
  CHECK(std::abs(m4 / (m2 * m2) - 3) < 5 * std::sqrt(24 / dn));
  CHECK(std::abs(correlation(x, y)) < 5 / std::sqrt(dn));
  // Neighbours within a block (cos/sin halves of a pair, and the two pairs) are uncorrelated too.
  std::vector<double> e(n / 2), o(n / 2);
  for (int64_t i = 0; i < n / 2; ++i) e[i] = x[2 * i], o[i] = x[2 * i + 1];
  CHECK(std::abs(correlation(e, o)) < 5 / std::sqrt(dn / 2));
}

TEST_CASE("fill_bernoulli_logit draws u < sigma(z) from fill_bernoulli's stream, packs the bits, reports NaN") {
  auto sigma = [](double z) { return static_cast<double>(1.0L / (1.0L + std::exp(-static_cast<long double>(z)))); };
  for (int64_t n : {1, 5, 63, 64, 67, 300, 784}) {
    CAPTURE(n);
    std::vector<double> z(static_cast<size_t>(n)), out(static_cast<size_t>(n), -1.0);
    ad::Rng zr(5, uint64_t(n));
    for (double& v : z) v = 60 * zr.uniform() - 30;
    const double special[] = {0.0, -0.0, 1e-300, -1e-300, 700.0, -700.0, 1000.0, -1000.0, INFINITY, -INFINITY};
    for (size_t k = 0; k < std::size(special) && k < z.size(); ++k) z[k * z.size() / std::size(special)] = special[k];
    std::vector<uint64_t> bits(static_cast<size_t>((n + 63) / 64), ~uint64_t{0});
    ad::Rng rng(42, 7), ref(42, 7);
    CHECK(ad::fill_bernoulli_logit(z.data(), out.data(), bits.data(), n, rng));
    int64_t wrong = 0, wrong_bits = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(ref.next_u32()) * 0x1.0p-32;
      const double want = u < sigma(z[size_t(i)]) ? 1.0 : 0.0;
      wrong += out[size_t(i)] != want;
      wrong_bits += double((bits[size_t(i / 64)] >> (i % 64)) & 1) != want;
    }
    CHECK(wrong == 0);
    CHECK(wrong_bits == 0);
    if (n % 64) CHECK((bits.back() >> (n % 64)) == 0);  // the last word's unused bits are zero
    CHECK(rng.state().counter == uint64_t((n + 3) / 4));

    // The same draws as fill_bernoulli over the means, and the same for float logits; out may be null.
    std::vector<double> p(z.size()), via_means(z.size());
    for (size_t i = 0; i < z.size(); ++i) p[i] = sigma(z[i]);
    ad::Rng again(42, 7);
    ad::fill_bernoulli(p.data(), via_means.data(), n, again);
    CHECK(via_means == out);
    std::vector<float> zf(z.begin(), z.end()), outf(z.size());
    std::vector<uint64_t> bits_only(bits.size());
    ad::Rng rf(42, 7), rb(42, 7);
    CHECK(ad::fill_bernoulli_logit(zf.data(), outf.data(), nullptr, n, rf));
    CHECK(ad::fill_bernoulli_logit(z.data(), static_cast<double*>(nullptr), bits_only.data(), n, rb));
    CHECK(bits_only == bits);
    std::vector<double> in_place(z);  // out aliasing z
    ad::Rng ra(42, 7);
    CHECK(ad::fill_bernoulli_logit(in_place.data(), in_place.data(), nullptr, n, ra));
    CHECK(in_place == out);
    ad::Rng reff(42, 7);
    int64_t wrong_f = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(reff.next_u32()) * 0x1.0p-32;
      wrong_f += outf[size_t(i)] != (u < sigma(double(zf[size_t(i)])) ? 1.0f : 0.0f);
    }
    CHECK(wrong_f == 0);
  }
  // Near ties: in every 16 draws one σ(z) is u ± 2⁻²⁶, below float's resolution but far above double's rounding;
  // the other 15 are far from theirs (z = ±10), so that the 16 would be decided in float if the near tie were
  // not caught. Fails when near ties are decided in float (margin 0: ~24 of 4096 wrong; Note [Bernoulli decided
  // in float]).
  {
    const int64_t n = 65536;
    std::vector<double> z(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    ad::Rng peek(9, 4);
    for (int64_t i = 0; i < n; ++i) {
      const double u = std::max(static_cast<double>(peek.next_u32()) * 0x1.0p-32, 1e-6);  // u = 0 has no logit
      const long double t = static_cast<long double>(u) + ((i / 16) % 2 ? 0x1.0p-26L : -0x1.0p-26L);
      z[size_t(i)] = i % 16 == 5 ? static_cast<double>(std::log(t / (1 - t))) : (i % 3 ? 10.0 : -10.0);
    }
    ad::Rng rng(9, 4), ref(9, 4);
    ad::fill_bernoulli_logit(z.data(), out.data(), nullptr, n, rng);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(ref.next_u32()) * 0x1.0p-32;
      wrong += out[size_t(i)] != (u < sigma(z[size_t(i)]) ? 1.0 : 0.0);
    }
    CHECK(wrong == 0);
  }
  // A NaN logit draws 0 and is reported, in a full group and in a partial one.
  for (int64_t n : {64, 70}) {
    std::vector<double> z(static_cast<size_t>(n), 50.0), out(static_cast<size_t>(n));
    z[size_t(n - 1)] = NAN;
    ad::Rng rng(1, 1);
    CHECK_FALSE(ad::fill_bernoulli_logit(z.data(), out.data(), nullptr, n, rng));
    CHECK(out[size_t(n - 1)] == 0.0);
    CHECK(out[0] == 1.0);
  }
  // Frequencies: 200000 draws at σ(z) = 0.3, within 5 standard errors.
  const int64_t n = 200000;
  std::vector<double> z(static_cast<size_t>(n), std::log(0.3 / 0.7)), out(static_cast<size_t>(n));
  ad::Rng rng(1, 2);
  ad::fill_bernoulli_logit(z.data(), out.data(), nullptr, n, rng);
  double ones = 0;
  for (double v : out) ones += v;
  CHECK(std::abs(ones / double(n) - 0.3) < 5 * std::sqrt(0.3 * 0.7 / double(n)));
}

TEST_CASE("fill_bernoulli follows its documented stream layout and frequencies") {
  // Element i compares word i of the stream (block ⌊i/4⌋, word i mod 4) scaled by 2^-32 with p[i].
  for (int64_t n : {1, 5, 64, 67, 300}) {
    std::vector<double> p(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    ad::Rng prng(3, uint64_t(n));
    for (double& v : p) v = prng.uniform();
    ad::Rng rng(42, 7), ref(42, 7);
    ad::fill_bernoulli(p.data(), out.data(), n, rng);
    for (int64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(ref.next_u32()) * 0x1.0p-32;
      CHECK(out[size_t(i)] == (u < p[size_t(i)] ? 1.0 : 0.0));
    }
    CHECK(rng.state().counter == uint64_t((n + 3) / 4));
    // The next fill starts at a fresh block.
    const uint32_t next = rng.next_u32();
    ad::Rng skip(42, 7);
    for (int64_t i = 0; i < 4 * ((n + 3) / 4); ++i) skip.next_u32();
    CHECK(next == skip.next_u32());
  }
  // Counters whose low word wraps inside a group of 16 blocks (the carry into the high word, vectorised).
  for (const uint64_t start : {(uint64_t{1} << 32) - 6, (uint64_t{5} << 32) - 1, ~uint64_t{0} - 9}) {
    CAPTURE(start);
    const int64_t m = 200;
    std::vector<double> p(static_cast<size_t>(m), 0.5), out(static_cast<size_t>(m));
    const ad::Rng::State s{42, 7, start, 4, false, 0};
    ad::Rng rng(s), ref(s);
    ad::fill_bernoulli(p.data(), out.data(), m, rng);
    int64_t wrong = 0;
    for (int64_t i = 0; i < m; ++i) wrong += out[size_t(i)] != (static_cast<double>(ref.next_u32()) * 0x1.0p-32 < 0.5 ? 1.0 : 0.0);
    CHECK(wrong == 0);
  }
  // Frequencies: 200000 draws at p = 0.3, within 5 standard errors.
  const int64_t n = 200000;
  std::vector<float> p(static_cast<size_t>(n), 0.3f), out(static_cast<size_t>(n));
  ad::Rng rng(1, 2);
  ad::fill_bernoulli(p.data(), out.data(), n, rng);
  double ones = 0;
  for (float v : out) ones += v;
  const double se = std::sqrt(0.3 * 0.7 / double(n));
  CHECK(std::abs(ones / double(n) - double(0.3f)) < 5 * se);
}
