// Kernel Stein discrepancy: the Stein matrix against hand-written formulas and against finite differences of the
// kernel, symmetry and thread independence, the U-statistic's expectation (0 under the model, a closed form under
// a shifted one), and the bootstrap tests' level and power.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include <autodiff/threads.hpp>
#include <ebm/eval/ksd.hpp>
#include <ebm/models/gaussian.hpp>
#include "../thread_check.hpp"

using ad::Shape;
using ad::Tensor;

namespace {

Tensor<double> normal(int64_t n, int64_t d, uint64_t seed, uint64_t stream) {
  ad::Rng rng(seed, stream);
  Tensor<double> t(Shape{n, d});
  ad::fill_normal(t, rng);
  return t;
}

// Score of N(mu, I) at the rows of x.
Tensor<double> shifted_score(const Tensor<double>& x, const std::vector<double>& mu) {
  Tensor<double> s(x.shape());
  for (int64_t i = 0; i < x.rows(); ++i)
    for (int64_t k = 0; k < x.cols(); ++k) s.at(i, k) = mu[size_t(k)] - x.at(i, k);
  return s;
}

double mean(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m += e / double(v.size());
  return m;
}
double sd(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double e : v) s += (e - m) * (e - m) / double(v.size() - 1);
  return std::sqrt(s);
}

// The central 99% interval [lo, hi] of Binomial(trials, p): P(X < lo) ≤ 0.005 and P(X > hi) ≤ 0.005.
std::pair<int, int> binomial_99(int trials, double p) {
  std::vector<double> pmf(size_t(trials + 1));
  for (int k = 0; k <= trials; ++k)
    pmf[size_t(k)] = std::exp(std::lgamma(trials + 1.0) - std::lgamma(k + 1.0) - std::lgamma(trials - k + 1.0) +
                              k * std::log(p) + (trials - k) * std::log1p(-p));
  int lo = 0;
  for (double below = 0; below + pmf[size_t(lo)] <= 0.005; ++lo) below += pmf[size_t(lo)];
  int hi = trials;
  for (double above = 0; above + pmf[size_t(hi)] <= 0.005; --hi) above += pmf[size_t(hi)];
  return {lo, hi};
}

}  // namespace

TEST_CASE("KSD: the 99% binomial interval used for calibration") {
  // Binomial(200, 0.05): P(X ≤ 2) = 0.0023, P(X ≤ 3) = 0.0090; P(X ≥ 20) = 0.0027, P(X ≥ 19) = 0.0058.
  CHECK(binomial_99(200, 0.05) == std::pair{3, 19});
}

TEST_CASE("KSD: the Stein matrix of a 1-D Gaussian and the IMQ kernel, by hand") {
  // p = N(0.3, 0.5²): s(x) = −(x − 0.3) / 0.25. k = (1 + r²)^{−1/2}, r = x − y:
  //   ∂k/∂x = −r (1 + r²)^{−3/2},  ∂k/∂y = r (1 + r²)^{−3/2},  ∂²k/∂x∂y = (1 + r²)^{−3/2} − 3 r² (1 + r²)^{−5/2}.
  const std::vector<double> pts = {-0.7, 0.1, 1.9};
  auto s = [](double x) { return -(x - 0.3) / 0.25; };
  auto u = [&](double x, double y) {
    const double r = x - y, b = 1 + r * r;
    const double k = 1 / std::sqrt(b), dkx = -r * std::pow(b, -1.5), dky = r * std::pow(b, -1.5);
    const double dkxy = std::pow(b, -1.5) - 3 * r * r * std::pow(b, -2.5);
    return s(x) * s(y) * k + s(x) * dky + s(y) * dkx + dkxy;
  };
  Tensor<double> x(Shape{3, 1}), sc(Shape{3, 1});
  for (int64_t i = 0; i < 3; ++i) {
    x.at(i, 0) = pts[size_t(i)];
    sc.at(i, 0) = s(pts[size_t(i)]);
  }
  const ebm::SteinMatrix m = ebm::stein_matrix(x, sc);
  CHECK(m.bandwidth == 0);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(m.u.at(i, j) == doctest::Approx(u(pts[size_t(i)], pts[size_t(j)])).epsilon(1e-12));
  // On the diagonal u = s² + 1 (k = 1, ∇k = 0, ∂²k/∂x∂y = 1).
  CHECK(m.u.at(0, 0) == doctest::Approx(16 + 1).epsilon(1e-13));
  const ebm::KsdStatistics st = ebm::ksd_statistics(m.u);
  double off = 0, all = 0;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const double e = u(pts[size_t(i)], pts[size_t(j)]);
      all += e;
      if (i != j) off += e;
    }
  CHECK(st.u == doctest::Approx(off / 6).epsilon(1e-12));
  CHECK(st.v == doctest::Approx(all / 9).epsilon(1e-12));
}

