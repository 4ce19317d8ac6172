#pragma once
// log Z by annealed importance sampling (AIS; Neal 2001), for continuous energies (MALA or HMC transitions)
// and for Bernoulli RBMs (block Gibbs transitions; Salakhutdinov & Murray 2008): forward runs (from the base to
// the model) estimate log Z and bound it from below; reverse runs (from samples of the model back to the base)
// bound it from above, and the two together sandwich it (Note [Reverse AIS]).
//
// Path. With a tractable base f_0 = exp(−E_0) of known Z_0 and the target f = exp(−E), the intermediates are
// the geometric path f_β = f_0^{1−β} f^β, i.e. E_β = (1 − β) E_0 + β E, for 0 = β_0 < β_1 < … < β_K = 1.
// Each chain draws x_0 ~ p_0 and, for k = 1..K,
//
//   log w += log f_{β_k}(x_{k−1}) − log f_{β_{k−1}}(x_{k−1}) = −(β_k − β_{k−1}) (E(x_{k−1}) − E_0(x_{k−1})),
//   x_k   ~ T_k(x_{k−1}, ·)   (any kernel leaving p_{β_k} invariant; the one at β_K = 1 is not needed).
//
// Then E[w] = Z / Z_0 exactly, for any K and any invariant kernels (Neal 2001, §3), so with B chains
//
//   log Ẑ = log Z_0 + log( (1/B) Σ_c w_c ).
//
// Note [AIS error estimates]: with w̄ the mean and s the sample standard deviation of the B weights, the delta
// method gives SE(log Ẑ) ≈ s / (w̄ √B). It is reliable only when the weights are not heavy-tailed; the weights'
// effective sample size ESS = (Σ w)² / Σ w² (between 1 and B) says how far that holds: ESS ≪ B means a few
// chains carry the estimate and the SE is itself unreliable (more intermediates are the cure). Since log is
// concave, E[log Ẑ] ≤ log Z: AIS underestimates log Z on average (Jensen), and the mean of the log weights,
// log Z_0 + (1/B) Σ log w_c, is a stochastic lower bound (the gap is the average KL of the forward and reverse
// annealing processes; Grosse et al. 2015).
//
// Continuous base: E_0(x) = Σ_k (x_k − μ_k)² / (2 s_k²), log Z_0 = Σ_k log s_k + (d/2) log 2π (fit μ, s to the
// data, perhaps widened). MALA / HMC use one step size per intermediate: with `adapt_step`, a pilot anneal
// (independent streams, fewer chains) tunes it by a Robbins–Monro rule toward the target acceptance and the
// estimation run reuses the recorded schedule; the kernels of the estimation run then depend on no chain of
// that run, which keeps E[w] = Z / Z_0 exact. HMC uses the mass matrix diag(1 / s²), which makes the base
// isotropic for the integrator.
//
// Bernoulli RBM (E = free energy F). Base: the RBM with W = 0 and visible biases b_0 (e.g. the data's base
// rates), hidden biases 0. The β-intermediate is the joint model over (v, h) with
//   E_β(v, h) = −((1 − β) b_0 + β b)ᵀ v − β cᵀh − β vᵀW h,
// an RBM with parameters (β W, (1 − β) b_0 + β b, β c). Summing h out exactly:
//   log f_β(v) = ((1 − β) b_0 + β b)ᵀ v + Σ_j softplus(β (c_j + (vᵀW)_j)),
// which is log f_0 = b_0ᵀv + H log 2 at β = 0 and −F(v) at β = 1 (so it is f_0^{1−β} f^β up to a constant
// factor 2^{H(1−β)}; the constant cancels because Z_0 is the normaliser of f_β at β = 0, log Z_0 =
// H log 2 + Σ_i softplus(b_0i)). Transitions: block Gibbs (h | v then v | h) on the β-RBM, exactly invariant.
//
// Note [Boltzmann AIS]: for a fully visible Boltzmann machine E(x) = −½ xᵀW x − bᵀx, the base is E_0(x) = −b_0ᵀx
// (independent units: Z_0 = Π_i (1 + e^{b_0i}) for {0,1} units, Π_i 2 cosh(b_0i) for {−1,+1}), and the
// intermediate E_β = (1 − β) E_0 + β E = −½ xᵀ(β W) x − ((1 − β) b_0 + β b)ᵀx is itself a Boltzmann machine, on
// which a single-site Gibbs sweep is exactly invariant. The weight increment is −(β_k − β_{k−1}) (E(x) − E_0(x)).
// A continuous kernel (MALA, HMC) has no meaning on a discrete state space; the runner never uses one here.
//
// Note [Reverse AIS] (Grosse, Ghahramani & Adams 2015, "Sandwiching the marginal likelihood using bidirectional
// Monte Carlo"; Burda, Grosse & Salakhutdinov 2015, RAISE). Write f_k = f_{β_k}, p_k = f_k / Z_k and T_k for the
// kernel at β_k (invariant for p_k, 1 ≤ k ≤ K−1). The forward chain visits x_0, …, x_{K−1} with
//   q_f(x_{0:K−1}) = p_0(x_0) Π_{k=1}^{K−1} T_k(x_{k−1}, x_k),   w_f = Π_{k=1}^{K} f_k(x_{k−1}) / f_{k−1}(x_{k−1}).
// The reverse chain visits the same positions backwards: x_{K−1} ~ p_K = p exactly, then x_{k−1} ~ T̃_k(x_k, ·)
// for k = K−1, …, 1, with T̃_k the reversal of T_k (p_k(x) T_k(x, x') = p_k(x') T̃_k(x', x)):
//   q_r(x_{0:K−1}) = p_K(x_{K−1}) Π_{k=1}^{K−1} T̃_k(x_k, x_{k−1}).
// Substituting T̃_k(x_k, x_{k−1}) = T_k(x_{k−1}, x_k) f_k(x_{k−1}) / f_k(x_k) (Z_k cancels) and re-indexing
// Π_{k=1}^{K−1} f_k(x_k) = Π_{k=2}^{K} f_{k−1}(x_{k−1}) gives q_r / q_f = (Z_0 / Z) w_f. So with
//   w_r = 1 / w_f = Π_{k=1}^{K} f_{k−1}(x_{k−1}) / f_k(x_{k−1}),
// E_{q_r}[w_r] = (Z_0 / Z) E_{q_r}[q_f / q_r] = Z_0 / Z exactly, for any K. In execution order:
//   x ← an exact sample of p;  for k = K, K−1, …, 1:  log w_r += log f_{β_{k−1}}(x) − log f_{β_k}(x);
//                                                     then, if k > 1, x ~ T̃_{k−1}(x, ·)   (the kernel at β_{k−1}).
// Each state is weighed at the pair (β_{k−1}, β_k) it sits between: the exact sample at (β_{K−1}, 1), and the
// output of the kernel at β_{k} at (β_{k−1}, β_k); no kernel runs at β_K = 1 or β_0 = 0. This is forward AIS on
// the reversed schedule γ_j = β_{K−j} (the same code runs both). MALA, HMC (fresh momentum, then a
// Metropolis-corrected leapfrog trajectory) and the block Gibbs sweep h | v, v | h are reversible for their target
// (so T̃_k = T_k, and so are their powers: `transitions` > 1), and continuous runs use the same steps as the forward
// run with the same options (its pilot, on its own streams), so forward and reverse runs use the same T_k.
// Bounds: by Jensen E[log w_r] ≤ log E[w_r], so
//   log Z_0 − (1/B) Σ log w_r,c          is a stochastic UPPER bound on log Z (E[·] ≥ log Z), and
//   log Z_0 − log((1/B) Σ w_r,c)          an estimator (biased up on average, by about SE²/2).
// With the forward lower bound: E[upper] − E[lower] = KL(q_f ‖ q_r) + KL(q_r ‖ q_f), which shrinks to 0 as K grows
// (the "sandwich"; its width says how far either estimate can be trusted, which the SE cannot).
// Exact samples of p exist for small RBMs (enumeration) and Gaussians (exact_samples.hpp), and for toy energies
// whose samples are known. Held-out data in their place (as RAISE-style evaluations do) only approximates this:
// x_{K−1} ~ p_data ≠ p makes the result neither a bound nor unbiased; it is close to one when the model fits.
//
// Reproducibility: forward chain c draws only from Rng(seed, c) (samplers' Note [One stream per chain]), reverse
// chain c from Rng(seed, 2^61 + c), pilot chain c from Rng(seed, 2^62 + c); the log weights are combined in chain
// order. The result is identical for any thread count.
#include <cstdint>
#include <string>
#include <vector>

