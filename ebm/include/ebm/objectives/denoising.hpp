#pragma once
// Denoising score matching (Vincent 2011) and its noise-conditional ladder (Song & Ermon 2019).
//
// One σ: x̃ = x + σz, z ~ N(0, I). The noise kernel's score is ∇_x̃ log q(x̃|x) = −(x̃ − x)/σ² = −z/σ and the
// model score is −∇E(x̃), so
//   ℓ(x, z) = ½‖−∇E(x̃) + z/σ‖² = ½‖∇E(x̃) − z/σ‖²                      (term "dsm")
// which fits the score of the noised data q_σ = p ∗ N(0, σ²I): for a Gaussian target the fitted variance is
// σ_data² + σ².
//
// Control variate for small σ (Song & Kingma 2021, §DSM; their c_θ with ∇log p_θ = −∇E):
//   c(x, z) = (2/σ) zᵀ∇ₓlog p_θ(x) + ‖z‖²/σ² − d/σ² = −(2/σ) zᵀ∇E(x) + ‖z‖²/σ² − d/σ²,
//   ℓ_cv(x, z) = ½ [ ‖∇E(x̃) − z/σ‖² − c(x, z) ].
// Why it helps: Taylor-expanding ∇E(x̃) = ∇E(x) + σ∇²E(x) z + O(σ²), the bracket's O(1/σ²) and O(1/σ) parts
// are exactly c(x, z) + d/σ², where c has zero mean (E z = 0, E‖z‖² = d) but a variance ∝ 1/σ²; subtracting
// it leaves ½[d/σ² + ‖∇E(x)‖² − 2 zᵀ∇²E(x) z] + O(σ), whose variance stays bounded as σ → 0 and whose mean
// is the exact SM loss plus the constant d/(2σ²) (kept, as in the paper; it does not affect gradients).
// The θ-gradient of the zero-mean variate is (1/σ) zᵀ∇θ∇E(x), also zero-mean, so the estimator stays unbiased.
// Term "control_variate" = mean ½c.
//
// Ladder: each row gets a level σ_i drawn uniformly from the ladder (NCSN); with the weight λ(σ) = σ²
//   ℓ = ½ σ_i² ‖∇ₓE(x̃, σ_i) − z/σ_i‖² = ½ ‖σ_i ∇ₓE(x̃, σ_i) − z‖²,
// which makes every level's loss O(1). The model must be a NoiseConditionalEnergy.
#include "ebm/objectives/objective.hpp"

namespace ebm {

template <class T>
class DenoisingScoreMatching : public Objective<T> {
 public:
  explicit DenoisingScoreMatching(double sigma, bool control_variate = false);
  std::string name() const override { return control_variate_ ? "dsm_cv" : "dsm"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<DenoisingScoreMatching>(*this); }
  Loss<T> loss(const LossInput<T>& in) override;
  double sigma() const { return sigma_; }

 private:
  double sigma_;
  bool control_variate_;
};

/// σ_max (σ_min/σ_max)^{i/(L−1)}, i = 0..L−1: the geometric ladder of NCSN, largest first.
std::vector<double> geometric_sigmas(double sigma_max, double sigma_min, int levels);

template <class T>
class MultiScaleDenoisingScoreMatching : public Objective<T> {
 public:
  explicit MultiScaleDenoisingScoreMatching(std::vector<double> sigmas);
  std::string name() const override { return "dsm_ladder"; }
  std::unique_ptr<Objective<T>> clone() const override { return std::make_unique<MultiScaleDenoisingScoreMatching>(*this); }
  /// Throws std::invalid_argument unless in.model is a NoiseConditionalEnergy.
  Loss<T> loss(const LossInput<T>& in) override;
  const std::vector<double>& sigmas() const { return sigmas_; }

 private:
  std::vector<double> sigmas_;
};

extern template class DenoisingScoreMatching<float>;
extern template class DenoisingScoreMatching<double>;
extern template class MultiScaleDenoisingScoreMatching<float>;
extern template class MultiScaleDenoisingScoreMatching<double>;

}  // namespace ebm
