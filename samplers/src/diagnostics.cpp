// MCMC diagnostics after Stan's stan/analyze/mcmc (ess.hpp, rhat.hpp, rank_normalization.hpp,
// split_rank_normalized_{ess,rhat}.hpp, check_chains.hpp) and Vehtari et al. (2021). Where this file
// departs from Stan it says so; every departure only turns a meaningless number into NaN or an error.
#include "samplers/diagnostics.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

namespace samplers {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Caller errors are exceptions; properties of the draws (constant, non-finite) are NaN results.
void check_shape(const Chains& chains, const char* fn) {
  const std::string who = std::string("samplers::") + fn + ": ";
  if (chains.empty()) throw std::invalid_argument(who + "no chains given");
  const std::size_t n = chains[0].size();
  for (std::size_t c = 1; c < chains.size(); ++c)
    if (chains[c].size() != n)
      throw std::invalid_argument(who + "ragged chains: chain " + std::to_string(c) + " has " +
                                  std::to_string(chains[c].size()) + " draws but chain 0 has " +
                                  std::to_string(n) + " (all chains must have the same length)");
  if (n < 4)
    throw std::invalid_argument(who + "fewer than 4 draws per chain (got " + std::to_string(n) + ")");
}

// First and second half of every chain; for an odd length the middle draw is dropped (the paper,
// posterior and Stan's documentation; Stan's current code drops the last draw instead).
Chains split_chains(const Chains& chains) {
  const std::size_t n = chains[0].size(), half = n / 2;
  Chains out;
  out.reserve(2 * chains.size());
  for (const auto& c : chains) {
    out.emplace_back(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(half));
    out.emplace_back(c.end() - static_cast<std::ptrdiff_t>(half), c.end());
  }
  return out;
}

// Eigen's isApprox(x, c) with Eigen's default double precision, as used by Stan's isApproxToConstant.
bool approx_equal(double x, double c) { return std::abs(x - c) <= 1e-12 * std::min(std::abs(x), std::abs(c)); }

// Stan's is_finite_and_varies: every draw finite, no chain (approximately) constant, and, with several
// chains, not all chains starting at the same value.
bool finite_and_varies(const Chains& chains) {
  bool first_all_equal = true;
  for (const auto& c : chains) {
    for (double v : c)
      if (!std::isfinite(v)) return false;
    if (std::all_of(c.begin(), c.end(), [&](double v) { return approx_equal(v, c[0]); })) return false;
    first_all_equal = first_all_equal && approx_equal(c[0], chains[0][0]);
  }
  return !(chains.size() > 1 && first_all_equal);
}

std::vector<double> pooled(const Chains& chains) {
  std::vector<double> all;
  for (const auto& c : chains) all.insert(all.end(), c.begin(), c.end());
  return all;
}

// Type-7 sample quantile (Hyndman & Fan), the default of R and of stan::math::quantile.
double quantile7(std::vector<double> x, double p) {
  std::sort(x.begin(), x.end());
  const double h = (static_cast<double>(x.size()) - 1) * p;
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= x.size()) return x.back();
  return x[lo] + (h - static_cast<double>(lo)) * (x[lo + 1] - x[lo]);
}

// Rank-normal scores over all pooled draws (paper eq. 14): average ranks for ties, Blom's offset.
Chains rank_normalize(const Chains& chains) {
  const std::size_t n = chains[0].size(), total = n * chains.size();
  std::vector<std::pair<double, std::size_t>> v;
  v.reserve(total);
  for (std::size_t c = 0; c < chains.size(); ++c)
    for (std::size_t t = 0; t < n; ++t) v.emplace_back(chains[c][t], c * n + t);
  std::sort(v.begin(), v.end());
  Chains z(chains.size(), std::vector<double>(n));
  for (std::size_t i = 0; i < total;) {
    std::size_t j = i + 1;
    while (j < total && v[j].first == v[i].first) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
    const double score = detail::inv_normal_cdf((avg_rank - 0.375) / (static_cast<double>(total) + 0.25));
    for (std::size_t k = i; k < j; ++k) z[v[k].second / n][v[k].second % n] = score;
    i = j;
  }
  return z;
}

// Stan's rhat(): sqrt(((n-1)/n W + B/n) / W) with B = n var(chain means), W = mean chain variance.
double rhat_raw(const Chains& chains) {
  const double m = static_cast<double>(chains.size()), n = static_cast<double>(chains[0].size());
  std::vector<double> means;
  double within = 0;
  for (const auto& c : chains) {
    double mean = 0;
    for (double v : c) mean += v;
    mean /= n;
    double ss = 0;
    for (double v : c) ss += (v - mean) * (v - mean);
    within += ss / (n - 1);
    means.push_back(mean);
  }
  within /= m;
  double grand = 0;
  for (double mu : means) grand += mu;
  grand /= m;
  double between = 0;
  for (double mu : means) between += (mu - grand) * (mu - grand);
  between *= n / (m - 1);
  return std::sqrt((between / within + n - 1) / n);
}