#include <samplers/energy.hpp>

#include "ebm/enum_names.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm {

enum class BetaSchedule {
  linear,     // β_k = k / K
  sigmoid,    // Grosse et al. 2013: σ(δ(2k/K − 1)) rescaled to [0, 1], δ = 4: dense at both ends
  geometric,  // β_k = β_min^{1 − k/K} for k ≥ 1 (β_min = 1e-4), β_0 = 0: dense near 0
};
/// The schedules' names, as configs spell them; the config schema lists them in this order.
inline constexpr EnumName<BetaSchedule> kBetaScheduleNames[] = {
    {"sigmoid", BetaSchedule::sigmoid}, {"linear", BetaSchedule::linear}, {"geometric", BetaSchedule::geometric}};
/// A name of kBetaScheduleNames; throws std::invalid_argument otherwise.
BetaSchedule parse_beta_schedule(const std::string& name);

/// 0 = β_0 < β_1 < … < β_K = 1 (K + 1 values). Throws std::invalid_argument if K < 1.
std::vector<double> beta_schedule(BetaSchedule kind, int steps);

enum class AisDirection { forward, reverse };

struct AisResult {
  AisDirection direction = AisDirection::forward;
  double log_z = 0;        // log Ẑ: log Z_0 + log mean w (forward), log Z_0 − log mean w_r (reverse)
  double stderr_log_z = 0; // delta-method SE of log Ẑ (Note [AIS error estimates])
  double ess = 0;          // (Σ w)² / Σ w²
  double lower_bound = 0;  // forward: log Z_0 + mean log w, E[·] ≤ log Z (reverse: NaN)
  double upper_bound = 0;  // reverse: log Z_0 − mean log w_r, E[·] ≥ log Z (forward: NaN; Note [Reverse AIS])
  double stderr_bound = 0; // SE of whichever bound applies (sd of the log weights / √B)
  double log_z_base = 0;   // log Z_0
  double acceptance_rate = 1;  // of the MCMC transitions (1 for Gibbs)
  std::vector<double> log_weights;  // per chain, log w_c (reverse: log w_r,c), without log Z_0
  std::vector<double> step_sizes;   // continuous: the step used at each intermediate 1..K−1
};

