// ksd-power: the kernel Stein discrepancy test on the Gaussian–Bernoulli RBM benchmark of Liu, Lee & Jordan
// (2016), printing the rejection rate per perturbation as a Markdown table. See docs/ksd.md.
//
//   ksd-power [--reps R] [--n N] [--burnin T] [--draws B] [--alpha A] [--seed S] [--stds s1,s2,...]
//
// The model p: x ∈ R^50, h ∈ {−1, +1}^40, p(x, h) ∝ exp(½ xᵀBh + bᵀx + cᵀh − ½‖x‖²), B_ij = ±1 with probability ½,
// b, c ∼ N(0, I). Summing out h, log p(x) = bᵀx − ½‖x‖² + Σ_j log cosh(½ (Bᵀx)_j + c_j) + const, so
//   ∇ₓ log p(x) = b − x + ½ B tanh(½ Bᵀx + c).
// The sample: n draws from the same RBM with B + ε, ε_ij ∼ N(0, std²), by block Gibbs sampling
//   x | h ∼ N(B h / 2 + b, I),   P(h_j = +1 | x) = σ(2 (½ (Bᵀx)_j + c_j)),
// on n independent chains (h started uniform on {−1, +1}^40), each giving its state after T steps: independent
// draws, so the i.i.d. bootstraps apply. Each repetition draws its own B, b, c, ε and chains. At std = 0 the
// sample comes from p itself, so the rejection rate estimates the level.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/linalg.hpp"
#include "autodiff/random.hpp"
#include "ebm/eval/ksd.hpp"

namespace {

using ad::Shape;
using ad::Tensor;

constexpr int64_t kDx = 50, kDh = 40;

struct Rbm {
  Tensor<double> B{Shape{kDx, kDh}}, b{Shape{kDx}}, c{Shape{kDh}};
};

Rbm draw_model(ad::Rng& rng) {
  Rbm m;
  for (double& v : m.B) v = rng.rademacher();
  ad::fill_normal(m.b, rng);
  ad::fill_normal(m.c, rng);
  return m;
}

// n independent Gibbs chains of T steps; returns the x of each chain's last step. In float: the sampler's
// rounding (relative 1e-7 per step) is far below what a test on 1000 points can see, and halves the time of the
// matrix products and the random draws, which are nearly all of the benchmark's time.
Tensor<double> gibbs(const Rbm& m, int64_t n, int64_t steps, ad::Rng& rng) {
  const Tensor<float> B = m.B.cast<float>();
  Tensor<float> x(Shape{n, kDx}), h(Shape{n, kDh}), z(Shape{n, kDh}), noise(Shape{n, kDx});
  std::vector<float> b(m.b.begin(), m.b.end()), c2(static_cast<size_t>(kDh));
  for (int64_t j = 0; j < kDh; ++j) c2[size_t(j)] = float(2 * m.c[j]);
  ad::fill_rademacher(h, rng);
  for (int64_t t = 0; t < steps; ++t) {
    ad::matmul_into(h, false, B, true, x);  // (B h)ᵀ per row
    ad::fill_normal(noise, rng);
    for (int64_t i = 0; i < n; ++i) {
      float* xi = x.data() + i * kDx;
      const float* ni = noise.data() + i * kDx;
      for (int64_t k = 0; k < kDx; ++k) xi[k] = 0.5f * xi[k] + b[size_t(k)] + ni[k];
    }
    ad::matmul_into(x, false, B, false, z);  // (Bᵀx)ᵀ per row
    for (int64_t i = 0; i < n; ++i) {
      float* zi = z.data() + i * kDh;
      for (int64_t j = 0; j < kDh; ++j) zi[j] += c2[size_t(j)];  // the logit 2 (½ Bᵀx + c)
    }
    ad::fill_bernoulli_logit(z.data(), h.data(), nullptr, n * kDh, rng);
    for (float& v : h) v = 2 * v - 1;
  }
  return x.cast<double>();
}

Tensor<double> score(const Rbm& m, const Tensor<double>& x) {
  const int64_t n = x.rows();
  Tensor<double> a(Shape{n, kDh}), s(Shape{n, kDx});
  ad::matmul_into(x, false, m.B, false, a);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < kDh; ++j) a.at(i, j) = 0.5 * std::tanh(0.5 * a.at(i, j) + m.c[j]);
  ad::matmul_into(a, false, m.B, true, s);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < kDx; ++k) s.at(i, k) += m.b[k] - x.at(i, k);
  return s;
}

