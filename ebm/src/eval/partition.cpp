#include "ebm/eval/partition.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "rbm_enumeration.hpp"

namespace ebm {
namespace {

using LogSum = ad::scalar::LogSumExp;  // running log-sum-exp in a fixed order

}  // namespace

template <class T>
BatchEnergy batch_energy(const Energy<T>& model) {
  return [&model](const ad::Tensor<double>& states) {
    const ad::Tensor<T> e = model.evaluate(states.template cast<T>());
    std::vector<double> out(static_cast<size_t>(e.numel()));
    for (int64_t i = 0; i < e.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<double>(e[i]);
    return out;
  };
}

double log_partition_enumerate(int n, Units units, const BatchEnergy& energy, int chunk_bits) {
  if (n < 1 || n > 30) throw std::invalid_argument("log_partition_enumerate: needs 1 <= n <= 30 units, got " + std::to_string(n));
  chunk_bits = std::max(0, std::min(chunk_bits, n));
  const int64_t chunk = int64_t{1} << chunk_bits;
  const int64_t chunks = int64_t{1} << (n - chunk_bits);
  const double off = units == Units::spin ? -1.0 : 0.0;
  std::vector<double> part(static_cast<size_t>(chunks));
  tbb::parallel_for(int64_t{0}, chunks, [&](int64_t c) {
    ad::Tensor<double> states(ad::Shape{chunk, n});
    for (int64_t r = 0; r < chunk; ++r) {
      const uint64_t s = static_cast<uint64_t>(c * chunk + r);
      for (int i = 0; i < n; ++i) states.at(r, i) = (s >> i) & 1u ? 1.0 : off;
    }
    const std::vector<double> e = energy(states);
    if (static_cast<int64_t>(e.size()) != chunk) throw std::logic_error("log_partition_enumerate: energy returned the wrong count");
    LogSum ls;
    for (double v : e) ls.add(-v);
    part[static_cast<size_t>(c)] = ls.value();
  });
  LogSum total;
  for (double p : part) total.add(p);
  return total.value();
}

template <class T>
double log_partition_enumerate(const Energy<T>& model, Units units, int chunk_bits) {
  return log_partition_enumerate(static_cast<int>(model.dim()), units, batch_energy(model), chunk_bits);
}

double log_partition_rbm_enumerate(const BernoulliRbm<double>& rbm) {
  const detail::RbmEnumeration e(rbm);  // the smaller layer (Note [Gray-code enumeration])
  if (e.m > kMaxEnumeratedRbmUnits)
    throw std::invalid_argument("log_partition_rbm_enumerate: needs a layer of at most " + std::to_string(kMaxEnumeratedRbmUnits) +
                                " units (this RBM has " + std::to_string(rbm.visible()) + " visible and " +
                                std::to_string(rbm.hidden()) + " hidden)");
  const int low = int(std::min<int64_t>(e.m, 12));  // each chunk walks the 2^low states of the low bits
  const int64_t chunks = int64_t{1} << (e.m - low);
  std::vector<double> part(static_cast<size_t>(chunks));
  tbb::parallel_for(int64_t{0}, chunks, [&](int64_t chunk) {
    LogSum ls;
    e.walk(uint64_t(chunk), low, [&ls](uint64_t, double l) { ls.add(l); });
    part[size_t(chunk)] = ls.value();
  });
  LogSum total;
  for (double p : part) total.add(p);
  return total.value();
}

GaussLegendre gauss_legendre(int n) {
  if (n < 1) throw std::invalid_argument("gauss_legendre: needs n >= 1");
  GaussLegendre r;
  r.nodes.resize(static_cast<size_t>(n));
  r.weights.resize(static_cast<size_t>(n));
  for (int i = 0; i < (n + 1) / 2; ++i) {
    // Start from the Chebyshev-like approximation of the i-th root, then Newton on P_n.
    double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
    double dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = x;  // P_0, P_1; recurrence k P_k = (2k − 1) x P_{k−1} − (k − 1) P_{k−2}
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1.0);  // P_n'
      const double dx = p1 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-16) break;
    }
    {
      double p0 = 1, p1 = x;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1.0);
    }
    const double w = 2.0 / ((1.0 - x * x) * dp * dp);
    r.nodes[static_cast<size_t>(i)] = -x;
    r.nodes[static_cast<size_t>(n - 1 - i)] = x;
    r.weights[static_cast<size_t>(i)] = r.weights[static_cast<size_t>(n - 1 - i)] = w;
  }
  return r;
}

