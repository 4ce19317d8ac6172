// Evaluation: log Z by enumeration (against brute force and a textbook example), by quadrature (against
// analytic Gaussian values), and the sampled Fisher divergence (against its closed form).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include <ebm/eval/fisher.hpp>
#include <ebm/eval/partition.hpp>
#include <ebm/models/gaussian.hpp>
#include <ebm/models/rbm.hpp>
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

namespace {
Tensor<double> uniform(const Shape& s, double lo, double hi, uint64_t seed) {
  ad::Rng rng(seed, 5);
  Tensor<double> t(s);
  ad::fill_uniform(t, rng, lo, hi);
  return t;
}
}  // namespace

TEST_CASE("enumeration log Z of a small Boltzmann machine equals a brute-force sum") {
  const int n = 5;
  for (auto units : {ebm::Units::binary, ebm::Units::spin}) {
    Tensor<double> w = uniform(Shape{n, n}, -1, 1, 1), b = uniform(Shape{n}, -1, 1, 2);
    ebm::BoltzmannMachine<double> bm(w, b, units);
    const Tensor<double> ws = bm.coupling();
    double z = 0;  // Σ_x exp(Σ_{i<j} W_ij x_i x_j + Σ b_i x_i), written out independently of the model code
    for (int s = 0; s < (1 << n); ++s) {
      double x[n], h = 0;
      for (int i = 0; i < n; ++i) x[i] = (s >> i) & 1 ? 1.0 : (units == ebm::Units::spin ? -1.0 : 0.0);
      for (int i = 0; i < n; ++i) {
        h += b[i] * x[i];
        for (int j = i + 1; j < n; ++j) h += ws.at(i, j) * x[i] * x[j];
      }
      z += std::exp(h);
    }
    CHECK(ebm::log_partition_enumerate(bm, units, 2) == doctest::Approx(std::log(z)).epsilon(1e-13));
  }
}

TEST_CASE("enumeration reproduces the 3-unit example of Beigy's slides (Z = 172.420)") {
  // ±1 units, W12 = −1, W13 = −1, W23 = 2, b2 = 1 (read off the table's columns). The table's exp column sums to
  // 3e^{−1} + 2e^{−3} + e^5 + e^3 + e.
  Tensor<double> w(Shape{3, 3}, {0, -1, -1, -1, 0, 2, -1, 2, 0});
  ebm::BoltzmannMachine<double> bm(w, Tensor<double>(Shape{3}, {0, 1, 0}), ebm::Units::spin);
  const double z = 3 * std::exp(-1) + 2 * std::exp(-3) + std::exp(5) + std::exp(3) + std::exp(1);
  const double lz = ebm::log_partition_enumerate(bm, ebm::Units::spin);
  CHECK(lz == doctest::Approx(std::log(z)).epsilon(1e-14));
  CHECK(std::abs(std::exp(lz) - 172.420) < 0.0005);  // the slide rounds to three decimals
}

TEST_CASE("enumeration is deterministic across thread counts, and gives RBM marginals") {
  ebm::BoltzmannMachine<double> bm(uniform(Shape{16, 16}, -0.3, 0.3, 3), uniform(Shape{16}, -1, 1, 4));
  double one, many;
  {
    REQUIRE_THREADS(2);  // the run this one is compared with uses more than one
    ad::ThreadLimit limit(1);
    one = ebm::log_partition_enumerate(bm, ebm::Units::binary, 8);
  }
  many = ebm::log_partition_enumerate(bm, ebm::Units::binary, 8);
  CHECK(one == many);  // bitwise: chunks combine in a fixed order

  // RBM: enumerating v with the free energy = enumerating (v, h) with the joint energy.
  ad::Rng rng(7);
  ebm::BernoulliRbm<double> rbm(4, 3, rng, 1.0);
  rbm.param("b") = uniform(Shape{4}, -1, 1, 5);
  rbm.param("c") = uniform(Shape{3}, -1, 1, 6);
  const Tensor<double> w = rbm.param("W"), b = rbm.param("b"), c = rbm.param("c");
  const ebm::BatchEnergy joint = [&](const Tensor<double>& s) {
    std::vector<double> e(static_cast<size_t>(s.rows()));
    for (int64_t r = 0; r < s.rows(); ++r) {
      double v = 0;  // E(v, h) = −bᵀv − cᵀh − vᵀW h, units 0..3 visible, 4..6 hidden
      for (int i = 0; i < 4; ++i) v -= b[i] * s.at(r, i);
      for (int j = 0; j < 3; ++j) v -= c[j] * s.at(r, 4 + j);
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j) v -= s.at(r, i) * w.at(i, j) * s.at(r, 4 + j);
      e[static_cast<size_t>(r)] = v;
    }
    return e;
  };
  CHECK(ebm::log_partition_enumerate(rbm, ebm::Units::binary) ==
        doctest::Approx(ebm::log_partition_enumerate(7, ebm::Units::binary, joint, 3)).epsilon(1e-13));
}

