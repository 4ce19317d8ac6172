// Pseudo-likelihood (scikit-learn's one-bit estimator and the exact all-bits sum) against brute force on a tiny
// RBM (hidden units summed out by enumeration, conditionals from the unnormalised probabilities), against the
// closed form of an RBM without weights, and thread independence.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <autodiff/threads.hpp>
#include <ebm/eval/pseudo_likelihood.hpp>
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

namespace {

constexpr int64_t kV = 5, kH = 3;

ebm::BernoulliRbm<double> tiny_rbm(uint64_t seed, double scale) {
  ad::Rng rng(seed, 0);
  ebm::BernoulliRbm<double> rbm(kV, kH, rng, scale);
  for (double& v : rbm.param("b")) v = scale * (2 * rng.uniform() - 1);
  for (double& v : rbm.param("c")) v = scale * (2 * rng.uniform() - 1);
  return rbm;
}

// Unnormalised p(v) = Σ_h exp(bᵀv + cᵀh + vᵀW h), by enumerating all 2^H hidden states.
double unnormalised(const ebm::BernoulliRbm<double>& rbm, const std::vector<double>& v) {
  const Tensor<double>&w = rbm.param("W"), &b = rbm.param("b"), &c = rbm.param("c");
  double total = 0;
  for (int mask = 0; mask < (1 << kH); ++mask) {
    double e = 0;
    for (int64_t i = 0; i < kV; ++i) e += b[i] * v[size_t(i)];
    for (int64_t j = 0; j < kH; ++j) {
      if (!(mask >> j & 1)) continue;
      e += c[j];
      for (int64_t i = 0; i < kV; ++i) e += v[size_t(i)] * w.at(i, j);
    }
    total += std::exp(e);
  }
  return total;
}

// log p(v_i | v_{-i}) = log( p(v) / (p(v) + p(v with bit i flipped)) ).
double brute_conditional(const ebm::BernoulliRbm<double>& rbm, std::vector<double> v, int64_t i) {
  const double p = unnormalised(rbm, v);
  v[size_t(i)] = 1 - v[size_t(i)];
  const double q = unnormalised(rbm, v);
  return std::log(p / (p + q));
}

Tensor<double> all_patterns() {
  Tensor<double> x(Shape{1 << kV, kV});
  for (int64_t r = 0; r < (1 << kV); ++r)
    for (int64_t i = 0; i < kV; ++i) x.at(r, i) = double(r >> i & 1);
  return x;
}

std::vector<double> row(const Tensor<double>& x, int64_t r) { return {x.data() + r * x.cols(), x.data() + (r + 1) * x.cols()}; }

}  // namespace

TEST_CASE("one-bit pseudo-likelihood is d · log p(x_i | x_{-i}) by brute force, for the bit given") {
  const auto rbm = tiny_rbm(3, 1.5);
  const Tensor<double> x = all_patterns();
  ad::Rng rng(11, 0);
  const std::vector<int64_t> flip = ebm::random_flip_indices(x.rows(), kV, rng);
  const Tensor<double> pl = ebm::pseudo_likelihood_one_bit(rbm, x, flip, 7);  // chunks of 7: a ragged last chunk
  REQUIRE(pl.numel() == x.rows());
  for (int64_t r = 0; r < x.rows(); ++r) {
    CAPTURE(r);
    CHECK(pl[r] == doctest::Approx(double(kV) * brute_conditional(rbm, row(x, r), flip[size_t(r)])).epsilon(1e-10));
    CHECK(pl[r] < 0);
  }
}

TEST_CASE("all-bits pseudo-likelihood is Σ_i log p(x_i | x_{-i}) by brute force") {
  for (double scale : {0.3, 2.0}) {
    const auto rbm = tiny_rbm(5, scale);
    const Tensor<double> x = all_patterns();
    const Tensor<double> pl = ebm::pseudo_likelihood_all_bits(rbm, x);
    for (int64_t r = 0; r < x.rows(); ++r) {
      double want = 0;
      for (int64_t i = 0; i < kV; ++i) want += brute_conditional(rbm, row(x, r), i);
      CAPTURE(scale);
      CAPTURE(r);
      CHECK(pl[r] == doctest::Approx(want).epsilon(1e-10));
    }
  }
}

TEST_CASE("without weights, each bit's conditional is σ(±b_i)") {
  ad::Rng rng(1, 0);
  ebm::BernoulliRbm<double> rbm(kV, kH, rng, 0.0);
  const std::vector<double> b = {-2.0, -0.5, 0.0, 1.0, 3.0};
  for (int64_t i = 0; i < kV; ++i) rbm.param("b")[i] = b[size_t(i)];
  Tensor<double> x(Shape{2, kV});
  for (int64_t i = 0; i < kV; ++i) x.at(1, i) = 1.0;
  auto log_sig = [](double z) { return -std::log1p(std::exp(-z)); };
  const Tensor<double> all = ebm::pseudo_likelihood_all_bits(rbm, x);
  double zeros = 0, ones = 0;
  for (double bi : b) zeros += log_sig(-bi), ones += log_sig(bi);
  CHECK(all[0] == doctest::Approx(zeros).epsilon(1e-12));
  CHECK(all[1] == doctest::Approx(ones).epsilon(1e-12));
  const Tensor<double> one = ebm::pseudo_likelihood_one_bit(rbm, x, {4, 0});
  CHECK(one[0] == doctest::Approx(kV * log_sig(-3.0)).epsilon(1e-12));
  CHECK(one[1] == doctest::Approx(kV * log_sig(-2.0)).epsilon(1e-12));
}

TEST_CASE("pseudo-likelihood: thread independence, flip indices in range, bad input rejected") {
  ad::Rng rng(2, 0);
  ebm::BernoulliRbm<double> rbm(40, 16, rng, 0.5);
  Tensor<double> x(Shape{300, 40});
  for (double& v : x) v = rng.uniform() < 0.3 ? 1.0 : 0.0;
  const Tensor<double> many = ebm::pseudo_likelihood_all_bits(rbm, x);
  Tensor<double> one;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    one = ebm::pseudo_likelihood_all_bits(rbm, x);
  }
  for (int64_t r = 0; r < x.rows(); ++r) CHECK(many[r] == one[r]);

  ad::Rng r2(9, 0);
  const auto flip = ebm::random_flip_indices(5000, 40, r2);
  std::vector<int> seen(40, 0);
  for (int64_t i : flip) {
    REQUIRE(i >= 0);
    REQUIRE(i < 40);
    ++seen[size_t(i)];
  }
  for (int s : seen) CHECK(s > 60);  // 125 expected per bit

  Tensor<double> bad = x;
  bad[3] = 0.5;
  CHECK_THROWS_AS(ebm::pseudo_likelihood_all_bits(rbm, bad), std::invalid_argument);
  CHECK_THROWS_AS(ebm::pseudo_likelihood_one_bit(rbm, bad, std::vector<int64_t>(300, 0)), std::invalid_argument);
  CHECK_THROWS_AS(ebm::pseudo_likelihood_one_bit(rbm, x, std::vector<int64_t>(299, 0)), std::invalid_argument);
  CHECK_THROWS_AS(ebm::pseudo_likelihood_one_bit(rbm, x, std::vector<int64_t>(300, 40)), std::invalid_argument);
}