namespace {

// The composite Gauss–Legendre rule of one axis per dimension: points and log-weights.
struct AxisRules {
  std::vector<std::vector<double>> pts, logw;
};

AxisRules axis_rules(const char* who, int d, const std::vector<double>& lo, const std::vector<double>& hi, const QuadratureOptions& opt) {
  const std::string name(who);
  if (d != 1 && d != 2) throw std::invalid_argument(name + ": d must be 1 or 2");
  if (static_cast<int>(lo.size()) != d || static_cast<int>(hi.size()) != d) throw std::invalid_argument(name + ": needs one bound per dimension");
  if (opt.panels < 1 || opt.order < 1) throw std::invalid_argument(name + ": panels and order must be positive");
  const GaussLegendre gl = gauss_legendre(opt.order);
  AxisRules r{std::vector<std::vector<double>>(static_cast<size_t>(d)), std::vector<std::vector<double>>(static_cast<size_t>(d))};
  for (size_t k = 0; k < static_cast<size_t>(d); ++k) {
    if (!(hi[k] > lo[k])) throw std::invalid_argument(name + ": empty box");
    const double h = (hi[k] - lo[k]) / opt.panels;
    for (int p = 0; p < opt.panels; ++p)
      for (int i = 0; i < opt.order; ++i) {
        const double mid = lo[k] + (p + 0.5) * h;
        r.pts[k].push_back(mid + 0.5 * h * gl.nodes[static_cast<size_t>(i)]);
        r.logw[k].push_back(std::log(0.5 * h * gl.weights[static_cast<size_t>(i)]));
      }
  }
  return r;
}

// f(x, first axis' log-weights, the row's log-weight) for each row of the grid (the whole axis in 1-D, with row
// log-weight 0), one task per row; the rows' results in order.
template <class F>
std::vector<double> over_grid_rows(int d, const AxisRules& r, const F& f) {
  const int64_t m = static_cast<int64_t>(r.pts[0].size());
  const int64_t rows = d == 1 ? 1 : m;
  std::vector<double> part(static_cast<size_t>(rows));
  tbb::parallel_for(int64_t{0}, rows, [&](int64_t row) {
    ad::Tensor<double> x(ad::Shape{m, d});
    for (int64_t j = 0; j < m; ++j) {
      x.at(j, 0) = r.pts[0][static_cast<size_t>(j)];
      if (d == 2) x.at(j, 1) = r.pts[1][static_cast<size_t>(row)];
    }
    part[static_cast<size_t>(row)] = f(x, r.logw[0], d == 2 ? r.logw[1][static_cast<size_t>(row)] : 0.0);
  });
  return part;
}

}  // namespace

double log_partition_quadrature(int d, const BatchEnergy& energy, const std::vector<double>& lo, const std::vector<double>& hi,
                                const QuadratureOptions& opt) {
  const AxisRules rules = axis_rules("log_partition_quadrature", d, lo, hi, opt);
  const std::vector<double> part = over_grid_rows(d, rules, [&](const ad::Tensor<double>& x, const std::vector<double>& logw, double row_logw) {
    const std::vector<double> e = energy(x);
    if (e.size() != logw.size()) throw std::logic_error("log_partition_quadrature: energy returned the wrong count");
    LogSum ls;
    for (size_t j = 0; j < e.size(); ++j) ls.add(-e[j] + logw[j] + row_logw);
    return ls.value();
  });
  LogSum total;
  for (double p : part) total.add(p);
  return total.value();
}

double kl_quadrature(int d, const LogDensity& log_p, const BatchEnergy& energy, const std::vector<double>& lo,
                     const std::vector<double>& hi, const QuadratureOptions& opt) {
  const double log_z = log_partition_quadrature(d, energy, lo, hi, opt);
  const AxisRules rules = axis_rules("kl_quadrature", d, lo, hi, opt);
  const std::vector<double> part = over_grid_rows(d, rules, [&](const ad::Tensor<double>& x, const std::vector<double>& logw, double row_logw) {
    const std::vector<double> e = energy(x);
    const ad::Tensor<double> lp = log_p(x);
    if (e.size() != logw.size() || lp.numel() != x.rows()) throw std::logic_error("kl_quadrature: a density returned the wrong count");
    double sum = 0;
    for (size_t j = 0; j < e.size(); ++j) {
      const double l = lp[static_cast<int64_t>(j)];
      if (std::isfinite(l)) sum += std::exp(logw[j] + row_logw + l) * (l + e[j] + log_z);  // outside p's support p log p = 0
    }
    return sum;
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

template <class T>
double log_partition_quadrature(const Energy<T>& model, const std::vector<double>& lo, const std::vector<double>& hi,
                                const QuadratureOptions& options) {
  return log_partition_quadrature(static_cast<int>(model.dim()), batch_energy(model), lo, hi, options);
}

#define EBM_INSTANTIATE(T)                                                                                       \
  template BatchEnergy batch_energy(const Energy<T>&);                                                           \
  template double log_partition_enumerate(const Energy<T>&, Units, int);                                         \
  template double log_partition_quadrature(const Energy<T>&, const std::vector<double>&, const std::vector<double>&, \
                                           const QuadratureOptions&);
EBM_INSTANTIATE(float)
EBM_INSTANTIATE(double)
#undef EBM_INSTANTIATE

}  // namespace ebm
