#include "ebm/objectives/nce.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "ebm/models/gaussian.hpp"

namespace ebm {

GaussianNoise::GaussianNoise(ad::Tensor<double> mean, const ad::Tensor<double>& cov) : mean_(std::move(mean)) {
  const int64_t d = mean_.numel();
  if (cov.rank() != 2 || cov.rows() != d || cov.cols() != d) throw ad::ShapeError("GaussianNoise", mean_.shape(), cov.shape());
  mean_ = mean_.reshaped(ad::Shape{d});
  chol_ = cholesky(cov);
  log_norm_ = 0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
  for (int64_t k = 0; k < d; ++k) log_norm_ += std::log(chol_.at(k, k));
}

template <class T>
GaussianNoise GaussianNoise::fit(const ad::Tensor<T>& data, double scale) {
  if (data.rank() != 2 || data.rows() < 2) throw ad::ShapeError("GaussianNoise::fit: needs [N >= 2, d] data, got " + data.shape().str());
  const int64_t n = data.rows(), d = data.cols();
  ad::Tensor<double> mu(ad::Shape{d}, 0.0), cov(ad::Shape{d, d}, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < d; ++k) mu[k] += static_cast<double>(data.at(r, k));
  for (int64_t k = 0; k < d; ++k) mu[k] /= static_cast<double>(n);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        cov.at(i, j) += (static_cast<double>(data.at(r, i)) - mu[i]) * (static_cast<double>(data.at(r, j)) - mu[j]);
  for (double& c : cov) c *= scale * scale / static_cast<double>(n);
  try {
    return GaussianNoise(mu, cov);
  } catch (const std::domain_error&) {
    throw std::invalid_argument("the data's covariance is singular (a constant column, or columns that are linear combinations of "
                                "others, as in binary images with repeated pixels), so the noise would have no density");
  }
}

ad::Tensor<double> GaussianNoise::covariance() const {
  const int64_t d = dim();
  ad::Tensor<double> c(ad::Shape{d, d}, 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = 0; k <= std::min(i, j); ++k) c.at(i, j) += chol_.at(i, k) * chol_.at(j, k);
  return c;
}

template <class T>
ad::Tensor<T> GaussianNoise::sample(int64_t n, ad::Rng& rng) const {
  const int64_t d = dim();
  ad::Tensor<double> z(ad::Shape{n, d});
  ad::fill_normal(z, rng);
  ad::Tensor<T> out(ad::Shape{n, d});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < d; ++i) {
      double s = mean_[i];
      for (int64_t k = 0; k <= i; ++k) s += chol_.at(i, k) * z.at(r, k);
      out.at(r, i) = static_cast<T>(s);
    }
  return out;
}

template <class T>
ad::Tensor<T> GaussianNoise::log_density(const ad::Tensor<T>& x) const {
  const int64_t d = dim();
  if (x.rank() != 2 || x.cols() != d) throw ad::ShapeError("GaussianNoise::log_density: x is " + x.shape().str());
  ad::Tensor<T> out(ad::Shape{x.rows()});
  std::vector<double> y(static_cast<size_t>(d));
  for (int64_t r = 0; r < x.rows(); ++r) {
    double q = 0;  // ‖L⁻¹(x − μ)‖² by forward substitution
    for (int64_t i = 0; i < d; ++i) {
      double s = static_cast<double>(x.at(r, i)) - mean_[i];
      for (int64_t k = 0; k < i; ++k) s -= chol_.at(i, k) * y[static_cast<size_t>(k)];
      y[static_cast<size_t>(i)] = s / chol_.at(i, i);
      q += y[static_cast<size_t>(i)] * y[static_cast<size_t>(i)];
    }
    out[r] = static_cast<T>(-0.5 * q - log_norm_);
  }
  return out;
}

template <class T>
NoiseContrastiveEstimation<T>::NoiseContrastiveEstimation(GaussianNoise noise, double noise_ratio, double init_log_z)
    : noise_(std::move(noise)), nu_(noise_ratio) {
  if (!(noise_ratio > 0)) throw std::invalid_argument("NCE: the noise ratio must be positive");
  this->extra_.push_back({"log_z", ad::Tensor<T>::scalar(static_cast<T>(init_log_z))});
}

template <class T>
NoiseContrastiveEstimation<T>::NoiseContrastiveEstimation(const ad::Tensor<T>& data, double noise_ratio, double noise_scale,
                                                          double init_log_z)
    : NoiseContrastiveEstimation(GaussianNoise::fit(data, noise_scale), noise_ratio, init_log_z) {}

template <class T>
Loss<T> NoiseContrastiveEstimation<T>::loss(const LossInput<T>& in) {
  if (in.x.cols() != noise_.dim()) throw ad::ShapeError("NCE: data and noise dimensions differ: " + in.x.shape().str());
  const int64_t b = in.x.rows();
  const int64_t m = std::max<int64_t>(1, std::llround(nu_ * static_cast<double>(b)));
  const ad::Tensor<T> y = noise_.sample<T>(m, in.rng);
  const ad::Var<T> c = in.extra.at(0);
  const double log_nu = std::log(nu_);
  // G = −E − c − log q − log ν, for data rows and noise rows.
  const auto logit = [&](const ad::Tensor<T>& pts) {
    return -in.model.energy(in.theta, in.tape.constant(pts)) - c - in.tape.constant(noise_.log_density(pts)) - log_nu;
  };
  const ad::Var<T> g_data = logit(in.x), g_noise = logit(y);
  const ad::Var<T> data_term = ad::softplus(-g_data), noise_term = ad::softplus(g_noise);
  const ad::Var<T> value = (ad::sum(data_term) + ad::sum(noise_term)) / static_cast<double>(b);
  int64_t right = 0;
  for (int64_t i = 0; i < b; ++i) right += g_data.data()[i] > 0;
  for (int64_t i = 0; i < m; ++i) right += g_noise.data()[i] <= 0;
  return {value,
          {{"data_term", mean_term("", data_term).value},
           {"noise_term", mean_term("", noise_term).value * static_cast<double>(m) / static_cast<double>(b)},
           {"log_z", static_cast<double>(c.item())},
           {"accuracy", static_cast<double>(right) / static_cast<double>(b + m)}}};
}

template GaussianNoise GaussianNoise::fit(const ad::Tensor<float>&, double);
template GaussianNoise GaussianNoise::fit(const ad::Tensor<double>&, double);
template ad::Tensor<float> GaussianNoise::sample(int64_t, ad::Rng&) const;
template ad::Tensor<double> GaussianNoise::sample(int64_t, ad::Rng&) const;
template ad::Tensor<float> GaussianNoise::log_density(const ad::Tensor<float>&) const;
template ad::Tensor<double> GaussianNoise::log_density(const ad::Tensor<double>&) const;
template class NoiseContrastiveEstimation<float>;
template class NoiseContrastiveEstimation<double>;

}  // namespace ebm