// Iterative radix-2 Cooley-Tukey FFT of one power-of-two size on split real/imaginary arrays (plain
// double arithmetic keeps the butterflies in registers; std::complex's operator* would also go through
// the slow Annex G NaN path). The twiddle table is built once and reused for every chain, each entry from
// cos/sin of its own angle so rounding does not accumulate along a stage.
class Fft {
 public:
  explicit Fft(std::size_t n) : n_(n), wr_(n / 2), wi_(n / 2) {
    for (std::size_t k = 0; k < n / 2; ++k) {
      const double ang = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
      wr_[k] = std::cos(ang);
      wi_[k] = std::sin(ang);
    }
  }
  void operator()(std::vector<double>& re, std::vector<double>& im) const {
    for (std::size_t i = 1, j = 0; i < n_; ++i) {  // bit-reversal permutation
      std::size_t bit = n_ >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(re[i], re[j]), std::swap(im[i], im[j]);
    }
    for (std::size_t len = 2; len <= n_; len <<= 1) {
      const std::size_t step = n_ / len, h = len / 2;
      for (std::size_t s = 0; s < n_; s += len) {
        double* ar = re.data() + s;
        double* ai = im.data() + s;
        for (std::size_t k = 0; k < h; ++k) {
          const double wr = wr_[k * step], wi = wi_[k * step];
          const double vr = ar[k + h] * wr - ai[k + h] * wi, vi = ar[k + h] * wi + ai[k + h] * wr;
          const double ur = ar[k], ui = ai[k];
          ar[k] = ur + vr, ai[k] = ui + vi;
          ar[k + h] = ur - vr, ai[k + h] = ui - vi;
        }
      }
    }
  }

 private:
  std::size_t n_;
  std::vector<double> wr_, wi_;
};

// Biased autocovariances of equal-length chains. Two real chains ride in one complex FFT (x + i y) and
// their power spectra come back in one more (both are real and even, so the forward transform of
// |X|^2 + i |Y|^2 is m times the inverse, with x's autocovariance in the real part and y's in the
// imaginary part). Padding to m >= 2n makes circular correlation equal linear correlation at every lag.
std::vector<std::vector<double>> autocovariances(const Chains& chains) {
  const std::size_t n = chains[0].size();
  std::vector<std::vector<double>> out(chains.size(), std::vector<double>(n));
  if (n == 0) return out;
  std::size_t m = 1;
  while (m < 2 * n) m <<= 1;
  const Fft fft(m);
  const double scale = 1.0 / (static_cast<double>(m) * static_cast<double>(n));
  std::vector<double> zr(m), zi(m), pr(m), pi(m);
  auto centre_into = [&](std::size_t c, std::vector<double>& dst) {
    double mean = 0;
    for (double v : chains[c]) mean += v;
    mean /= static_cast<double>(n);
    for (std::size_t t = 0; t < n; ++t) dst[t] = chains[c][t] - mean;
  };
  for (std::size_t c = 0; c < chains.size(); c += 2) {
    const bool pair = c + 1 < chains.size();
    std::fill(zr.begin(), zr.end(), 0.0);
    std::fill(zi.begin(), zi.end(), 0.0);
    centre_into(c, zr);
    if (pair) centre_into(c + 1, zi);
    fft(zr, zi);
    for (std::size_t k = 0; k < m; ++k) {
      // X_k = (Z_k + conj Z_{m-k}) / 2 and Y_k = (Z_k - conj Z_{m-k}) / (2i).
      const std::size_t j = (m - k) & (m - 1);
      const double sr = zr[k] + zr[j], si = zi[k] - zi[j], dr = zr[k] - zr[j], di = zi[k] + zi[j];
      pr[k] = 0.25 * (sr * sr + si * si);
      pi[k] = 0.25 * (dr * dr + di * di);
    }
    fft(pr, pi);
    for (std::size_t k = 0; k < n; ++k) {
      out[c][k] = pr[k] * scale;
      if (pair) out[c + 1][k] = pi[k] * scale;
    }
  }
  return out;
}

}  // namespace