/// log Ẑ, SE, ESS and the lower bound from per-chain log weights and log Z_0.
AisResult summarize_log_weights(std::vector<double> log_weights, double log_z_base);
/// The same for reverse log weights log w_r (estimates of log Z_0 − log Z): log Ẑ, SE, ESS and the upper bound.
AisResult summarize_reverse_log_weights(std::vector<double> log_weights, double log_z_base);

struct AisOptions {
  int64_t chains = 100;
  int steps = 1000;  // K: number of β increments
  BetaSchedule schedule = BetaSchedule::sigmoid;
  int transitions = 1;  // MCMC steps (or Gibbs sweeps) per intermediate
  uint64_t seed = 0;
};

enum class AisTransition { mala, hmc };
/// The continuous transitions' names (evaluation.ais.transition also takes "auto" and "gibbs").
inline constexpr EnumName<AisTransition> kAisTransitionNames[] = {{"mala", AisTransition::mala}, {"hmc", AisTransition::hmc}};

struct ContinuousAisOptions : AisOptions {
  AisTransition transition = AisTransition::mala;
  std::vector<double> base_mean;  // μ, [d]; empty: 0
  std::vector<double> base_std;   // s, [d]; empty: 1
  double step_size = 0.1;         // initial (adapt_step) or fixed ε
  int leapfrog_steps = 5;         // HMC
  bool adapt_step = true;
  double target_accept = -1;      // negative: 0.574 for MALA, 0.8 for HMC
  int64_t pilot_chains = 32;      // chains of the pilot anneal (capped at `chains`)
};

