#include "ebm/eval/ksd.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/linalg.hpp"
#include "autodiff/random.hpp"
#include "ebm/eval/mmd.hpp"

namespace ebm {
namespace {

// Note [Stein matrix from Gram matrices]
// For a radial kernel k(x, y) = φ(r²), r² = ‖δ‖², δ = x − y:
//   ∇_x k = 2φ′ δ,   ∇_y k = −2φ′ δ,   tr ∇_x ∇_y k = −4φ″ r² − 2d φ′,
// so the two cross terms of u_p combine into −2φ′ (s_x − s_y)ᵀ(x − y) and
//   u_ij = φ s_iᵀs_j − 2φ′ (a_i + a_j − M_ij − M_ji) − 4φ″ r²_ij − 2d φ′,   M_ij = s_iᵀx_j, a_i = M_ii,
//   r²_ij = g_ii + g_jj − 2 g_ij,   g_ij = x_iᵀx_j.
// The three Gram matrices S Sᵀ, S Xᵀ and X Xᵀ are matrix products (the engine's GEMM), O(n² d) at full speed,
// and what is left is O(n²) scalar work; a direct loop over pairs and coordinates would be several times slower
// (its double reductions do not vectorise). Both differences of Gram entries cancel when points are close
// (r² loses about eps·‖x‖² absolutely), so x is centred first: every term is translation invariant in x, and
// centring makes ‖x‖² as small as it can be. r² is clamped at 0, and the diagonal (δ = 0) is set exactly.

// φ, φ′ and φ″ of the kernel's profile at t = r².
struct Profile {
  KsdKernel kernel;
  double c2 = 1, beta = -0.5, inv_2h2 = 0;
  void operator()(double t, double& f, double& f1, double& f2) const {
    if (kernel == KsdKernel::imq) {
      const double base = c2 + t, q = 1 / base;
      f = beta == -0.5 ? std::sqrt(q) : std::pow(base, beta);  // the default without pow: 1/√ is far cheaper
      f1 = beta * f * q;
      f2 = (beta - 1) * f1 * q;
    } else {
      f = std::exp(-t * inv_2h2);
      f1 = -inv_2h2 * f;
      f2 = -inv_2h2 * f1;
    }
  }
};

void check_finite(const ad::Tensor<double>& t, const char* what) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t[i])) throw std::invalid_argument(std::string("stein_matrix: ") + what + " has a non-finite entry");
}

void check_square(const ad::Tensor<double>& stein, const char* who) {
  if (stein.rank() != 2 || stein.rows() != stein.cols() || stein.rows() < 2)
    throw std::invalid_argument(std::string(who) + ": needs a Stein matrix [n, n], n >= 2, got " + stein.shape().str());
}

}  // namespace

