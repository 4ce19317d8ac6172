#include "ebm/data/toy.hpp"

#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>

#include <autodiff/scalar.hpp>

namespace ebm::data {
namespace {

constexpr double kPi = std::numbers::pi;

void check_n(int64_t n, const char* fn) {
  if (n < 0) throw std::invalid_argument(std::string(fn) + ": n must be >= 0, got " + std::to_string(n));
}

// Runs `point(rng, x, y)` n times, point by point, so the prefix property documented in toy.hpp holds.
template <class F>
ad::Tensor<double> points_2d(int64_t n, const char* fn, F&& point) {
  check_n(n, fn);
  ad::Tensor<double> out(ad::Shape{n, 2});
  for (int64_t i = 0; i < n; ++i) point(out.at(i, 0), out.at(i, 1));
  return out;
}

// The mixture's parameters, validated once and turned into Cholesky factors and log-normalisers.
struct Mixture {
  int64_t k = 0, d = 0;
  std::vector<double> cdf, log_w;       // cumulative and log weights
  std::vector<double> chol;             // K lower-triangular D x D factors
  std::vector<double> log_norm;         // -0.5 D log 2 pi - log det L, per component
};

Mixture make_mixture(const ad::Tensor<double>& means, const ad::Tensor<double>& scales, const std::vector<double>& weights) {
  const std::string fn = "gaussian_mixture: ";
  if (means.rank() != 2) throw std::invalid_argument(fn + "means must be [K, D], got " + means.shape().str());
  Mixture m;
  m.k = means.shape()[0];
  m.d = means.shape()[1];
  if (m.k == 0 || m.d == 0) throw std::invalid_argument(fn + "means must be non-empty, got " + means.shape().str());
  const auto K = m.k, D = m.d;
  m.chol.assign(static_cast<size_t>(K * D * D), 0.0);
  auto L = [&](int64_t c, int64_t i, int64_t j) -> double& { return m.chol[static_cast<size_t>((c * D + i) * D + j)]; };
  const ad::Shape& s = scales.shape();
  if (s == ad::Shape{K} || s == ad::Shape{K, D}) {
    const bool iso = s.rank() == 1;
    for (int64_t c = 0; c < K; ++c)
      for (int64_t i = 0; i < D; ++i) {
        const double sd = iso ? scales[c] : scales.at(c, i);
        if (!(sd > 0) || !std::isfinite(sd)) throw std::invalid_argument(fn + "standard deviations must be positive and finite, got " + std::to_string(sd));
        L(c, i, i) = sd;
      }
  } else if (s == ad::Shape{K, D, D}) {
    for (int64_t c = 0; c < K; ++c) {
      const double* cov = scales.data() + c * D * D;
      for (int64_t i = 0; i < D; ++i)
        for (int64_t j = 0; j <= i; ++j) {
          if (std::abs(cov[i * D + j] - cov[j * D + i]) > 1e-9 * (1 + std::abs(cov[i * D + j])))
            throw std::invalid_argument(fn + "covariance " + std::to_string(c) + " is not symmetric");
          double v = cov[i * D + j];
          for (int64_t p = 0; p < j; ++p) v -= L(c, i, p) * L(c, j, p);
          if (i == j) {
            if (!(v > 0)) throw std::invalid_argument(fn + "covariance " + std::to_string(c) + " is not positive definite");
            L(c, i, i) = std::sqrt(v);
          } else {
            L(c, i, j) = v / L(c, j, j);
          }
        }
    }
  } else {
    throw std::invalid_argument(fn + "scales must be [K], [K, D] or [K, D, D] with K = " + std::to_string(K) + ", D = " + std::to_string(D) +
                                ", got " + s.str());
  }
  std::vector<double> w = weights.empty() ? std::vector<double>(static_cast<size_t>(K), 1.0) : weights;
  if (static_cast<int64_t>(w.size()) != K)
    throw std::invalid_argument(fn + std::to_string(w.size()) + " weights for " + std::to_string(K) + " components");
  double total = 0;
  for (double x : w) {
    if (!(x >= 0) || !std::isfinite(x)) throw std::invalid_argument(fn + "weights must be non-negative and finite");
    total += x;
  }
  if (!(total > 0)) throw std::invalid_argument(fn + "weights sum to zero");
  double acc = 0;
  for (int64_t c = 0; c < K; ++c) {
    acc += w[static_cast<size_t>(c)] / total;
    m.cdf.push_back(acc);
    m.log_w.push_back(std::log(w[static_cast<size_t>(c)] / total));
    double log_det = 0;
    for (int64_t i = 0; i < D; ++i) log_det += std::log(L(c, i, i));
    m.log_norm.push_back(-0.5 * static_cast<double>(D) * std::log(2 * kPi) - log_det);
  }
  m.cdf.back() = 1.0;  // rounding must never leave a uniform draw beyond the last component
  return m;
}

}  // namespace

ad::Tensor<double> two_moons(int64_t n, ad::Rng& rng, double noise) {
  return points_2d(n, "two_moons", [&](double& x, double& y) {
    const bool lower = rng.below(2) == 1;
    const double t = kPi * rng.uniform();
    x = lower ? 1 - std::cos(t) : std::cos(t);
    y = lower ? 0.5 - std::sin(t) : std::sin(t);
    x = 2 * (x + noise * rng.normal()) - 1;
    y = 2 * (y + noise * rng.normal()) - 0.2;
  });
}

ad::Tensor<double> rings(int64_t n, ad::Rng& rng, double noise) {
  return points_2d(n, "rings", [&](double& x, double& y) {
    const double r = 3.0 * (1.0 - 0.25 * static_cast<double>(rng.below(4)));
    const double a = 2 * kPi * rng.uniform();
    x = r * std::cos(a) + noise * rng.normal();
    y = r * std::sin(a) + noise * rng.normal();
  });
}

ad::Tensor<double> eight_gaussians(int64_t n, ad::Rng& rng, double std) {
  return points_2d(n, "eight_gaussians", [&](double& x, double& y) {
    const double a = kPi / 4 * static_cast<double>(rng.below(8));
    x = 2 * std::numbers::sqrt2 * std::cos(a) + std * rng.normal();
    y = 2 * std::numbers::sqrt2 * std::sin(a) + std * rng.normal();
  });
}

ad::Tensor<double> eight_gaussians_log_density(const ad::Tensor<double>& x, double std) {
  ad::Tensor<double> means(ad::Shape{8, 2});
  for (int k = 0; k < 8; ++k) {
    const double a = kPi / 4 * static_cast<double>(k);
    means.at(k, 0) = 2 * std::numbers::sqrt2 * std::cos(a), means.at(k, 1) = 2 * std::numbers::sqrt2 * std::sin(a);
  }
  return gaussian_mixture_log_density(x, means, ad::Tensor<double>(ad::Shape{8}, std));
}

ad::Tensor<double> checkerboard(int64_t n, ad::Rng& rng) {
  return points_2d(n, "checkerboard", [&](double& x, double& y) {
    const double x1 = 4 * rng.uniform() - 2;
    const double u = rng.uniform();
    const double x2 = u - 2.0 * static_cast<double>(rng.below(2)) + (std::floor(x1) - 2 * std::floor(x1 / 2));  // Python's floor(x1) % 2
    x = 2 * x1;
    y = 2 * x2;
  });
}

ad::Tensor<double> swiss_roll(int64_t n, ad::Rng& rng, double noise) {
  return points_2d(n, "swiss_roll", [&](double& x, double& y) {
    const double t = 1.5 * kPi * (1 + 2 * rng.uniform());
    x = (t * std::cos(t) + noise * rng.normal()) / 5;
    y = (t * std::sin(t) + noise * rng.normal()) / 5;
  });
}

ad::Tensor<double> pinwheel(int64_t n, ad::Rng& rng, int arms, double radial_std, double tangential_std, double rate) {
  if (arms < 1) throw std::invalid_argument("pinwheel: arms must be >= 1, got " + std::to_string(arms));
  return points_2d(n, "pinwheel", [&](double& x, double& y) {
    const double k = static_cast<double>(rng.below(static_cast<uint64_t>(arms)));
    const double f0 = 1 + radial_std * rng.normal();
    const double f1 = tangential_std * rng.normal();
    const double a = 2 * kPi * k / arms + rate * std::exp(f0);
    x = 2 * (f0 * std::cos(a) + f1 * std::sin(a));
    y = 2 * (-f0 * std::sin(a) + f1 * std::cos(a));
  });
}

ad::Tensor<double> two_spirals(int64_t n, ad::Rng& rng, double noise) {
  return points_2d(n, "two_spirals", [&](double& x, double& y) {
    const double d = std::sqrt(rng.uniform()) * 3 * kPi;  // FFJORD: sqrt(u) * 540 degrees, in radians
    const double px = -std::cos(d) * d + 0.5 * rng.uniform();
    const double py = std::sin(d) * d + 0.5 * rng.uniform();
    const double s = rng.below(2) ? -1.0 : 1.0;
    x = s * px / 3 + noise * rng.normal();
    y = s * py / 3 + noise * rng.normal();
  });
}

ad::Tensor<double> gaussian_mixture(int64_t n, ad::Rng& rng, const ad::Tensor<double>& means, const ad::Tensor<double>& scales,
                                    const std::vector<double>& weights, std::vector<int>* components) {
  check_n(n, "gaussian_mixture");
  const Mixture m = make_mixture(means, scales, weights);
  const int64_t D = m.d;
  ad::Tensor<double> out(ad::Shape{n, D});
  std::vector<double> z(static_cast<size_t>(D));
  if (components) components->clear();
  for (int64_t p = 0; p < n; ++p) {
    const double u = rng.uniform();
    int64_t c = 0;
    while (c + 1 < m.k && u >= m.cdf[static_cast<size_t>(c)]) ++c;
    if (components) components->push_back(static_cast<int>(c));
    for (auto& v : z) v = rng.normal();
    const double* L = m.chol.data() + c * D * D;
    for (int64_t i = 0; i < D; ++i) {
      double v = means.at(c, i);
      for (int64_t j = 0; j <= i; ++j) v += L[i * D + j] * z[static_cast<size_t>(j)];
      out.at(p, i) = v;
    }
  }
  return out;
}

ad::Tensor<double> gaussian_mixture_log_density(const ad::Tensor<double>& x, const ad::Tensor<double>& means, const ad::Tensor<double>& scales,
                                                const std::vector<double>& weights) {
  const Mixture m = make_mixture(means, scales, weights);
  const int64_t D = m.d;
  if (x.rank() != 2 || x.shape()[1] != D)
    throw std::invalid_argument("gaussian_mixture_log_density: x must be [N, " + std::to_string(D) + "], got " + x.shape().str());
  const int64_t N = x.shape()[0];
  ad::Tensor<double> out(ad::Shape{N});
  std::vector<double> y(static_cast<size_t>(D)), terms(static_cast<size_t>(m.k));
  for (int64_t p = 0; p < N; ++p) {
    for (int64_t c = 0; c < m.k; ++c) {
      const double* L = m.chol.data() + c * D * D;
      double q = 0;  // |L^-1 (x - mu)|^2 by forward substitution
      for (int64_t i = 0; i < D; ++i) {
        double v = x.at(p, i) - means.at(c, i);
        for (int64_t j = 0; j < i; ++j) v -= L[i * D + j] * y[static_cast<size_t>(j)];
        y[static_cast<size_t>(i)] = v / L[i * D + i];
        q += y[static_cast<size_t>(i)] * y[static_cast<size_t>(i)];
      }
      terms[static_cast<size_t>(c)] = m.log_w[static_cast<size_t>(c)] + m.log_norm[static_cast<size_t>(c)] - 0.5 * q;
    }
    out[p] = ad::scalar::log_sum_exp(terms);  // shifted, so far-away points do not underflow to -inf
  }
  return out;
}

ad::Tensor<double> mixture_1d(int64_t n, ad::Rng& rng, const std::vector<double>& means, const std::vector<double>& stds,
                              const std::vector<double>& weights) {
  const auto K = static_cast<int64_t>(means.size());
  if (static_cast<int64_t>(stds.size()) != K)
    throw std::invalid_argument("mixture_1d: " + std::to_string(means.size()) + " means but " + std::to_string(stds.size()) + " stds");
  if (K == 0) throw std::invalid_argument("mixture_1d: no components");
  return gaussian_mixture(n, rng, ad::Tensor<double>(ad::Shape{K, 1}, means.data()), ad::Tensor<double>(ad::Shape{K}, stds.data()), weights);
}

const std::vector<std::string>& toy_dataset_names() {
  static const std::vector<std::string> names = {"two_moons", "rings", "eight_gaussians", "checkerboard", "swiss_roll", "pinwheel", "two_spirals"};
  return names;
}

ad::Tensor<double> toy_dataset(const std::string& name, int64_t n, ad::Rng& rng) {
  if (name == "two_moons") return two_moons(n, rng);
  if (name == "rings") return rings(n, rng);
  if (name == "eight_gaussians") return eight_gaussians(n, rng);
  if (name == "checkerboard") return checkerboard(n, rng);
  if (name == "swiss_roll") return swiss_roll(n, rng);
  if (name == "pinwheel") return pinwheel(n, rng);
  if (name == "two_spirals") return two_spirals(n, rng);
  std::string known;
  for (const auto& s : toy_dataset_names()) known += (known.empty() ? "" : ", ") + s;
  throw std::invalid_argument("unknown toy dataset '" + name + "' (expected one of: " + known + ")");
}

}  // namespace ebm::data