// The central 99% interval [lo, hi] of Binomial(trials, p), as rates.
std::pair<double, double> binomial_99(int trials, double p) {
  std::vector<double> pmf(size_t(trials + 1));
  for (int k = 0; k <= trials; ++k)
    pmf[size_t(k)] = std::exp(std::lgamma(trials + 1.0) - std::lgamma(k + 1.0) - std::lgamma(trials - k + 1.0) +
                              k * std::log(p) + (trials - k) * std::log1p(-p));
  int lo = 0, hi = trials;
  for (double below = 0; below + pmf[size_t(lo)] <= 0.005; ++lo) below += pmf[size_t(lo)];
  for (double above = 0; above + pmf[size_t(hi)] <= 0.005; --hi) above += pmf[size_t(hi)];
  return {double(lo) / trials, double(hi) / trials};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int usage(const char* why) {
  std::fprintf(stderr, "ksd-power: %s\nusage: ksd-power [--reps R] [--n N] [--burnin T] [--draws B] [--alpha A] "
               "[--seed S] [--stds s1,s2,...]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 200;
  int64_t n = 1000, burnin = 2000, draws = 1000;
  double alpha = 0.05;
  uint64_t seed = 1;
  std::vector<double> stds = {0, 0.01, 0.02, 0.04, 0.06};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return usage("the KSD test's rejection rates on Liu et al.'s RBM benchmark"), 0;
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    if (a == "--reps") reps = std::atoi(v);
    else if (a == "--n") n = std::atoll(v);
    else if (a == "--burnin") burnin = std::atoll(v);
    else if (a == "--draws") draws = std::atoll(v);
    else if (a == "--alpha") alpha = std::atof(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else if (a == "--stds") {
      stds.clear();
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');) stds.push_back(std::atof(item.c_str()));
    } else return usage(("unknown flag " + a).c_str());
  }
  if (reps < 1 || n < 2 || burnin < 1 || draws < 1 || !(alpha > 0 && alpha < 1) || stds.empty())
    return usage("bad value");

  struct Test {
    const char* name;
    ebm::KsdKernel kernel;
    ebm::KsdBootstrap bootstrap;
  };
  const std::vector<Test> tests = {{"IMQ wild", ebm::KsdKernel::imq, ebm::KsdBootstrap::wild},
                                   {"IMQ multinomial", ebm::KsdKernel::imq, ebm::KsdBootstrap::multinomial},
                                   {"RBF wild", ebm::KsdKernel::rbf, ebm::KsdBootstrap::wild},
                                   {"RBF multinomial", ebm::KsdKernel::rbf, ebm::KsdBootstrap::multinomial}};
  std::printf("Gaussian-Bernoulli RBM, d_x = %lld, d_h = %lld; n = %lld samples from %lld independent Gibbs chains "
              "after %lld steps; %d repetitions per std; %lld bootstrap draws; alpha = %.3g\n\n",
              (long long)kDx, (long long)kDh, (long long)n, (long long)n, (long long)burnin, reps, (long long)draws, alpha);
  std::printf("| std |");
  for (const Test& t : tests) std::printf(" %s |", t.name);
  std::printf(" mean U (IMQ) |\n|---|");
  for (size_t k = 0; k <= tests.size(); ++k) std::printf("---|");
  std::printf("\n");
  std::fflush(stdout);

  double t_gibbs = 0, t_matrix = 0, t_test = 0;
  int64_t matrices = 0, test_calls = 0;
  const auto t_start = std::chrono::steady_clock::now();
  for (size_t si = 0; si < stds.size(); ++si) {
    std::vector<int> rejections(tests.size(), 0);
    double mean_u = 0;
    for (int r = 0; r < reps; ++r) {
      ad::Rng rng(seed, uint64_t(si) * 1000003 + uint64_t(r));
      const Rbm p = draw_model(rng);
      Rbm q = p;
      for (double& v : q.B) v += stds[si] * rng.normal();
      auto t0 = std::chrono::steady_clock::now();
      const Tensor<double> x = gibbs(q, n, burnin, rng);
      t_gibbs += seconds_since(t0);
      const Tensor<double> s = score(p, x);
      ebm::SteinMatrix m[2];
      for (int k = 0; k < 2; ++k) {
        ebm::KsdOptions o;
        o.kernel = k == 0 ? ebm::KsdKernel::imq : ebm::KsdKernel::rbf;
        t0 = std::chrono::steady_clock::now();
        m[k] = ebm::stein_matrix(x, s, o);
        t_matrix += seconds_since(t0);
        ++matrices;
      }
      mean_u += ebm::ksd_statistics(m[0].u).u / reps;
      for (size_t k = 0; k < tests.size(); ++k) {
        ebm::KsdTestOptions o;
        o.bootstrap = tests[k].bootstrap;
        o.draws = draws;
        o.seed = uint64_t(si) * 1000003 + uint64_t(r);
        t0 = std::chrono::steady_clock::now();
        rejections[k] += ebm::ksd_test(m[tests[k].kernel == ebm::KsdKernel::imq ? 0 : 1].u, o).p_value <= alpha;
        t_test += seconds_since(t0);
        ++test_calls;
      }
    }
    std::printf("| %g |", stds[si]);
    for (int c : rejections) std::printf(" %.3f |", double(c) / reps);
    std::printf(" %.4f |\n", mean_u);
    std::fflush(stdout);
  }
  const auto [lo, hi] = binomial_99(reps, alpha);
  std::printf("\nRejection rates at alpha = %.3g; under H0 (std = 0) the central 99%% interval of Binomial(%d, %.3g) / %d "
              "is [%.3f, %.3f].\n", alpha, reps, alpha, reps, lo, hi);
  std::printf("Time: %.1f s in all; Gibbs sampling %.1f s; per Stein matrix (n = %lld, d = %lld) %.1f ms; per test "
              "(%lld bootstrap draws) %.1f ms.\n", seconds_since(t_start), t_gibbs, (long long)n, (long long)kDx,
              1e3 * t_matrix / double(matrices), (long long)draws, 1e3 * t_test / double(test_calls));
  return 0;
}