TEST_CASE("kl_quadrature: KL between Gaussians against the closed form") {
  // KL(N(0, 1) ‖ N(μ, σ²)) = log σ + (1 + μ²)/(2σ²) − ½, with p written out here (not by the library) and q the
  // model exp(−E)/Z; on ±12 the omitted mass and the rule's error are far below 1e-10.
  const double mu = 0.7, sigma = 1.6;
  const auto q = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {mu}), Tensor<double>(Shape{1}, {sigma}));
  const auto log_p = [](const Tensor<double>& x) {
    Tensor<double> out(Shape{x.rows()});
    for (int64_t i = 0; i < x.rows(); ++i) out[i] = -0.5 * x.at(i, 0) * x.at(i, 0) - 0.5 * std::log(2 * M_PI);
    return out;
  };
  const double expected = std::log(sigma) + (1 + mu * mu) / (2 * sigma * sigma) - 0.5;
  CHECK(ebm::kl_quadrature(1, log_p, ebm::batch_energy(q), {-12.0}, {12.0}) == doctest::Approx(expected).epsilon(1e-10));
  // Off p's support nothing is added: a uniform p on [0, 1] against N(0, 1) is ∫₀¹ (0 + x²/2 + ½ log 2π) dx.
  const auto unit = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {0.0}), Tensor<double>(Shape{1}, {1.0}));
  const auto uniform = [](const Tensor<double>& x) {
    Tensor<double> out(Shape{x.rows()});
    for (int64_t i = 0; i < x.rows(); ++i) out[i] = x.at(i, 0) >= 0 && x.at(i, 0) <= 1 ? 0.0 : -INFINITY;
    return out;
  };
  // Panels of width 1 put [0, 1] on one panel, so the rule integrates the polynomial exactly.
  CHECK(ebm::kl_quadrature(1, uniform, ebm::batch_energy(unit), {-12.0}, {12.0}, {.panels = 24, .order = 16}) ==
        doctest::Approx(1.0 / 6.0 + 0.5 * std::log(2 * M_PI)).epsilon(1e-8));
}

TEST_CASE("Gauss-Legendre rules and quadrature log Z of Gaussians") {
  const ebm::GaussLegendre gl = ebm::gauss_legendre(5);
  double ws = 0, m8 = 0;
  for (int i = 0; i < 5; ++i) ws += gl.weights[static_cast<size_t>(i)], m8 += gl.weights[static_cast<size_t>(i)] * std::pow(gl.nodes[static_cast<size_t>(i)], 8);
  CHECK(ws == doctest::Approx(2.0).epsilon(1e-14));
  CHECK(m8 == doctest::Approx(2.0 / 9.0).epsilon(1e-13));  // degree 8 <= 2·5 − 1: exact

  // 1-D N(1.5, 0.7²) on μ ± 12σ: the omitted mass 2Φ(−12) ~ 4e-33 and the quadrature error bound (see partition.hpp)
  // are far below 1e-12 relative.
  const auto g1 = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {1.5}), Tensor<double>(Shape{1}, {0.7}));
  CHECK(ebm::log_partition_quadrature(g1, {1.5 - 8.4}, {1.5 + 8.4}) == doctest::Approx(g1.log_partition()).epsilon(1e-12));
  // 2-D correlated Gaussian on a box of ±12 marginal stddevs.
  const auto g2 = ebm::GaussianEnergy<double>::full(Tensor<double>(Shape{2}, {1.0, -0.5}), Tensor<double>(Shape{2, 2}, {1.0, 0.6, 0.6, 0.8}));
  const double s1 = 12, s2 = 12 * std::sqrt(0.8);
  CHECK(ebm::log_partition_quadrature(g2, {1.0 - s1, -0.5 - s2}, {1.0 + s1, -0.5 + s2}) ==
        doctest::Approx(g2.log_partition()).epsilon(1e-12));
  // A box that cuts the mass: log Z of N(0,1) on [0, ∞) ≈ [0, 12] is log(√(2π)/2).
  const ebm::GaussianEnergy<double> std1(1);
  CHECK(ebm::log_partition_quadrature(std1, {0.0}, {12.0}) == doctest::Approx(0.5 * std::log(2 * std::numbers::pi) - std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("Fisher divergence between Gaussians: sampled estimate against the closed form") {
  // Target N(μ, s²), model N(m, t²): ∇log p − s_θ = a x − β with a = 1/t² − 1/s², β = m/t² − μ/s², so
  // D = E(a x − β)² = a²(s² + μ²) − 2aβμ + β².
  const double mu = 0.5, s = 1.2, m = 0.8, t = 0.9;
  const auto model = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {m}), Tensor<double>(Shape{1}, {t}));
  ad::Rng rng(12);
  Tensor<double> x(Shape{20000, 1});
  ad::fill_normal(x, rng, mu, s);
  const auto target = [&](const Tensor<double>& b) {
    Tensor<double> out(b.shape());
    for (int64_t i = 0; i < b.numel(); ++i) out[i] = -(b[i] - mu) / (s * s);
    return out;
  };
  const ebm::Estimate est = ebm::fisher_divergence<double>(model, x, target, 3000);
  const double a = 1 / (t * t) - 1 / (s * s), beta = m / (t * t) - mu / (s * s);
  const double exact = a * a * (s * s + mu * mu) - 2 * a * beta * mu + beta * beta;
  CHECK(std::abs(est.value - exact) < 5 * est.std_error);  // 5 standard errors of the sample mean
  CHECK(est.std_error < 0.05 * exact);                      // and the estimate is informative
  const auto same = ebm::GaussianEnergy<double>::diagonal(Tensor<double>(Shape{1}, {mu}), Tensor<double>(Shape{1}, {s}));
  CHECK(ebm::fisher_divergence<double>(same, x, target).value < 1e-20);
}
