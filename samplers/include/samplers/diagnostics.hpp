#pragma once
// MCMC convergence diagnostics for one scalar quantity, following Stan (stan/analyze/mcmc, 2.3x) and
//   A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P.-C. Bürkner (2021),
//   "Rank-normalization, folding, and localization: an improved R-hat for assessing convergence of MCMC",
//   Bayesian Analysis 16(2), 667-718 (arXiv:1903.08008). Equation numbers below refer to that paper.
//
// Input layout: `Chains` is draws[chain][iteration] for one scalar; every chain must have the same length.
//
// Conventions shared by every function:
//   * Fewer than one chain, ragged chains, or fewer than 4 draws in a chain: std::invalid_argument whose
//     message names the problem. These are caller bugs, not properties of the sampler.
//   * Non-finite draws, or draws that do not vary (any split chain approximately constant, or every
//     split chain the same constant): the diagnostic is NaN, as in Stan. A NaN R-hat must be read as
//     "cannot tell", never as "converged".
//   * "Split" chains: each chain is cut into a first and a second half (for an odd length the middle
//     draw is dropped), so a drift inside a chain shows up as disagreement between halves. With M
//     chains of N draws the diagnostics see 2M chains of floor(N/2) draws, S = 2M*floor(N/2) in total.
//   * ESS needs at least 4 draws per split chain (N >= 8); with fewer it is NaN, as in Stan.
#include <vector>

namespace samplers {

using Chains = std::vector<std::vector<double>>;

/// Bulk effective sample size (paper section 4.3; Stan `split_rank_normalized_ess().first`):
/// split chains, replace every draw by its rank-normal score z = Phi^-1((r - 3/8) / (S + 1/4)) where r is
/// its fractional rank among all S draws (ties get their average rank), then run `ess` of eqs (10)-(13):
/// multi-chain autocorrelation 1 - (W - mean_m acov_m(t)) / var+, Geyer's initial positive sequence
/// turned into an initial monotone sequence, the antithetic correction term, and the cap
/// ESS <= S * log10(S). For chains with negative autocorrelation ESS may exceed S.
double ess(const Chains& chains);

/// Split-chain ESS of the raw values (no rank normalisation; posterior's `ess_basic`). This is the ESS
/// that governs the Monte Carlo error of the mean and is the one to compare with AR(1) theory,
/// S (1 - rho) / (1 + rho). Requires a finite variance to be meaningful.
double ess_basic(const Chains& chains);

/// Tail effective sample size (paper section 4.3; Stan `split_rank_normalized_ess().second`): the
/// minimum of the ESS of the indicators I(x <= q05) and I(x >= q95), with q05, q95 the type-7 sample
/// quantiles of all split draws. If one indicator ESS is NaN the other is returned.
double ess_tail(const Chains& chains);

/// Rank-normalised split R-hat (paper eq. 14 applied as in section 4.2): the maximum of the bulk R-hat
/// (R-hat of the rank-normal scores of the split chains) and the tail R-hat (R-hat of the rank-normal
/// scores of |x - median|, the folded split chains). The folded part catches chains that agree in
/// location but differ in scale. Values above 1.01 indicate the chains have not mixed.
double rhat(const Chains& chains);

/// Classic split R-hat of the raw values (Gelman et al., BDA3 section 11.4; paper eqs. 1-4):
/// sqrt(((n-1)/n W + B/n) / W) over the split chains. Blind to differences in scale alone.
double rhat_basic(const Chains& chains);

/// Monte Carlo standard error of the mean: sd / sqrt(ess_basic), sd over all draws (denominator S-1).
double mcse_mean(const Chains& chains);

/// Everything a sampler report needs for one scalar. mean and sd use all draws of all chains.
struct Summary {
  double mean, sd, mcse, ess_bulk, ess_tail, rhat;
};
Summary summarize(const Chains& chains);

/// Per-dimension summaries from draws[chain][iteration][dim] (the layout samplers produce). Every
/// iteration of every chain must have the same number of dimensions.
std::vector<Summary> summarize_dims(const std::vector<std::vector<std::vector<double>>>& draws);

namespace detail {
// Exposed for unit tests; not part of the stable API.

/// Biased autocovariance acov[k] = (1/N) sum_{t<N-k} (x_t - mean)(x_{t+k} - mean), k = 0..N-1, via a
/// radix-2 FFT of the zero-padded centred series (Geyer 1992 recommends the biased form).
std::vector<double> autocovariance(const std::vector<double>& x);
/// Standard normal quantile function, accurate to a few ulps on (0, 1).
double inv_normal_cdf(double p);
/// Stan's `ess` on already prepared (split, transformed) chains, without the input checks.
double ess_raw(const Chains& chains);
}  // namespace detail

}  // namespace samplers