TEST_CASE("KSD: the Stein matrix of a 2-D correlated Gaussian and the RBF kernel, by hand") {
  // p = N(μ, Σ), s(x) = −P(x − μ) with the precision P given directly. k = exp(−r²/(2h²)), δ = x − y:
  //   ∇_x k = −δ k / h²,  ∇_y k = δ k / h²,  tr ∇_x∇_y k = (d / h² − r² / h⁴) k.
  const double P[2][2] = {{2.0, -0.6}, {-0.6, 0.8}}, mu[2] = {0.5, -1.0}, h = 1.3;
  const double pts[3][2] = {{0.0, 0.0}, {1.2, -0.4}, {-0.3, 2.1}};
  auto s = [&](const double* x, int k) { return -(P[k][0] * (x[0] - mu[0]) + P[k][1] * (x[1] - mu[1])); };
  auto u = [&](const double* x, const double* y) {
    const double d0 = x[0] - y[0], d1 = x[1] - y[1], r2 = d0 * d0 + d1 * d1, k = std::exp(-r2 / (2 * h * h));
    const double ss = s(x, 0) * s(y, 0) + s(x, 1) * s(y, 1);
    const double sx_dy = (s(x, 0) * d0 + s(x, 1) * d1) * k / (h * h);    // s(x)ᵀ ∇_y k
    const double sy_dx = -(s(y, 0) * d0 + s(y, 1) * d1) * k / (h * h);   // s(y)ᵀ ∇_x k
    return ss * k + sx_dy + sy_dx + (2 / (h * h) - r2 / (h * h * h * h)) * k;
  };
  Tensor<double> x(Shape{3, 2}), sc(Shape{3, 2});
  for (int64_t i = 0; i < 3; ++i)
    for (int k = 0; k < 2; ++k) {
      x.at(i, k) = pts[i][k];
      sc.at(i, k) = s(pts[i], k);
    }
  ebm::KsdOptions o;
  o.kernel = ebm::KsdKernel::rbf;
  o.bandwidth = h;
  const ebm::SteinMatrix m = ebm::stein_matrix(x, sc, o);
  CHECK(m.bandwidth == h);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(m.u.at(i, j) == doctest::Approx(u(pts[i], pts[j])).epsilon(1e-12));

  // The median heuristic: the three distances are |p0 p1| = √1.6, |p0 p2| = √4.5, |p1 p2| = √8.5; the median is √4.5.
  o.bandwidth = 0;
  CHECK(ebm::stein_matrix(x, sc, o).bandwidth == doctest::Approx(std::sqrt(4.5)).epsilon(1e-14));
}