SteinMatrix stein_matrix(const ad::Tensor<double>& x, const ad::Tensor<double>& scores, const KsdOptions& o) {
  if (x.rank() != 2 || scores.shape() != x.shape() || x.rows() < 2)
    throw std::invalid_argument("stein_matrix: needs x and scores [n, d] with n >= 2, got " + x.shape().str() + " and " +
                                scores.shape().str());
  check_finite(x, "x");
  check_finite(scores, "scores");
  const int64_t n = x.rows(), d = x.cols();
  SteinMatrix out;
  Profile phi{o.kernel};
  if (o.kernel == KsdKernel::imq) {
    if (!(o.imq_c > 0) || !std::isfinite(o.imq_c)) throw std::invalid_argument("stein_matrix: IMQ c must be positive");
    // β ≥ 0 is not characteristic (k grows), β ≤ −1 is outside Gorham & Mackey's range for which KSD → 0 implies
    // convergence.
    if (!(o.imq_beta > -1 && o.imq_beta < 0)) throw std::invalid_argument("stein_matrix: IMQ beta must lie in (-1, 0)");
    phi.c2 = o.imq_c * o.imq_c;
    phi.beta = o.imq_beta;
  } else {
    double h = o.bandwidth;
    if (h == 0) {
      h = median_pairwise_distance(x, o.median_points);
      if (!(h > 0)) throw std::invalid_argument("stein_matrix: the median pairwise distance is 0 (all points equal?); give a bandwidth");
    }
    if (!(h > 0) || !std::isfinite(h)) throw std::invalid_argument("stein_matrix: the RBF bandwidth must be positive and finite");
    out.bandwidth = h;
    phi.inv_2h2 = 0.5 / (h * h);
  }

  // Note [Stein matrix from Gram matrices]
  ad::Tensor<double> xc = x;
  for (int64_t k = 0; k < d; ++k) {
    double m = 0;
    for (int64_t i = 0; i < n; ++i) m += x.at(i, k);
    m /= double(n);
    for (int64_t i = 0; i < n; ++i) xc.at(i, k) -= m;
  }
  ad::Tensor<double> ss(ad::Shape{n, n}, ad::uninitialized), sx(ad::Shape{n, n}, ad::uninitialized),
      xx(ad::Shape{n, n}, ad::uninitialized);
  ad::matmul_into(scores, false, scores, true, ss);
  ad::matmul_into(scores, false, xc, true, sx);
  ad::matmul_into(xc, false, xc, true, xx);

  out.u = ad::Tensor<double>(ad::Shape{n, n}, ad::uninitialized);
  double* u = out.u.data();
  const double *g = xx.data(), *m = sx.data(), *p = ss.data();
  const double dd = double(d);
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    double f, f1, f2;
    phi(0, f, f1, f2);
    u[i * n + i] = f * p[i * n + i] - 2 * dd * f1;
    const double gi = g[i * n + i], ai = m[i * n + i];
    for (int64_t j = i + 1; j < n; ++j) {
      const double r2 = std::max(0.0, gi + g[j * n + j] - 2 * g[i * n + j]);
      phi(r2, f, f1, f2);
      const double cross = ai + m[j * n + j] - m[i * n + j] - m[j * n + i];
      u[i * n + j] = f * p[i * n + j] - 2 * f1 * cross - 4 * f2 * r2 - 2 * dd * f1;
    }
  });
  // Mirror the upper triangle, so the matrix is exactly symmetric.
  tbb::parallel_for(int64_t{1}, n, [&](int64_t i) {
    for (int64_t j = 0; j < i; ++j) u[i * n + j] = u[j * n + i];
  });
  return out;
}

KsdStatistics ksd_statistics(const ad::Tensor<double>& stein) {
  check_square(stein, "ksd_statistics");
  const int64_t n = stein.rows();
  std::vector<double> off(size_t(n), 0.0);  // Σ_{j≠i} u_ij per row
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    const double* row = stein.data() + i * n;
    double s = 0;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) s += row[j];
    off[size_t(i)] = s;
  });
  double total_off = 0, diag = 0;
  for (int64_t i = 0; i < n; ++i) {
    total_off += off[size_t(i)];
    diag += stein.at(i, i);
  }
  const double nd = double(n);
  KsdStatistics r;
  r.u = total_off / (nd * (nd - 1));
  r.v = (total_off + diag) / (nd * nd);
  // U = (2/n) Σ_i h₁(x_i) + a degenerate remainder, h₁(x) = E_y u_p(x, y) − KSD²; h₁(x_i) ≈ off_i / (n − 1) − U.
  double var = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double h1 = off[size_t(i)] / (nd - 1) - r.u;
    var += h1 * h1 / (nd - 1);
  }
  r.u_std_error = 2 * std::sqrt(var / nd);
  return r;
}

// Note [KSD bootstraps]
// Under H₀ the Stein kernel is degenerate (E_y u_p(x, y) = 0 for every x), so n·U converges to Σ_k λ_k (Z_k² − 1),
// an infinite weighted sum of centred χ²₁ variables whose weights depend on p and q: the test needs a simulation
// of it. Both bootstraps replace the sample average by a randomly weighted one, keeping the Stein matrix fixed:
//   wild:        T* = 1/(n−1) Σ_{i≠j} W_i W_j u_ij,            W ∈ {−1, +1}ⁿ,
//   multinomial: T* = 1/n     Σ_{i≠j} (N_i − 1)(N_j − 1) u_ij,   N ∼ Multinomial(n; 1/n, …, 1/n),
// against T = n·U = 1/(n−1) Σ_{i≠j} u_ij. The multinomial form is Liu et al.'s Ŝ* = Σ_{i≠j} (w_i − 1/n)(w_j − 1/n)
// u_ij, w = N/n, times n. With W_i = 1 the wild draw is T itself; with Rademacher W the test of the V-statistic is
// the same test (the diagonal adds Σ u_ii to T and, W_i² being 1, to every draw), so one wild test serves both.
// Rademacher weights are the i.i.d. case of Chwialkowski et al.'s process (flip probability ½): right for
// independent draws, which is what this library's evaluation gives it (independent chains, or exact samples). For
// the states of one chain the draws must stay correlated over the chain's mixing time, hence the smaller flip
// probability. Draws are made in blocks of kBlock: Y = U W for a block of weight vectors W [n, kBlock] is one
// GEMM, and T*_b = Σ_i W_ib (Y_ib − W_ib u_ii) / scale. Block t's weights come from ad::Rng(seed, t), so the
// p-value does not depend on the thread count.

