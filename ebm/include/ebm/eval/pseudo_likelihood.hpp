#pragma once
// Pseudo-likelihood of binary data under an energy model, the way scikit-learn's BernoulliRBM.score_samples
// computes it, and its exact (all-bits) counterpart.
//
// For x ∈ {0,1}^d and p(x) ∝ exp(−E(x)), let x̃⁽ⁱ⁾ be x with bit i flipped. The conditional of one bit is
//
//   p(x_i | x_{−i}) = e^{−E(x)} / (e^{−E(x)} + e^{−E(x̃⁽ⁱ⁾)}) = σ(E(x̃⁽ⁱ⁾) − E(x)),
//
// and the log pseudo-likelihood (Besag 1975) is PL(x) = Σ_i log σ(E(x̃⁽ⁱ⁾) − E(x)).
//
// scikit-learn (sklearn/neural_network/_rbm.py, score_samples) estimates PL(x) from ONE bit i drawn uniformly
// per sample: d · log σ(F(x̃⁽ⁱ⁾) − F(x)), F the RBM's free energy; its expectation over i is PL(x), but each
// value carries the noise of the draw. pseudo_likelihood_one_bit is exactly that estimator, for the bits
// given (so the same flips can be fed to both implementations); pseudo_likelihood_all_bits is PL(x) itself,
// without the flip noise. Both are in nats per sample (not per bit).
#include <cstdint>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/tensor.hpp"
#include "ebm/models/energy.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm {

/// One bit index per row, uniform on [0, d), drawn in row order from rng.
std::vector<int64_t> random_flip_indices(int64_t rows, int64_t d, ad::Rng& rng);

/// scikit-learn's estimator: for row n, d · log σ(E(x̃) − E(x)), x̃ = row n with bit flip[n] flipped; [N].
/// x must be [N, d] of 0/1 values and flip hold N indices in [0, d) (std::invalid_argument otherwise).
/// Energies are evaluated in chunks of `chunk` rows.
ad::Tensor<double> pseudo_likelihood_one_bit(const Energy<double>& model, const ad::Tensor<double>& x,
                                             const std::vector<int64_t>& flip, int64_t chunk = 1024);

/// The exact log pseudo-likelihood Σ_i log σ(F(x̃⁽ⁱ⁾) − F(x)) of each row under a Bernoulli RBM, [N], in
/// O(d·H) per row (only the flipped bit's row of W changes the hidden pre-activations). Rows in parallel;
/// the result does not depend on the thread count.
ad::Tensor<double> pseudo_likelihood_all_bits(const BernoulliRbm<double>& rbm, const ad::Tensor<double>& x);

}  // namespace ebm