TEST_CASE("KSD: the Stein matrix equals finite differences of the kernel, for both kernels") {
  // Arbitrary points and arbitrary "scores" in d = 3 (u_p is defined for any vectors s): the kernel derivatives
  // in u_p are taken by central differences of k written out here, ∂²k/∂x_a∂y_a by the four-point stencil.
  const int64_t n = 4, d = 3;
  const Tensor<double> x = normal(n, d, 7, 0), sc = normal(n, d, 7, 1);
  struct Case {
    ebm::KsdOptions o;
    std::function<double(const double*, const double*)> k;
  };
  std::vector<Case> cases;
  auto r2 = [](const double* a, const double* b) {
    double s = 0;
    for (int c = 0; c < 3; ++c) s += (a[c] - b[c]) * (a[c] - b[c]);
    return s;
  };
  {
    ebm::KsdOptions o;  // IMQ with non-default parameters
    o.imq_c = 0.7;
    o.imq_beta = -0.3;
    cases.push_back({o, [&](const double* a, const double* b) { return std::pow(0.49 + r2(a, b), -0.3); }});
    cases.push_back({ebm::KsdOptions{}, [&](const double* a, const double* b) { return 1 / std::sqrt(1 + r2(a, b)); }});
    o = {};
    o.kernel = ebm::KsdKernel::rbf;
    o.bandwidth = 0.9;
    cases.push_back({o, [&](const double* a, const double* b) { return std::exp(-r2(a, b) / (2 * 0.81)); }});
  }
  const double e = 1e-4;
  for (const Case& c : cases) {
    const ebm::SteinMatrix m = ebm::stein_matrix(x, sc, c.o);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double a[3], b[3];
        for (int k = 0; k < 3; ++k) a[k] = x.at(i, k), b[k] = x.at(j, k);
        double val = c.k(a, b);
        double dot = 0;
        for (int k = 0; k < 3; ++k) dot += sc.at(i, k) * sc.at(j, k);
        val *= dot;
        for (int q = 0; q < 3; ++q) {
          double ap[3], am[3], bp[3], bm[3];
          std::copy(a, a + 3, ap), std::copy(a, a + 3, am), std::copy(b, b + 3, bp), std::copy(b, b + 3, bm);
          ap[q] += e, am[q] -= e, bp[q] += e, bm[q] -= e;
          const double dkx = (c.k(ap, b) - c.k(am, b)) / (2 * e), dky = (c.k(a, bp) - c.k(a, bm)) / (2 * e);
          const double dkxy = (c.k(ap, bp) - c.k(ap, bm) - c.k(am, bp) + c.k(am, bm)) / (4 * e * e);
          val += sc.at(i, q) * dky + sc.at(j, q) * dkx + dkxy;
        }
        CHECK(m.u.at(i, j) == doctest::Approx(val).epsilon(1e-6));
      }
  }
}

TEST_CASE("KSD: the Stein matrix is symmetric and the same on one thread; inputs are validated") {
  const int64_t n = 300, d = 5;
  const Tensor<double> x = normal(n, d, 3, 0), sc = shifted_score(x, std::vector<double>(5, 0.2));
  for (ebm::KsdKernel kern : {ebm::KsdKernel::imq, ebm::KsdKernel::rbf}) {
    ebm::KsdOptions o;
    o.kernel = kern;
    const ebm::SteinMatrix m = ebm::stein_matrix(x, sc, o);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < i; ++j) REQUIRE(m.u.at(i, j) == m.u.at(j, i));
    const ebm::KsdStatistics st = ebm::ksd_statistics(m.u);
    ebm::KsdTestOptions t;
    t.draws = 300;
    const ebm::KsdTestResult tr = ebm::ksd_test(m.u, t);
    CHECK(tr.statistic == doctest::Approx(st.u * double(n)).epsilon(1e-14));
    REQUIRE_THREADS(2);
    ad::ThreadLimit one(1);
    const ebm::SteinMatrix m1 = ebm::stein_matrix(x, sc, o);
    CHECK(std::equal(m.u.begin(), m.u.end(), m1.u.begin()));  // bitwise
    CHECK(ebm::ksd_statistics(m1.u).u == st.u);
    CHECK(ebm::ksd_test(m1.u, t).p_value == tr.p_value);
  }
  CHECK_THROWS_AS(ebm::stein_matrix(x, normal(n, d + 1, 1, 0)), std::invalid_argument);
  CHECK_THROWS_AS(ebm::stein_matrix(normal(1, d, 1, 0), normal(1, d, 1, 1)), std::invalid_argument);
  Tensor<double> bad = sc;
  bad.at(4, 2) = std::nan("");
  CHECK_THROWS_AS(ebm::stein_matrix(x, bad), std::invalid_argument);
  ebm::KsdOptions o;
  o.imq_beta = -1.0;
  CHECK_THROWS_AS(ebm::stein_matrix(x, sc, o), std::invalid_argument);
  o = {};
  o.kernel = ebm::KsdKernel::rbf;
  CHECK_THROWS_AS(ebm::stein_matrix(Tensor<double>(Shape{4, 2}, 1.0), Tensor<double>(Shape{4, 2}, 0.0), o), std::invalid_argument);
  ebm::KsdTestOptions t;
  t.wild_flip_probability = 0.7;
  const Tensor<double> u = ebm::stein_matrix(x, sc).u;
  CHECK_THROWS_AS(ebm::ksd_test(u, t), std::invalid_argument);
  CHECK_THROWS_AS(ebm::ksd_statistics(Tensor<double>(Shape{3, 2})), std::invalid_argument);
}

