#pragma once
// The annealing loop shared by forward AIS (ais.cpp) and reverse AIS (ais_reverse.cpp). Chains already placed in
// a ChainState are carried through inverse temperatures γ_0, γ_1, …, γ_K in the order given: increasing
// (β_0 = 0 → β_K = 1) for forward AIS, decreasing (β_K = 1 → β_0 = 0) for reverse AIS. For j = 1..K, at the
// current state x:
//
//   log w += log f_{γ_j}(x) − log f_{γ_{j−1}}(x),   then (for j < K) x ~ T_{γ_j}(x, ·).
//
// Reverse AIS is exactly forward AIS on the reversed path (ais.hpp, Note [Reverse AIS]), so one loop serves both.
#include <cstdint>
#include <vector>

#include <samplers/state.hpp>

#include "ebm/eval/ais.hpp"

namespace ebm::ais_detail {

// Streams (Note [One stream per chain]): forward chain c uses Rng(seed, c), reverse chain c
// Rng(seed, kReverseStreams + c), pilot chain c Rng(seed, kPilotStreams + c): no two runs with one seed share one.
inline constexpr uint64_t kPilotStreams = uint64_t{1} << 62;
inline constexpr uint64_t kReverseStreams = uint64_t{1} << 61;

void check_common(const AisOptions& o, const char* who);

/// The Gaussian base E_0(x) = Σ_k (x_k − μ_k)² / (2 s_k²) of the continuous path.
struct GaussianBase {
  std::vector<double> mean, std;
  double log_z() const;
  double energy(const double* x) const;
};

/// The base of `o` in `dim` dimensions (empty mean: 0, empty std: 1), with the options' checks; `who` names the
/// caller in messages.
GaussianBase continuous_base(const ContinuousAisOptions& o, int64_t dim, const char* who);

/// x_0 ~ p_0 for every chain of `state`, each from its own stream.
void draw_base(const GaussianBase& base, samplers::ChainState<double>& state);

struct AnnealRun {
  std::vector<double> log_w;  // per chain, without log Z_0
  int64_t proposals = 0, accepted = 0;
};

/// The steps of the continuous kernels: eps[k] is used at β_k of the forward schedule `betas` (k = 1..K−1;
/// entries 0 and K unused). With adapt_step they come from a pilot anneal on streams kPilotStreams + c (fewer
/// chains, drawn from the base), so they depend on no chain of the estimation run, forward or reverse.
std::vector<double> continuous_steps(const samplers::BatchEnergy<double>& energy, const GaussianBase& base,
                                     const ContinuousAisOptions& o, const std::vector<double>& betas);

/// The continuous loop over `gammas` (either direction); eps[j] is the step at γ_j, aligned with gammas. With
/// `adapt` the step starts at o.step_size, is adapted toward `target` acceptance on each intermediate and
/// written to eps[j] (the pilot).
AnnealRun anneal_continuous(const samplers::BatchEnergy<double>& energy, const GaussianBase& base, const ContinuousAisOptions& o,
                            const std::vector<double>& gammas, samplers::ChainState<double>& state, std::vector<double>& eps,
                            bool adapt, double target);

/// The MALA/HMC target acceptance of `o` (its own if positive, else 0.574 for MALA, 0.8 for HMC).
double target_acceptance(const ContinuousAisOptions& o);

/// The RBM base's visible biases b_0 (o.base_visible_bias, empty: 0) checked against V, and log Z_0 =
/// H log 2 + Σ_i softplus(b_0i).
std::vector<double> rbm_base(const BernoulliRbm<double>& rbm, const RbmAisOptions& o, const char* who);
double rbm_base_log_z(const BernoulliRbm<double>& rbm, const std::vector<double>& b0);

/// The RBM loop over `gammas` (either direction) with block Gibbs on the γ-intermediate RBM.
AnnealRun anneal_rbm(const BernoulliRbm<double>& rbm, const std::vector<double>& b0, const AisOptions& o,
                     const std::vector<double>& gammas, samplers::ChainState<double>& state);

/// The Boltzmann machine's base biases b_0 (o.base_bias, empty: 0) checked against n, and log Z_0.
std::vector<double> boltzmann_base(const BoltzmannMachine<double>& machine, const BoltzmannAisOptions& o, const char* who);
double boltzmann_base_log_z(Units units, const std::vector<double>& b0);

/// The Boltzmann loop over `gammas` (either direction) with single-site Gibbs on the γ-intermediate machine.
AnnealRun anneal_boltzmann(const BoltzmannMachine<double>& machine, const std::vector<double>& b0, const AisOptions& o,
                           const std::vector<double>& gammas, samplers::ChainState<double>& state);

}  // namespace ebm::ais_detail
