#include "ebm/models/gaussian.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace ebm {

ad::Tensor<double> cholesky(const ad::Tensor<double>& a) {
  const int64_t n = a.rows();
  if (a.rank() != 2 || a.cols() != n) throw ad::ShapeError("cholesky: needs a square matrix, got " + a.shape().str());
  ad::Tensor<double> l(a.shape());
  for (int64_t j = 0; j < n; ++j) {
    double s = a.at(j, j);
    for (int64_t k = 0; k < j; ++k) s -= l.at(j, k) * l.at(j, k);
    if (!(s > 0)) throw std::domain_error("cholesky: matrix is not positive definite");
    l.at(j, j) = std::sqrt(s);
    for (int64_t i = j + 1; i < n; ++i) {
      double t = a.at(i, j);
      for (int64_t k = 0; k < j; ++k) t -= l.at(i, k) * l.at(j, k);
      l.at(i, j) = t / l.at(j, j);
    }
  }
  return l;
}

ad::Tensor<double> spd_inverse(const ad::Tensor<double>& a) {
  const ad::Tensor<double> l = cholesky(a);
  const int64_t n = a.rows();
  // Solve L Lᵀ X = I column by column.
  ad::Tensor<double> inv(a.shape());
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t i = 0; i < n; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (int64_t k = 0; k < i; ++k) s -= l.at(i, k) * y[static_cast<size_t>(k)];
      y[static_cast<size_t>(i)] = s / l.at(i, i);
    }
    for (int64_t i = n - 1; i >= 0; --i) {
      double s = y[static_cast<size_t>(i)];
      for (int64_t k = i + 1; k < n; ++k) s -= l.at(k, i) * inv.at(k, c);
      inv.at(i, c) = s / l.at(i, i);
    }
  }
  return inv;
}

template <class T>
GaussianEnergy<T>::GaussianEnergy(int64_t d, Form form) : d_(d), form_(form) {
  if (d < 1) throw std::invalid_argument("GaussianEnergy: d must be at least 1");
  this->params_.push_back({"mu", ad::Tensor<T>(ad::Shape{d}, T(0))});
  if (form == Form::diagonal) {
    this->params_.push_back({"log_sigma", ad::Tensor<T>(ad::Shape{d}, T(0))});
  } else {
    ad::Tensor<T> l(ad::Shape{d, d}, T(0));
    for (int64_t k = 0; k < d; ++k) l.at(k, k) = T(1);
    this->params_.push_back({"L", l});
  }
}

template <class T>
GaussianEnergy<T> GaussianEnergy<T>::diagonal(const ad::Tensor<T>& mean, const ad::Tensor<T>& stddev) {
  GaussianEnergy g(mean.numel(), Form::diagonal);
  if (stddev.numel() != mean.numel()) throw ad::ShapeError("GaussianEnergy::diagonal", mean.shape(), stddev.shape());
  for (int64_t k = 0; k < mean.numel(); ++k) {
    g.param("mu")[k] = mean[k];
    g.param("log_sigma")[k] = static_cast<T>(std::log(static_cast<double>(stddev[k])));
  }
  return g;
}

template <class T>
GaussianEnergy<T> GaussianEnergy<T>::full(const ad::Tensor<T>& mean, const ad::Tensor<T>& cov) {
  const int64_t d = mean.numel();
  GaussianEnergy g(d, Form::full);
  if (cov.rank() != 2 || cov.rows() != d || cov.cols() != d) throw ad::ShapeError("GaussianEnergy::full", mean.shape(), cov.shape());
  const ad::Tensor<double> l = cholesky(spd_inverse(cov.template cast<double>()));
  for (int64_t k = 0; k < d; ++k) g.param("mu")[k] = mean[k];
  g.param("L") = l.cast<T>();
  return g;
}

template <class T>
ad::Var<T> GaussianEnergy<T>::energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const {
  this->check_call(params, x);
  const ad::Var<T> r = x - params[0];  // [B, d], μ broadcast over rows
  if (form_ == Form::diagonal) {
    // (x − μ)² e^{−2 log σ} / 2: written with exp so that log σ is unconstrained.
    return 0.5 * ad::sum(ad::square(r) * ad::exp(-2.0 * params[1]), 1);
  }
  ad::Tensor<T> mask(ad::Shape{d_, d_}, T(0));
  for (int64_t i = 0; i < d_; ++i)
    for (int64_t j = 0; j <= i; ++j) mask.at(i, j) = T(1);
  const ad::Var<T> l = params[1] * x.tape().constant(mask);
  // Rows of r · L are (Lᵀ(x_n − μ))ᵀ.
  return 0.5 * ad::sum(ad::square(ad::matmul(r, l)), 1);
}

template <class T>
ad::Tensor<double> GaussianEnergy<T>::mean() const {
  return this->param("mu").template cast<double>();
}

template <class T>
ad::Tensor<double> GaussianEnergy<T>::precision() const {
  ad::Tensor<double> p(ad::Shape{d_, d_}, 0.0);
  if (form_ == Form::diagonal) {
    const ad::Tensor<T>& ls = this->param("log_sigma");
    for (int64_t k = 0; k < d_; ++k) p.at(k, k) = std::exp(-2.0 * static_cast<double>(ls[k]));
    return p;
  }
  const ad::Tensor<T>& l = this->param("L");
  for (int64_t i = 0; i < d_; ++i)
    for (int64_t j = 0; j < d_; ++j) {
      double s = 0;
      for (int64_t k = 0; k <= std::min(i, j); ++k) s += static_cast<double>(l.at(i, k)) * static_cast<double>(l.at(j, k));
      p.at(i, j) = s;
    }
  return p;
}

template <class T>
ad::Tensor<double> GaussianEnergy<T>::covariance() const {
  return spd_inverse(precision());
}

template <class T>
double GaussianEnergy<T>::log_partition() const {
  double lz = 0.5 * static_cast<double>(d_) * std::log(2.0 * std::numbers::pi);
  if (form_ == Form::diagonal) {
    const ad::Tensor<T>& ls = this->param("log_sigma");
    for (int64_t k = 0; k < d_; ++k) lz += static_cast<double>(ls[k]);
  } else {
    const ad::Tensor<T>& l = this->param("L");
    for (int64_t k = 0; k < d_; ++k) lz -= std::log(std::abs(static_cast<double>(l.at(k, k))));
  }
  return lz;
}

template class GaussianEnergy<float>;
template class GaussianEnergy<double>;

}  // namespace ebm
