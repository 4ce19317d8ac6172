// Reverse AIS (ais.hpp, Note [Reverse AIS]): from samples of the model back to the base, an upper bound on log Z;
// and the sandwich of a forward and a reverse run.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "ais_anneal.hpp"
#include "ebm/eval/ais.hpp"

namespace ebm {
namespace {

using namespace ais_detail;

// Chains at the given rows, chain c on stream kReverseStreams + c.
samplers::ChainState<double> reverse_chains(const ad::Tensor<double>& samples, int64_t dim, uint64_t seed, const char* who) {
  if (samples.rank() != 2 || samples.rows() < 1 || samples.cols() != dim)
    throw std::invalid_argument(std::string(who) + ": target_samples must be [B, " + std::to_string(dim) + "] with B >= 1, got " +
                                samples.shape().str());
  for (double v : samples)
    if (!std::isfinite(v)) throw std::invalid_argument(std::string(who) + ": target_samples must be finite");
  samplers::ChainState<double> state(samples, seed);
  for (size_t c = 0; c < state.rngs.size(); ++c) state.rngs[c] = ad::Rng(seed, kReverseStreams + c);
  return state;
}

}  // namespace

AisResult summarize_reverse_log_weights(std::vector<double> log_weights, double log_z_base) {
  // The forward summary of the same numbers is about log(Z_0 / Z) with base 0: log mean w_r and mean log w_r.
  AisResult r = summarize_log_weights(std::move(log_weights), 0.0);
  r.direction = AisDirection::reverse;
  r.log_z = log_z_base - r.log_z;
  r.upper_bound = log_z_base - r.lower_bound;
  r.lower_bound = std::numeric_limits<double>::quiet_NaN();
  r.log_z_base = log_z_base;
  return r;
}

AisResult ais_reverse_log_partition(const samplers::BatchEnergy<double>& energy, const ad::Tensor<double>& target_samples,
                                    const ContinuousAisOptions& o) {
  const char* who = "ais_reverse_log_partition";
  check_common(o, who);
  const int64_t dim = target_samples.rank() == 2 ? target_samples.cols() : 0;
  samplers::ChainState<double> state = reverse_chains(target_samples, dim, o.seed, who);
  const GaussianBase base = continuous_base(o, dim, who);
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  // The steps of a forward run with these options (eps[k] at β_k; its pilot is capped by o.chains, not by B),
  // then both sequences reversed: γ_j = β_{K−j} with its step.
  const std::vector<double> eps_fwd = continuous_steps(energy, base, o, betas);
  const std::vector<double> gammas(betas.rbegin(), betas.rend());
  std::vector<double> eps(eps_fwd.rbegin(), eps_fwd.rend());
  AnnealRun run = anneal_continuous(energy, base, o, gammas, state, eps, false, target_acceptance(o));
  AisResult r = summarize_reverse_log_weights(std::move(run.log_w), base.log_z());
  r.acceptance_rate = run.proposals ? double(run.accepted) / double(run.proposals) : 1.0;
  r.step_sizes.assign(eps_fwd.begin() + 1, eps_fwd.end() - 1);  // by forward index, like a forward run's
  return r;
}

AisResult ais_reverse_log_partition(const Energy<double>& model, const ad::Tensor<double>& target_samples,
                                    const ContinuousAisOptions& options) {
  const samplers::BatchEnergy<double> energy = [&model](ad::Tape<double>&, const ad::Var<double>& x) {
    return model.fixed_energy(x);
  };
  if (target_samples.rank() == 2 && target_samples.cols() != model.dim())
    throw std::invalid_argument("ais_reverse_log_partition: target_samples have " + std::to_string(target_samples.cols()) +
                                " columns, the model " + std::to_string(model.dim()) + " dimensions");
  return ais_reverse_log_partition(energy, target_samples, options);
}

AisResult ais_reverse_log_partition_rbm(const BernoulliRbm<double>& rbm, const ad::Tensor<double>& target_samples,
                                        const RbmAisOptions& o) {
  const char* who = "ais_reverse_log_partition_rbm";
  check_common(o, who);
  const std::vector<double> b0 = rbm_base(rbm, o, who);
  samplers::ChainState<double> state = reverse_chains(target_samples, rbm.visible(), o.seed, who);
  for (double v : target_samples)
    if (v != 0.0 && v != 1.0) throw std::invalid_argument(std::string(who) + ": target_samples must be in {0, 1}");
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  AnnealRun run = anneal_rbm(rbm, b0, o, std::vector<double>(betas.rbegin(), betas.rend()), state);
  return summarize_reverse_log_weights(std::move(run.log_w), rbm_base_log_z(rbm, b0));
}

AisResult ais_reverse_log_partition_boltzmann(const BoltzmannMachine<double>& machine, const ad::Tensor<double>& target_samples,
                                              const BoltzmannAisOptions& o) {
  const char* who = "ais_reverse_log_partition_boltzmann";
  check_common(o, who);
  const std::vector<double> b0 = boltzmann_base(machine, o, who);
  samplers::ChainState<double> state = reverse_chains(target_samples, machine.dim(), o.seed, who);
  const double off = machine.unit_kind() == Units::spin ? -1.0 : 0.0;
  for (double v : target_samples)
    if (v != off && v != 1.0)
      throw std::invalid_argument(std::string(who) + ": target_samples must be in the machine's unit values {" +
                                  (off == 0 ? "0" : "-1") + ", 1}");
  const std::vector<double> betas = beta_schedule(o.schedule, o.steps);
  AnnealRun run = anneal_boltzmann(machine, b0, o, std::vector<double>(betas.rbegin(), betas.rend()), state);
  return summarize_reverse_log_weights(std::move(run.log_w), boltzmann_base_log_z(machine.unit_kind(), b0));
}

AisSandwich ais_sandwich(const AisResult& forward, const AisResult& reverse) {
  if (forward.direction != AisDirection::forward || reverse.direction != AisDirection::reverse)
    throw std::invalid_argument("ais_sandwich: needs a forward and a reverse AIS run, in that order");
  AisSandwich s;
  s.lower = forward.lower_bound, s.lower_stderr = forward.stderr_bound;
  s.upper = reverse.upper_bound, s.upper_stderr = reverse.stderr_bound;
  s.gap = s.upper - s.lower;
  s.gap_stderr = std::hypot(s.lower_stderr, s.upper_stderr);
  s.forward_estimate = forward.log_z, s.reverse_estimate = reverse.log_z;
  return s;
}

}  // namespace ebm