TEST_CASE("KSD: model_scores is the model's −∇ₓE, in double, whatever the batch") {
  const Tensor<float> mean(Shape{2}, {0.5f, -1.0f}), sdev(Shape{2}, {2.0f, 0.5f});
  const auto g = ebm::GaussianEnergy<float>::diagonal(mean, sdev);
  Tensor<float> x(Shape{5, 2});
  ad::Rng rng(4, 0);
  ad::fill_normal(x, rng);
  const Tensor<double> s = ebm::model_scores(g, x, 2);
  REQUIRE(s.shape() == Shape{5, 2});
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(s.at(i, 0) == doctest::Approx(-(double(x.at(i, 0)) - 0.5) / 4).epsilon(1e-6));
    CHECK(s.at(i, 1) == doctest::Approx(-(double(x.at(i, 1)) + 1.0) / 0.25).epsilon(1e-6));
  }
}

TEST_CASE("KSD: the U-statistic is 0 in expectation under the model and the closed form under a shifted one") {
  // q = N(0, I_d). For p = N(μ, I), s_p − s_q = μ is constant, so (Liu et al. 2016, Thm 3.6)
  //   KSD² = E_{x,y∼q} μᵀμ k(x, y) = ‖μ‖² E k(z),  z = x − y ∼ N(0, 2I).
  // RBF: E exp(−‖z‖²/(2h²)) = (h² / (h² + 2))^{d/2}. IMQ (d = 1): E (1 + z²)^{−1/2} by quadrature below.
  // Over R independent samples the mean of U lies within 4 standard errors of its expectation.
  const int R = 200;
  const int64_t n = 60;
  const double h = 1.5;
  double imq_1d = 0;  // ∫ (1 + z²)^{−1/2} N(z; 0, 2) dz, midpoint rule on [−20, 20]
  for (int k = 0; k < 400000; ++k) {
    const double z = -20 + (k + 0.5) * 1e-4;
    imq_1d += 1e-4 / std::sqrt(1 + z * z) * std::exp(-z * z / 4) / std::sqrt(4 * M_PI);
  }
  struct Setting {
    const char* name;
    int64_t d;
    ebm::KsdOptions o;
    std::vector<double> mu;
    double expected;
  };
  ebm::KsdOptions rbf;
  rbf.kernel = ebm::KsdKernel::rbf;
  rbf.bandwidth = h;
  const std::vector<Setting> settings = {
      {"rbf 2-D null", 2, rbf, {0.0, 0.0}, 0.0},
      {"rbf 2-D shift", 2, rbf, {0.4, -0.3}, 0.25 * h * h / (h * h + 2)},
      {"imq 1-D null", 1, {}, {0.0}, 0.0},
      {"imq 1-D shift", 1, {}, {0.5}, 0.25 * imq_1d},
  };
  for (const Setting& st : settings) {
    std::vector<double> us, vs;
    for (int r = 0; r < R; ++r) {
      const Tensor<double> x = normal(n, st.d, 50 + uint64_t(r), 0);
      const ebm::KsdStatistics k = ebm::ksd_statistics(ebm::stein_matrix(x, shifted_score(x, st.mu), st.o).u);
      us.push_back(k.u);
      vs.push_back(k.v);
    }
    const double se = sd(us) / std::sqrt(double(R));
    std::printf("[ksd] %s: mean U %.4f ± %.4f, expected %.4f; mean V %.4f\n", st.name, mean(us), se, st.expected, mean(vs));
    CHECK(std::abs(mean(us) - st.expected) < 4 * se);
    CHECK(mean(vs) > mean(us));  // V adds the positive diagonal mean E u_p(x, x) / n
    if (st.expected == 0) CHECK(*std::min_element(us.begin(), us.end()) < 0);  // unbiased, so negative values occur
  }
  // The standard error of U under an alternative (where U is asymptotically normal) matches the spread over
  // repetitions: within 25% (the spread of R = 200 sample sds is about 5%).
  std::vector<double> us, ses;
  for (int r = 0; r < R; ++r) {
    const Tensor<double> x = normal(200, 2, 900 + uint64_t(r), 0);
    const ebm::KsdStatistics k = ebm::ksd_statistics(ebm::stein_matrix(x, shifted_score(x, {0.8, 0.0}), rbf).u);
    us.push_back(k.u);
    ses.push_back(k.u_std_error);
  }
  std::printf("[ksd] std error of U: mean reported %.4f, sd over repetitions %.4f\n", mean(ses), sd(us));
  CHECK(mean(ses) == doctest::Approx(sd(us)).epsilon(0.25));
}

