#include "ebm/eval/restore.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "autodiff/random.hpp"

namespace ebm {

namespace {

double psnr_from_mse(double mse, double peak) {
  return mse > 0 ? 10 * std::log10(peak * peak / mse) : std::numeric_limits<double>::infinity();
}

void check_images(const char* fn, const ad::Tensor<double>& a, const ad::Tensor<double>& b) {
  if (a.rank() != 2 || a.shape() != b.shape() || a.numel() == 0)
    throw ad::ShapeError(std::string(fn) + ": expected two [B, d] image tensors of one shape, got " + a.shape().str() +
                         " and " + b.shape().str());
}

void check_mask(const char* fn, const ad::Tensor<double>& mask, int64_t d) {
  if (mask.numel() != d)
    throw ad::ShapeError(std::string(fn) + ": the mask needs " + std::to_string(d) + " entries, got " + mask.shape().str());
}

}  // namespace

double psnr(const ad::Tensor<double>& clean, const ad::Tensor<double>& estimate, double peak) {
  check_images("psnr", clean, estimate);
  double se = 0;
  for (int64_t i = 0; i < clean.numel(); ++i) se += (clean[i] - estimate[i]) * (clean[i] - estimate[i]);
  return psnr_from_mse(se / double(clean.numel()), peak);
}

double psnr_masked(const ad::Tensor<double>& clean, const ad::Tensor<double>& estimate, const ad::Tensor<double>& mask,
                   double peak) {
  check_images("psnr_masked", clean, estimate);
  check_mask("psnr_masked", mask, clean.cols());
  double se = 0;
  int64_t n = 0;
  for (int64_t r = 0; r < clean.rows(); ++r)
    for (int64_t k = 0; k < clean.cols(); ++k)
      if (mask[k] != 0) se += (clean.at(r, k) - estimate.at(r, k)) * (clean.at(r, k) - estimate.at(r, k)), ++n;
  if (n == 0) throw std::invalid_argument("psnr_masked: the mask selects no pixel");
  return psnr_from_mse(se / double(n), peak);
}

ad::Tensor<double> add_gaussian_noise(const ad::Tensor<double>& x, double sd, uint64_t seed) {
  if (!(sd >= 0)) throw std::invalid_argument("add_gaussian_noise: sd must be >= 0");
  ad::Tensor<double> y = x;
  for (int64_t r = 0; r < y.rows(); ++r) {
    ad::Rng rng(seed, uint64_t(r));
    for (int64_t k = 0; k < y.cols(); ++k) y.at(r, k) += sd * rng.normal();
  }
  return y;
}

ad::Tensor<double> image_mask(const std::string& kind, int rows, int cols) {
  if (rows < 1 || cols < 1) throw std::invalid_argument("image_mask: rows and cols must be positive");
  ad::Tensor<double> m(ad::Shape{int64_t(rows) * cols});
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      bool missing;
      if (kind == "center") missing = 4 * i >= rows && 4 * i < 3 * rows && 4 * j >= cols && 4 * j < 3 * cols;
      else if (kind == "left_half") missing = 2 * j < cols;
      else if (kind == "right_half") missing = 2 * j >= cols;
      else if (kind == "top_half") missing = 2 * i < rows;
      else if (kind == "bottom_half") missing = 2 * i >= rows;
      else throw std::invalid_argument("image_mask: unknown mask \"" + kind + "\" (center, left_half, right_half, top_half, bottom_half)");
      m[int64_t(i) * cols + j] = missing ? 1.0 : 0.0;
    }
  return m;
}

ad::Tensor<double> apply_mask(const ad::Tensor<double>& x, const ad::Tensor<double>& mask, double fill) {
  check_mask("apply_mask", mask, x.cols());
  ad::Tensor<double> y = x;
  for (int64_t r = 0; r < y.rows(); ++r)
    for (int64_t k = 0; k < y.cols(); ++k)
      if (mask[k] != 0) y.at(r, k) = fill;
  return y;
}

template <class T>
ad::Tensor<T> tweedie_denoise(const samplers::NoiseConditionedEnergy<T>& energy, const ad::Tensor<T>& y, double sigma, bool clamp,
                              int64_t batch) {
  if (!(sigma > 0)) throw std::invalid_argument("tweedie_denoise: sigma must be positive");
  if (batch < 1) throw std::invalid_argument("tweedie_denoise: batch must be positive");
  const int64_t n = y.rows(), d = y.cols();
  const samplers::BatchEnergy<T> level = [&energy, sigma](ad::Tape<T>& tape, const ad::Var<T>& x) { return energy(tape, x, sigma); };
  samplers::EnergyEvaluator<T> eval;
  std::vector<T> e;
  ad::Tensor<T> g, out = y;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t b = std::min(batch, n - start);
    const ad::Tensor<T> x(ad::Shape{b, d}, y.data() + start * d);
    eval.energy_grad(level, x, e, g);
    for (int64_t i = 0; i < b * d; ++i) {
      double v = double(x[i]) - sigma * sigma * double(g[i]);
      out[start * d + i] = static_cast<T>(clamp ? std::clamp(v, 0.0, 1.0) : v);
    }
  }
  return out;
}

