#pragma once
// Gaussian energies, the model whose answers are known in closed form (log Z, score, covariance), used to
// check objectives and estimators.
//
//   diagonal:  E(x) = Σ_k (x_k − μ_k)² / (2 σ_k²),   σ = exp(log_sigma)       params "mu" [d], "log_sigma" [d]
//              log Z = Σ_k log σ_k + (d/2) log 2π
//   full:      E(x) = ½ ‖Lᵀ(x − μ)‖²  with L lower triangular,                 params "mu" [d], "L" [d, d]
//              precision P = L Lᵀ, covariance P⁻¹, log Z = (d/2) log 2π − Σ_k log|L_kk|
//
// For the full form only the lower triangle of the "L" tensor acts (the energy multiplies it by a constant
// lower-triangular mask), so the upper triangle gets zero gradient and stays where it was. Any L with a
// nonzero diagonal gives a positive-definite precision; signs of L's columns are not identified.
// The score is −∇ₓE = −P(x − μ); for the diagonal form −(x − μ)/σ².
#include "ebm/models/energy.hpp"

namespace ebm {

template <class T>
class GaussianEnergy : public Energy<T> {
 public:
  enum class Form { diagonal, full };

  /// Standard normal start: μ = 0 and σ = 1 (log_sigma = 0, or L = I).
  explicit GaussianEnergy(int64_t d, Form form = Form::diagonal);
  /// A diagonal Gaussian N(mean, diag(stddev²)).
  static GaussianEnergy diagonal(const ad::Tensor<T>& mean, const ad::Tensor<T>& stddev);
  /// N(mean, cov) in the full form, L the lower Cholesky factor of cov⁻¹ (throws if cov is not SPD).
  static GaussianEnergy full(const ad::Tensor<T>& mean, const ad::Tensor<T>& cov);

  std::string name() const override { return form_ == Form::diagonal ? "gaussian_diag" : "gaussian_full"; }
  int64_t dim() const override { return d_; }
  std::unique_ptr<Energy<T>> clone() const override { return std::make_unique<GaussianEnergy>(*this); }
  ad::Var<T> energy(const std::vector<ad::Var<T>>& params, const ad::Var<T>& x) const override;

  Form form() const { return form_; }
  /// Analytic log ∫ exp(−E(x)) dx at the current parameters.
  double log_partition() const;
  ad::Tensor<double> mean() const;
  /// P = L Lᵀ (or diag 1/σ²), [d, d].
  ad::Tensor<double> precision() const;
  /// P⁻¹, [d, d].
  ad::Tensor<double> covariance() const;

 private:
  int64_t d_;
  Form form_;
};

/// Inverse of a small symmetric positive-definite matrix by Cholesky; throws std::domain_error if not SPD.
ad::Tensor<double> spd_inverse(const ad::Tensor<double>& a);
/// Lower Cholesky factor of a small SPD matrix; throws std::domain_error if not SPD.
ad::Tensor<double> cholesky(const ad::Tensor<double>& a);

extern template class GaussianEnergy<float>;
extern template class GaussianEnergy<double>;

}  // namespace ebm
