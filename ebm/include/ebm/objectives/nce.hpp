#pragma once
// Noise-contrastive estimation (Gutmann & Hyvärinen 2010) with a learnt normaliser.
//
// The model density is log p_θ(x) = −E_θ(x) − c, with c (the extra parameter "log_z") learnt jointly; noise
// q has a known density; ν noise samples are drawn per data sample. A logistic classifier with logit
//   G(x) = log p_θ(x) − log q(x) − log ν
// separates data (label 1) from noise (label 0). The loss per batch of B data rows and νB noise rows is
//   L = (1/B) [ Σ_data softplus(−G(x)) + Σ_noise softplus(G(y)) ]
// (−log σ(G) = softplus(−G) and −log(1 − σ(G)) = softplus(G): written with softplus, it neither overflows nor
// loses precision when the classifier is confident). At the optimum p_θ = p_data and c = log Z_θ, so c is the
// model's log-normaliser estimate (log_z()).
// Noise: a full-covariance Gaussian, by default fitted to the data (mean and covariance, optionally widened);
// NCE is most efficient when q is close to the data.
// Terms: "data_term", "noise_term", "log_z", "accuracy" (fraction of rows the classifier gets right).
#include <optional>

#include "ebm/objectives/objective.hpp"

namespace ebm {

/// N(mean, L Lᵀ) in float64.
class GaussianNoise {
 public:
  GaussianNoise(ad::Tensor<double> mean, const ad::Tensor<double>& cov);
  /// Sample mean and covariance of the rows of data (divisor N), covariance scaled by scale². Throws
  /// std::invalid_argument when that covariance is singular.
  template <class T>
  static GaussianNoise fit(const ad::Tensor<T>& data, double scale = 1.0);

  int64_t dim() const { return mean_.numel(); }
  const ad::Tensor<double>& mean() const { return mean_; }
  ad::Tensor<double> covariance() const;
  template <class T>
  ad::Tensor<T> sample(int64_t n, ad::Rng& rng) const;
  /// log q(x) for each row, [B].
  template <class T>
  ad::Tensor<T> log_density(const ad::Tensor<T>& x) const;

 private:
  ad::Tensor<double> mean_, chol_;  // covariance = chol_ chol_ᵀ
  double log_norm_;                 // (d/2) log 2π + Σ log L_kk
};

template <class T>
class NoiseContrastiveEstimation : public Objective<T> {
 public:
  NoiseContrastiveEstimation(GaussianNoise noise, double noise_ratio = 1.0, double init_log_z = 0.0);
  /// Noise fitted to `data` (scale widens it).
  NoiseContrastiveEstimation(const ad::Tensor<T>& data, double noise_ratio = 1.0, double noise_scale = 1.0,
                             double init_log_z = 0.0);
  std::string name() const override { return "nce"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<NoiseContrastiveEstimation>(*this); }
  Loss<T> loss(const LossInput<T>& in) override;

  /// The learnt log-normaliser c.
  double log_z() const { return static_cast<double>(this->extra_[0].value.item()); }
  const GaussianNoise& noise() const { return noise_; }
  double noise_ratio() const { return nu_; }

 private:
  GaussianNoise noise_;
  double nu_;
};

extern template class NoiseContrastiveEstimation<float>;
extern template class NoiseContrastiveEstimation<double>;

}  // namespace ebm