template <class T>
ad::Tensor<T> refine_annealed(const samplers::NoiseConditionedEnergy<T>& energy, const ad::Tensor<T>& x0, const RefineOptions& o,
                              const ad::Tensor<double>* mask) {
  const auto& s = o.sigmas;
  if (s.empty()) throw std::invalid_argument("refine_annealed: no noise levels given");
  for (size_t i = 0; i < s.size(); ++i)
    if (!(s[i] > 0) || (i > 0 && !(s[i] < s[i - 1])))
      throw std::invalid_argument("refine_annealed: sigmas must be positive and strictly decreasing");
  if (!(o.step_size > 0)) throw std::invalid_argument("refine_annealed: step_size must be positive");
  if (o.observation_sd < 0 || (o.observation_sd > 0 && !(s.front() < o.observation_sd)))
    throw std::invalid_argument("refine_annealed: with an observation_sd, every sigma must be below it");
  if (x0.rank() != 2) throw ad::ShapeError("refine_annealed: expected images [B, d], got " + x0.shape().str());
  const int64_t n = x0.rows(), d = x0.cols();
  if (mask) check_mask("refine_annealed", *mask, d);
  auto is_free = [mask](int64_t k) { return !mask || (*mask)[k] != 0; };

  std::vector<ad::Rng> rngs;
  for (int64_t r = 0; r < n; ++r) rngs.emplace_back(o.seed, uint64_t(r));
  samplers::EnergyEvaluator<T> eval;
  std::vector<T> e;
  ad::Tensor<T> x = x0, g;
  // obs_precision: 1 / (s² − σ_i²), the weight of the observation term (0: none).
  auto step = [&](const samplers::BatchEnergy<T>& level, double alpha, bool noise, double obs_precision) {
    eval.energy_grad(level, x, e, g);
    for (int64_t r = 0; r < n; ++r) {
      bool finite = std::isfinite(e[size_t(r)]);
      for (int64_t k = 0; k < d && finite; ++k) finite = std::isfinite(g.at(r, k));
      for (int64_t k = 0; k < d; ++k) {
        if (!is_free(k)) continue;
        // The noise is drawn even for a rejected (non-finite) row, so a row's stream never depends on it.
        const double z = noise ? rngs[size_t(r)].normal() : 0.0;
        if (!finite) continue;
        const double drift = -double(g.at(r, k)) + obs_precision * (double(x0.at(r, k)) - double(x.at(r, k)));
        double v = double(x.at(r, k)) + 0.5 * alpha * drift + std::sqrt(alpha) * z;
        x.at(r, k) = static_cast<T>(o.clamp ? std::clamp(v, 0.0, 1.0) : v);
      }
    }
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const double sigma = s[i], r = sigma / s.back(), alpha = o.step_size * r * r;
    if (mask && o.noise_observed)
      for (int64_t row = 0; row < n; ++row)
        for (int64_t k = 0; k < d; ++k)
          if (!is_free(k)) x.at(row, k) = static_cast<T>(double(x0.at(row, k)) + sigma * rngs[size_t(row)].normal());
    const samplers::BatchEnergy<T> level = [&energy, sigma](ad::Tape<T>& tape, const ad::Var<T>& v) {
      return energy(tape, v, sigma);
    };
    const double obs = o.observation_sd > 0 ? 1 / (o.observation_sd * o.observation_sd - sigma * sigma) : 0.0;
    for (int t = 0; t < o.steps_per_level; ++t) step(level, alpha, true, obs);
  }
  if (o.denoise) {
    // x − σ_L² ∇E(x; σ_L): a step with α = 2σ_L² and no noise.
    const double sigma = s.back();
    const samplers::BatchEnergy<T> level = [&energy, sigma](ad::Tape<T>& tape, const ad::Var<T>& v) { return energy(tape, v, sigma); };
    step(level, 2 * sigma * sigma, false, 0.0);
  }
  if (mask)
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = 0; k < d; ++k)
        if (!is_free(k)) x.at(r, k) = x0.at(r, k);
  return x;
}

template ad::Tensor<float> tweedie_denoise(const samplers::NoiseConditionedEnergy<float>&, const ad::Tensor<float>&, double, bool, int64_t);
template ad::Tensor<double> tweedie_denoise(const samplers::NoiseConditionedEnergy<double>&, const ad::Tensor<double>&, double, bool,
                                            int64_t);
template ad::Tensor<float> refine_annealed(const samplers::NoiseConditionedEnergy<float>&, const ad::Tensor<float>&, const RefineOptions&,
                                           const ad::Tensor<double>*);
template ad::Tensor<double> refine_annealed(const samplers::NoiseConditionedEnergy<double>&, const ad::Tensor<double>&,
                                            const RefineOptions&, const ad::Tensor<double>*);

}  // namespace ebm