namespace detail {

std::vector<double> autocovariance(const std::vector<double>& x) { return autocovariances(Chains{x})[0]; }

double inv_normal_cdf(double p) {
  if (std::isnan(p) || p < 0 || p > 1) return kNaN;
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  // Work in the lower tail where 1 - p would lose digits; q = 1 - p is exact for p >= 0.5.
  const bool upper = p > 0.5;
  const double q = upper ? 1.0 - p : p;
  // P. J. Acklam's rational approximation (relative error < 1.15e-9) ...
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x;
  if (q < 0.02425) {
    const double r = std::sqrt(-2 * std::log(q));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) /
        ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  } else {
    const double r = q - 0.5, s = r * r;
    x = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r /
        (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
  }
  // ... polished by one Halley step on Phi(x) - q (cubic convergence: ~1e-9 -> rounding level).
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - q;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(0.5 * x * x);
  x -= u / (1 + 0.5 * x * u);
  return upper ? -x : x;
}

double ess_raw(const Chains& chains) {
  const std::size_t m = chains.size();
  const long n = static_cast<long>(chains[0].size());
  if (n < 4) return kNaN;  // Stan: too few draws per (split) chain
  const double dn = static_cast<double>(n);

  const std::vector<std::vector<double>> acov = autocovariances(chains);
  std::vector<double> chain_mean(m);
  double w = 0;  // W, the mean within-chain variance (denominator n - 1)
  for (std::size_t c = 0; c < m; ++c) {
    double s = 0;
    for (double v : chains[c]) s += v;
    chain_mean[c] = s / dn;
    w += acov[c][0] * dn / (dn - 1);
  }
  w /= static_cast<double>(m);
  double var_plus = w * (dn - 1) / dn;  // eq. (3)
  if (m > 1) {
    double mu = 0, b = 0;
    for (double v : chain_mean) mu += v;
    mu /= static_cast<double>(m);
    for (double v : chain_mean) b += (v - mu) * (v - mu);
    var_plus += b / static_cast<double>(m - 1);
  }
  // Departure: Stan only returns NaN for a NaN var+; a zero var+ (e.g. a tail indicator that is the
  // same everywhere) would give 0/0 autocorrelations and an arbitrary S/2, so it is NaN here too.
  if (!(var_plus > 0) || !std::isfinite(var_plus)) return kNaN;

  // Multi-chain autocorrelation at lag t, eq. (10).
  auto rho = [&](long t) {
    double a = 0;
    for (std::size_t c = 0; c < m; ++c) a += acov[c][static_cast<std::size_t>(t)];
    return 1 - (w - a / static_cast<double>(m)) / var_plus;
  };
  std::vector<double> rho_hat(static_cast<std::size_t>(n), 0.0);
  double rho_even = 1.0, rho_odd = rho(1);
  rho_hat[0] = rho_even;
  rho_hat[1] = rho_odd;
  // Geyer's initial positive sequence over pairs (t+1, t+2), eq. (11), made monotone on the fly as in
  // Stan's ess.hpp. The last lags are left out so a final pair remains for the antithetic correction.
  long t = 1;
  while (t < n - 4 && rho_even + rho_odd > 0 && !std::isnan(rho_even + rho_odd)) {
    rho_even = rho(t + 1);
    rho_odd = rho(t + 2);
    const auto i = static_cast<std::size_t>(t);
    if (rho_even + rho_odd >= 0) {
      rho_hat[i + 1] = rho_even;
      rho_hat[i + 2] = rho_odd;
    }
    if (rho_hat[i + 1] + rho_hat[i + 2] > rho_hat[i - 1] + rho_hat[i]) {  // initial monotone sequence
      rho_hat[i + 1] = (rho_hat[i - 1] + rho_hat[i]) / 2;
      rho_hat[i + 2] = rho_hat[i + 1];
    }
    t += 2;
  }
  // When every pair stays positive up to the last lags (chains far from decorrelated), Stan's sum below
  // also includes the even lag of the last pair, as well as the correction term; posterior's R code
  // does not. This file follows Stan.
  const auto max_t = static_cast<std::size_t>(t);
  // Antithetic correction (paper p. 8, "In extreme antithetic cases"): add the last even lag once.
  if (rho_even > 0) rho_hat[max_t + 1] = rho_even;
  double sum = 0;
  for (std::size_t k = 0; k < max_t; ++k) sum += rho_hat[k];
  const double total = static_cast<double>(m) * dn;
  double tau = -1 + 2 * sum + rho_hat[max_t + 1];  // eq. (13)
  // Cap ESS at S log10(S): antithetic chains legitimately give ESS > S, but not without bound.
  tau = std::max(tau, 1 / std::log10(total));
  return total / tau;
}

}  // namespace detail