KsdTestResult ksd_test(const ad::Tensor<double>& stein, const KsdTestOptions& o) {
  check_square(stein, "ksd_test");
  if (o.draws < 1) throw std::invalid_argument("ksd_test: draws must be positive");
  if (!(o.wild_flip_probability > 0 && o.wild_flip_probability <= 0.5))
    throw std::invalid_argument("ksd_test: wild_flip_probability must lie in (0, 0.5]");
  const int64_t n = stein.rows();
  const double nd = double(n);
  KsdTestResult r;
  r.draws = o.draws;
  r.statistic = ksd_statistics(stein).u * nd;
  const double scale = o.bootstrap == KsdBootstrap::wild ? 1 / (nd - 1) : 1 / nd;
  constexpr int64_t kBlock = 128;
  int64_t exceed = 0;
  ad::Tensor<double> w, y;
  std::vector<int64_t> counts(static_cast<size_t>(n));
  std::vector<double> t(static_cast<size_t>(kBlock));
  for (int64_t start = 0, block = 0; start < o.draws; start += kBlock, ++block) {
    const int64_t b = std::min(kBlock, o.draws - start);
    w = ad::Tensor<double>(ad::Shape{n, b}, ad::uninitialized);
    y = ad::Tensor<double>(ad::Shape{n, b}, ad::uninitialized);
    ad::Rng rng(o.seed, uint64_t(block));
    double* wd = w.data();
    for (int64_t c = 0; c < b; ++c) {
      if (o.bootstrap == KsdBootstrap::wild) {
        double s = rng.rademacher();
        for (int64_t i = 0; i < n; ++i) {
          if (i > 0 && rng.uniform() < o.wild_flip_probability) s = -s;
          wd[i * b + c] = s;
        }
      } else {
        std::fill(counts.begin(), counts.end(), 0);
        for (int64_t k = 0; k < n; ++k) ++counts[size_t(rng.below(uint64_t(n)))];
        for (int64_t i = 0; i < n; ++i) wd[i * b + c] = double(counts[size_t(i)] - 1);
      }
    }
    ad::matmul_into(stein, false, w, false, y);
    // T*_c = Σ_i w_ic (y_ic − w_ic u_ii), accumulated row by row (contiguous) into one sum per draw.
    std::fill(t.begin(), t.end(), 0.0);
    const double* yd = y.data();
    for (int64_t i = 0; i < n; ++i) {
      const double uii = stein.data()[i * n + i];
      const double *wi = wd + i * b, *yi = yd + i * b;
      for (int64_t c = 0; c < b; ++c) t[size_t(c)] += wi[c] * (yi[c] - wi[c] * uii);
    }
    for (int64_t c = 0; c < b; ++c) exceed += t[size_t(c)] * scale >= r.statistic;
  }
  r.p_value = double(1 + exceed) / double(1 + o.draws);
  return r;
}

template <class T>
ad::Tensor<double> model_scores(const Energy<T>& model, const ad::Tensor<T>& x, int64_t batch) {
  if (x.rank() != 2 || x.cols() != model.dim())
    throw ad::ShapeError("model_scores: x must be [n, " + std::to_string(model.dim()) + "], got " + x.shape().str());
  if (batch < 1) throw std::invalid_argument("model_scores: batch must be positive");
  const int64_t n = x.rows(), d = x.cols();
  ad::Tensor<double> out(ad::Shape{n, d});
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t b = std::min(batch, n - start);
    const ad::Tensor<T> s = model.score(ad::Tensor<T>(ad::Shape{b, d}, x.data() + start * d));
    for (int64_t k = 0; k < b * d; ++k) out[start * d + k] = static_cast<double>(s[k]);
  }
  return out;
}

template ad::Tensor<double> model_scores(const Energy<float>&, const ad::Tensor<float>&, int64_t);
template ad::Tensor<double> model_scores(const Energy<double>&, const ad::Tensor<double>&, int64_t);

}  // namespace ebm
