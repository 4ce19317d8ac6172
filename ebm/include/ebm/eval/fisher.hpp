#pragma once
// The Fisher divergence of a model to a target with a known score, as a sampled expectation:
//   D_F(p ‖ p_θ) = E_{x∼p} ‖∇ₓlog p(x) − s_θ(x)‖²,   s_θ = −∇ₓE_θ,
// estimated by the mean over rows of `samples` (drawn from p by the caller), with the standard error of that
// mean (sample standard deviation / √n). Note: no factor ½ (score-matching losses carry one).
#include <functional>

#include "ebm/models/energy.hpp"

namespace ebm {

struct Estimate {
  double value = 0;
  double std_error = 0;
  int64_t n = 0;
};

/// target_score maps a batch [B, d] to ∇ₓlog p, [B, d]. Evaluated in batches of `batch` rows.
template <class T>
Estimate fisher_divergence(const Energy<T>& model, const ad::Tensor<T>& samples,
                           const std::function<ad::Tensor<T>(const ad::Tensor<T>&)>& target_score, int64_t batch = 4096);

}  // namespace ebm