namespace {

// Split chains that passed Stan's checks, or nothing if the diagnostic must be NaN.
bool prepare(const Chains& chains, const char* fn, Chains& split) {
  check_shape(chains, fn);
  split = split_chains(chains);
  return finite_and_varies(split);
}

double ess_tail_split(const Chains& split) {
  const std::vector<double> all = pooled(split);
  const double q05 = quantile7(all, 0.05), q95 = quantile7(all, 0.95);
  Chains lo = split, hi = split;
  for (auto& c : lo)
    for (double& v : c) v = v <= q05 ? 1.0 : 0.0;
  for (auto& c : hi)
    for (double& v : c) v = v >= q95 ? 1.0 : 0.0;
  const double e05 = detail::ess_raw(lo), e95 = detail::ess_raw(hi);
  if (std::isnan(e05)) return e95;
  if (std::isnan(e95)) return e05;
  return std::min(e05, e95);
}

double rhat_split(const Chains& split) {
  const double bulk = rhat_raw(rank_normalize(split));
  const double median = quantile7(pooled(split), 0.5);
  Chains folded = split;
  for (auto& c : folded)
    for (double& v : c) v = std::abs(v - median);
  const double tail = rhat_raw(rank_normalize(folded));
  return std::max(bulk, tail);
}

}  // namespace

double ess(const Chains& chains) {
  Chains split;
  if (!prepare(chains, "ess", split)) return kNaN;
  return detail::ess_raw(rank_normalize(split));
}

double ess_basic(const Chains& chains) {
  Chains split;
  if (!prepare(chains, "ess_basic", split)) return kNaN;
  return detail::ess_raw(split);
}

double ess_tail(const Chains& chains) {
  Chains split;
  if (!prepare(chains, "ess_tail", split) || split[0].size() < 4) return kNaN;
  return ess_tail_split(split);
}

double rhat(const Chains& chains) {
  Chains split;
  if (!prepare(chains, "rhat", split)) return kNaN;
  return rhat_split(split);
}

double rhat_basic(const Chains& chains) {
  Chains split;
  if (!prepare(chains, "rhat_basic", split)) return kNaN;
  return rhat_raw(split);
}

namespace {
std::pair<double, double> mean_sd(const Chains& chains) {
  double s = 0, count = 0;
  for (const auto& c : chains)
    for (double v : c) s += v, count += 1;
  const double mean = s / count;
  double ss = 0;
  for (const auto& c : chains)
    for (double v : c) ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / (count - 1))};
}
}  // namespace

double mcse_mean(const Chains& chains) {
  const double e = ess_basic(chains);  // validates the shape
  return mean_sd(chains).second / std::sqrt(e);
}

Summary summarize(const Chains& chains) {
  Summary s{};
  Chains split;
  const bool ok = prepare(chains, "summarize", split);
  std::tie(s.mean, s.sd) = mean_sd(chains);
  if (!ok) {
    s.mcse = s.ess_bulk = s.ess_tail = s.rhat = kNaN;
    return s;
  }
  s.mcse = s.sd / std::sqrt(detail::ess_raw(split));
  s.ess_bulk = detail::ess_raw(rank_normalize(split));
  s.ess_tail = split[0].size() < 4 ? kNaN : ess_tail_split(split);
  s.rhat = rhat_split(split);
  return s;
}

std::vector<Summary> summarize_dims(const std::vector<std::vector<std::vector<double>>>& draws) {
  if (draws.empty()) throw std::invalid_argument("samplers::summarize_dims: no chains given");
  if (draws[0].empty()) throw std::invalid_argument("samplers::summarize_dims: chain 0 has no draws");
  const std::size_t dims = draws[0][0].size();
  for (std::size_t c = 0; c < draws.size(); ++c)
    for (std::size_t t = 0; t < draws[c].size(); ++t)
      if (draws[c][t].size() != dims)
        throw std::invalid_argument("samplers::summarize_dims: draw " + std::to_string(t) + " of chain " +
                                    std::to_string(c) + " has " + std::to_string(draws[c][t].size()) +
                                    " dimensions but draw 0 of chain 0 has " + std::to_string(dims));
  // Chain-length checks happen in summarize(); run dimension 0 first so errors surface before the
  // parallel loop, where each dimension is independent and results do not depend on thread count.
  auto column = [&](std::size_t k) {
    Chains x(draws.size());
    for (std::size_t c = 0; c < draws.size(); ++c) {
      x[c].reserve(draws[c].size());
      for (const auto& d : draws[c]) x[c].push_back(d[k]);
    }
    return x;
  };
  std::vector<Summary> out(dims);
  if (dims == 0) return out;
  out[0] = summarize(column(0));
  tbb::parallel_for(tbb::blocked_range<std::size_t>(1, dims), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t k = r.begin(); k != r.end(); ++k) out[k] = summarize(column(k));
  });
  return out;
}

}  // namespace samplers