TEST_CASE("KSD: the bootstrap tests hold their level under the model and reject a shifted model") {
  // 200 independent N(0, I_2) samples of n = 100 against the model N(0, I): the number of rejections at α = 0.05
  // lies in the central 99% interval of Binomial(200, 0.05). Against N((0.5, 0), I) every test rejects at
  // least 90% of the time (the power here is close to 1).
  const int R = 200;
  const int64_t n = 100;
  const auto [lo, hi] = binomial_99(R, 0.05);
  for (ebm::KsdKernel kern : {ebm::KsdKernel::imq, ebm::KsdKernel::rbf})
    for (ebm::KsdBootstrap boot : {ebm::KsdBootstrap::wild, ebm::KsdBootstrap::multinomial}) {
      ebm::KsdOptions o;
      o.kernel = kern;
      ebm::KsdTestOptions t;
      t.bootstrap = boot;
      t.draws = 500;
      int null_rejections = 0, alt_rejections = 0;
      std::vector<double> pvals;
      for (int r = 0; r < R; ++r) {
        const Tensor<double> x = normal(n, 2, 300 + uint64_t(r), 0);
        t.seed = uint64_t(r);
        const double p0 = ebm::ksd_test(ebm::stein_matrix(x, shifted_score(x, {0.0, 0.0}), o).u, t).p_value;
        const double p1 = ebm::ksd_test(ebm::stein_matrix(x, shifted_score(x, {0.5, 0.0}), o).u, t).p_value;
        null_rejections += p0 <= 0.05;
        alt_rejections += p1 <= 0.05;
        pvals.push_back(p0);
      }
      std::printf("[ksd] %s kernel, %s bootstrap: null rejections %d/%d (99%% interval [%d, %d]), shifted %d/%d\n",
                  kern == ebm::KsdKernel::imq ? "imq" : "rbf", boot == ebm::KsdBootstrap::wild ? "wild" : "multinomial",
                  null_rejections, R, lo, hi, alt_rejections, R);
      CHECK(null_rejections >= lo);
      CHECK(null_rejections <= hi);
      CHECK(alt_rejections >= 180);
      // The null p-values are close to uniform: their mean, 0.5 ± 0.02 (sd 1/√12/√200), within 4 standard errors.
      CHECK(std::abs(mean(pvals) - 0.5) < 4 * 0.2887 / std::sqrt(double(R)));
    }
}

TEST_CASE("KSD: the wild bootstrap with correlated weights for the states of one chain") {
  // x_t = ρ x_{t−1} + √(1 − ρ²) ε_t (stationary N(0, 1), ρ = 0.8, integrated autocorrelation time 9), tested
  // against N(0, 1). The statistic's null spread grows with the autocorrelation, which i.i.d. Rademacher weights
  // ignore: they reject far more often than α. Weights that flip with probability 0.05 (correlation 0.9^k at lag
  // k, longer-lived than the chain's 0.8^k) keep the level near α. Bounds: i.i.d. weights reject in more than 30%
  // of 100 chains; flip probability 0.05 in at most 15% (for Binomial(100, 0.05), P(X > 15) < 1e-4; the margin is
  // there because the correlated-weight test is exact only asymptotically).
  const int R = 100;
  const int64_t n = 400;
  const double rho = 0.8;
  int iid = 0, corr = 0;
  for (int r = 0; r < R; ++r) {
    ad::Rng rng(77, uint64_t(r));
    Tensor<double> x(Shape{n, 1});
    x.at(0, 0) = rng.normal();
    for (int64_t t = 1; t < n; ++t) x.at(t, 0) = rho * x.at(t - 1, 0) + std::sqrt(1 - rho * rho) * rng.normal();
    const Tensor<double> u = ebm::stein_matrix(x, shifted_score(x, {0.0})).u;
    ebm::KsdTestOptions t;
    t.draws = 300;
    t.seed = uint64_t(r);
    iid += ebm::ksd_test(u, t).p_value <= 0.05;
    t.wild_flip_probability = 0.05;
    corr += ebm::ksd_test(u, t).p_value <= 0.05;
  }
  std::printf("[ksd] AR(1) chains, rho %.1f: rejections with i.i.d. weights %d/%d, with flip probability 0.05 %d/%d\n",
              rho, iid, R, corr, R);
  CHECK(iid > 30);
  CHECK(corr <= 15);
}