/// AIS log Z of exp(−E) in `dim` dimensions.
AisResult ais_log_partition(const samplers::BatchEnergy<double>& energy, int64_t dim, const ContinuousAisOptions& options);
/// The same for a model at its current parameters (θ held fixed).
AisResult ais_log_partition(const Energy<double>& model, const ContinuousAisOptions& options);

struct RbmAisOptions : AisOptions {
  std::vector<double> base_visible_bias;  // b_0, [V]; empty: 0 (the uniform distribution)
};

/// AIS log Z of a Bernoulli RBM's visible marginal, Σ_v exp(−F(v)).
AisResult ais_log_partition_rbm(const BernoulliRbm<double>& rbm, const RbmAisOptions& options);

/// Reverse AIS (Note [Reverse AIS]) from `target_samples` [B, d], one chain per row (options.chains is not used,
/// except to cap the pilot's chains): the upper bound on log Z is guaranteed only if the rows are exact,
/// independent samples of exp(−E) / Z. Same path, base, schedule and kernels as ais_log_partition.
AisResult ais_reverse_log_partition(const samplers::BatchEnergy<double>& energy, const ad::Tensor<double>& target_samples,
                                    const ContinuousAisOptions& options);
AisResult ais_reverse_log_partition(const Energy<double>& model, const ad::Tensor<double>& target_samples,
                                    const ContinuousAisOptions& options);
/// The same for a Bernoulli RBM; the rows must be in {0, 1}^V.
AisResult ais_reverse_log_partition_rbm(const BernoulliRbm<double>& rbm, const ad::Tensor<double>& target_samples,
                                        const RbmAisOptions& options);

struct BoltzmannAisOptions : AisOptions {
  std::vector<double> base_bias;  // b_0, [n]; empty: 0 (the uniform distribution)
};

/// AIS log Z of a fully visible Boltzmann machine, Σ_x exp(−E(x)) over {0,1}^n or {−1,+1}^n (Note [Boltzmann
/// AIS]): the base is independent units with biases b_0, the path the machines (β W, (1 − β) b_0 + β b), and
/// the kernel at each intermediate systematic-scan single-site Gibbs on that machine, exactly invariant.
AisResult ais_log_partition_boltzmann(const BoltzmannMachine<double>& machine, const BoltzmannAisOptions& options);
/// Reverse AIS for the machine from `target_samples` [B, n] in its unit values, one chain per row.
AisResult ais_reverse_log_partition_boltzmann(const BoltzmannMachine<double>& machine, const ad::Tensor<double>& target_samples,
                                              const BoltzmannAisOptions& options);
/// The base biases matching binary or spin data's per-unit means (smoothed by α as rbm_base_bias does):
/// logit(p̂) for {0,1} units, atanh(2p̂ − 1) for {−1,+1} units, with p̂ the smoothed rate of the "on" value.
std::vector<double> boltzmann_base_bias(const ad::Tensor<double>& data, Units units, double alpha = 1.0);

/// A forward and a reverse run side by side: lower ≤ log Z ≤ upper in expectation (upper only for exact samples).
struct AisSandwich {
  double lower = 0, lower_stderr = 0;  // the forward run's lower bound and its SE
  double upper = 0, upper_stderr = 0;  // the reverse run's upper bound and its SE
  double gap = 0, gap_stderr = 0;      // upper − lower (≥ 0 in expectation) and its SE (independent runs)
  double forward_estimate = 0, reverse_estimate = 0;  // the two runs' log Ẑ
};
/// Throws std::invalid_argument unless `forward` and `reverse` are runs of those directions.
AisSandwich ais_sandwich(const AisResult& forward, const AisResult& reverse);

/// b_0i = logit of the smoothed base rate (Σ_n x_ni + α) / (N + 2α) of binary data [N, V]; α > 0 keeps it finite.
std::vector<double> rbm_base_bias(const ad::Tensor<double>& data, double alpha = 1.0);

}  // namespace ebm
