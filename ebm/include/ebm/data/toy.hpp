#pragma once
// Toy distributions from the EBM / normalising-flow literature, following FFJORD's toy_data.py
// (Grathwohl et al. 2019) for the 2-D sets, so pictures and numbers are comparable with published ones.
//
// Reproducibility contract: every generator draws point 0 completely, then point 1, ..., consuming the Rng
// in the order documented per function. So the same seed gives the same points, and the first m points of a
// draw of n equal a draw of m. Where FFJORD splits n deterministically into classes and shuffles, we pick each
// point's class at random instead, which gives the same distribution and keeps the prefix property.
// Invalid arguments (n < 0, mismatched shapes, negative weights...) throw std::invalid_argument.
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/tensor.hpp"

namespace ebm::data {

/// sklearn's make_moons, then x * 2 + (-1, -0.2). Per point: moon = below(2); t = pi * uniform();
/// upper moon (cos t, sin t), lower moon (1 - cos t, 0.5 - sin t); then + noise * (normal(), normal()).
ad::Tensor<double> two_moons(int64_t n, ad::Rng& rng, double noise = 0.1);

/// Four concentric circles of radii 3, 2.25, 1.5, 0.75. Per point: ring = below(4) (ring 0 is the outer one);
/// a = 2 pi uniform(); r (cos a, sin a) + noise * (normal(), normal()).
ad::Tensor<double> rings(int64_t n, ad::Rng& rng, double noise = 0.08);

/// Eight Gaussians with centres on the circle of radius 2 sqrt(2) at angles k pi / 4, k = 0..7 (FFJORD's
/// scale 4 divided by 1.414, which we take as sqrt 2), each with standard deviation `std` (FFJORD: 0.5 / sqrt 2).
/// Per point: k = below(8); centre_k + std * (normal(), normal()).
ad::Tensor<double> eight_gaussians(int64_t n, ad::Rng& rng, double std = 0.35355339059327373);
/// The density eight_gaussians draws from, log p at each row of x [n, 2].
ad::Tensor<double> eight_gaussians_log_density(const ad::Tensor<double>& x, double std = 0.35355339059327373);

/// The checkerboard on [-4, 4]^2: uniform over the 8 squares of side 2 whose (col + row) index sum is even.
/// Per point: x1 = 4 uniform() - 2; x2 = uniform() - 2 below(2) + (floor(x1) mod 2); returns 2 (x1, x2).
ad::Tensor<double> checkerboard(int64_t n, ad::Rng& rng);

/// sklearn's make_swiss_roll projected on (x, z) and divided by 5. Per point: t = 1.5 pi (1 + 2 uniform());
/// (t cos t + noise normal(), t sin t + noise normal()) / 5. (The roll's height coordinate is not drawn.)
ad::Tensor<double> swiss_roll(int64_t n, ad::Rng& rng, double noise = 1.0);

/// Pinwheel (Johnson et al. 2016) with FFJORD's settings. Per point: k = below(arms); f0 = 1 + radial_std normal();
/// f1 = tangential_std normal(); a = 2 pi k / arms + rate exp(f0); returns 2 (f0 cos a + f1 sin a, -f0 sin a + f1 cos a).
ad::Tensor<double> pinwheel(int64_t n, ad::Rng& rng, int arms = 5, double radial_std = 0.3, double tangential_std = 0.1,
                            double rate = 0.25);

/// FFJORD's 2spirals. Per point: d = sqrt(uniform()) * 3 pi; p = (-d cos d + 0.5 uniform(), d sin d + 0.5 uniform());
/// s = below(2) ? -1 : 1; returns s p / 3 + noise (normal(), normal()).
ad::Tensor<double> two_spirals(int64_t n, ad::Rng& rng, double noise = 0.1);

/// A Gaussian mixture in any dimension D. `means` is [K, D]; `scales` is [K] (isotropic standard deviations),
/// [K, D] (per-axis standard deviations) or [K, D, D] (covariance matrices, symmetric positive definite);
/// `weights` has K non-negative entries (normalised here; empty means uniform).
/// Per point: component by inverse CDF of one uniform(); then D normal() draws z; mean + L z (L: Cholesky factor).
/// If `components` is given, it receives each point's component index (a class label).
ad::Tensor<double> gaussian_mixture(int64_t n, ad::Rng& rng, const ad::Tensor<double>& means, const ad::Tensor<double>& scales,
                                    const std::vector<double>& weights = {}, std::vector<int>* components = nullptr);

/// log p(x) for each row of x [N, D] under the mixture above; returns [N].
ad::Tensor<double> gaussian_mixture_log_density(const ad::Tensor<double>& x, const ad::Tensor<double>& means,
                                                const ad::Tensor<double>& scales, const std::vector<double>& weights = {});

/// A 1-D mixture, [n, 1]: gaussian_mixture with means [K, 1] and standard deviations [K].
ad::Tensor<double> mixture_1d(int64_t n, ad::Rng& rng, const std::vector<double>& means, const std::vector<double>& stds,
                              const std::vector<double>& weights = {});

/// The 2-D sets by name, with default parameters: "two_moons", "rings", "eight_gaussians", "checkerboard",
/// "swiss_roll", "pinwheel", "two_spirals". Unknown names throw std::invalid_argument listing the known ones.
ad::Tensor<double> toy_dataset(const std::string& name, int64_t n, ad::Rng& rng);
const std::vector<std::string>& toy_dataset_names();

}  // namespace ebm::data
