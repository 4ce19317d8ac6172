#pragma once
// Image restoration with a learned noise-conditional energy E(x; σ): corruption, refinement, PSNR.
//
// Images are rows of a [B, d] tensor with pixel values in [0, 1].
//
// Denoising. For y = x + s z (z ~ N(0, I)), Tweedie's formula gives the posterior mean of the clean image
// under the data law p: E[x | y] = y + s² ∇_y log p_s(y), with p_s = p ∗ N(0, s²I) the law of the noised data.
// A model trained by denoising score matching at level s fits ∇log p_s = −∇E(·; s), so
//   x̂ = y − s² ∇E(y; s)                                                        (tweedie_denoise)
// is the model's MMSE estimate: one gradient step at the noise level matching the corruption.
// The Langevin alternative (refine_annealed with observation_sd = s, no mask) samples the posterior given y
// by annealed Langevin (as in SNIPS, Kawar et al. 2021, for the identity operator): at a level σ_i < s, the
// noised image x_i = x + σ_i z' sees y = x_i + √(s² − σ_i²) z'' (nested noise), so the posterior score is
//   ∇log p(x_i | y) = −∇E(x_i; σ_i) + (y − x_i) / (s² − σ_i²),
// which keeps the chain anchored to y. Started at y, annealed down to σ_L and ended with a Tweedie step at
// σ_L, it gives (approximately) a posterior draw: sharper than the posterior mean, with about twice its MSE
// when the model is exact.
//
// Inpainting (refine_annealed with a mask; Song & Ermon 2019, Appendix B.3, "NCSN inpainting"): only the
// missing pixels (mask 1) move; the observed ones (mask 0) keep their input values exactly in the output.
// At level σ_i the energy is a model of data noised by σ_i, so with `noise_observed` the observed pixels it
// sees are y_obs + σ_i z (z drawn afresh at each level), as in NCSN; without it they are y_obs itself.
// Each step is x ← clamp(x − (α_i/2) ∇E(x; σ_i) + √α_i z) on the missing pixels, α_i = ε (σ_i/σ_L)².
//
// Randomness: row n draws only from Rng(seed, n), so results do not depend on the batch or thread count.
#include <cstdint>
#include <string>
#include <vector>

#include <samplers/energy.hpp>

#include "autodiff/tensor.hpp"

namespace ebm {

/// Peak signal-to-noise ratio 10 log10(peak² / MSE) over every entry of the two tensors (same shape);
/// +inf when they are equal.
double psnr(const ad::Tensor<double>& clean, const ad::Tensor<double>& estimate, double peak = 1.0);
/// The same over the pixels where mask (one row [d], broadcast over the rows of [B, d] images) is nonzero.
double psnr_masked(const ad::Tensor<double>& clean, const ad::Tensor<double>& estimate, const ad::Tensor<double>& mask,
                   double peak = 1.0);

/// y = x + sd z (not clamped: the Gaussian corruption Tweedie's formula assumes), row n from Rng(seed, n).
ad::Tensor<double> add_gaussian_noise(const ad::Tensor<double>& x, double sd, uint64_t seed);

/// A [rows * cols] mask of missing pixels (1 missing, 0 observed): "center" (the central square of half the
/// side), "left_half", "right_half", "top_half", "bottom_half". std::invalid_argument for another name.
ad::Tensor<double> image_mask(const std::string& kind, int rows, int cols);
/// x with the missing pixels (mask 1) set to `fill`.
ad::Tensor<double> apply_mask(const ad::Tensor<double>& x, const ad::Tensor<double>& mask, double fill);

/// x̂ = y − σ² ∇E(y; σ), optionally clamped to [0, 1]; evaluated in batches of `batch` rows, in T (float or double,
/// the energy's scalar type).
template <class T>
ad::Tensor<T> tweedie_denoise(const samplers::NoiseConditionedEnergy<T>& energy, const ad::Tensor<T>& y, double sigma,
                              bool clamp = true, int64_t batch = 256);

struct RefineOptions {
  std::vector<double> sigmas{};  // σ₁ > … > σ_L > 0
  double step_size = 2e-5;       // ε: the step at σ_L
  int steps_per_level = 50;
  bool denoise = true;           // final Tweedie step at σ_L (on the free pixels)
  bool clamp = true;             // clamp the free pixels to [0, 1] after every step
  bool noise_observed = true;    // inpainting: the energy sees observed pixels noised to the current level
  double observation_sd = 0;     // > 0: x0 is a noisy observation y of this sd (every σ_i must be below it)
  uint64_t seed = 0;
};

/// Annealed Langevin refinement of x0 [B, d]. With a `mask` ([d], 1 = free) only the free pixels move and the
/// output's observed pixels equal x0's; without one (nullptr) every pixel moves. Throws std::invalid_argument on
/// a bad ladder or step and ad::ShapeError on mismatched shapes. The chains are kept in T, the energy's scalar type.
template <class T>
ad::Tensor<T> refine_annealed(const samplers::NoiseConditionedEnergy<T>& energy, const ad::Tensor<T>& x0, const RefineOptions& options,
                              const ad::Tensor<double>* mask = nullptr);

}  // namespace ebm
