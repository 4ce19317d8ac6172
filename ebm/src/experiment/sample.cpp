// The final samples of a run: the config's sampler drawn from the trained model, with the statistics
// (acceptance, ESS, R-hat) and the warnings that say whether the chains can be trusted.
#include <algorithm>
#include <cmath>

#include <samplers/gibbs.hpp>

#include "ebm/models/sampling.hpp"
#include "ebm/experiment/sample.hpp"

namespace ebm::experiment {

template <class T>
ad::Tensor<T> draw_samples(Session<T>& s, const json& c, json& stats) {
  const SamplerEntry& entry = registry().sampler(c["type"]);
  int64_t chains = c["chains"], d = s.data.x.cols();
  uint64_t seed = s.cfg["seed"];
  // Chain c draws from Rng(chain_seed, c) only (samplers' Note [One stream per chain]).
  ad::Rng base(seed, kSampleStream);
  uint64_t chain_seed = base.next_u64();
  samplers::ChainState<T> state(chains, d, chain_seed);
  const bool from_data = c["init"].get<std::string>() == "data";
  if (entry.binary) {
    // Coin flips in the model's unit values (data rows, when asked, replace them below).
    const auto* bm = dynamic_cast<const samplers::BinaryConditionals<T>*>(s.model.get());
    samplers::fill_binary(state, bm ? bm->units() : samplers::BinaryUnits::zero_one);
  } else {
    state.fill_normal(0.0, c["init_sd"].get<double>());
  }
  if (from_data) {
    for (int64_t i = 0; i < chains; ++i) {
      int64_t r = static_cast<int64_t>(base.below(static_cast<uint64_t>(s.data.x.rows())));
      for (int64_t k = 0; k < d; ++k)
        state.x.at(i, k) = static_cast<T>((entry.binary ? 0.0 : double(state.x.at(i, k))) + s.data.x.at(r, k));
    }
  }
  SamplerRun run = entry.run.template get<T>()(c, *s.model, state);
  stats = {{"type", c["type"]},
           {"chains", chains},
           {"steps", c.contains("steps") ? c["steps"] : json(nullptr)},
           {"acceptance_rate", run.stats.acceptance_rate()},
           {"nan_proposals", run.stats.nan_proposals},
           {"divergences", run.stats.divergences},
           {"step_size", run.stats.step_size}};
  if (!run.stats.swap_rates.empty()) {
    // Parallel tempering: a swap rate near 0 cuts the ladder in two, and the cold chains then never see what the
    // hot ones found (the reason for tempering); said where the user looks.
    stats["swap_rates"] = run.stats.swap_rates;
    stats["level_acceptance_rates"] = run.stats.level_accept_rates;
    const auto lowest = std::min_element(run.stats.swap_rates.begin(), run.stats.swap_rates.end());
    if (*lowest < 0.05)
      stats["warnings"].push_back("tempering swap rate " + std::to_string(*lowest).substr(0, 5) + " between levels " +
                                  std::to_string(lowest - run.stats.swap_rates.begin()) + " and " +
                                  std::to_string(lowest - run.stats.swap_rates.begin() + 1) +
                                  " < 0.05: the ladder is cut there; add sampler.levels or raise sampler.beta_min");
  }
  if (!run.diagnostics.empty()) {
    double ess = std::numeric_limits<double>::infinity(), rhat = 0;
    // A NaN (a coordinate the chains did not move, or non-finite draws) must not read as perfect mixing: std::max
    // and std::min would drop it, so it makes the whole summary NaN, reported as null with a warning.
    for (const auto& sm : run.diagnostics) {
      ess = std::isnan(sm.ess_bulk) || std::isnan(ess) ? NAN : std::min(ess, sm.ess_bulk);
      rhat = std::isnan(sm.rhat) || std::isnan(rhat) ? NAN : std::max(rhat, sm.rhat);
    }
    stats["ess_bulk_min"] = std::isfinite(ess) ? json(ess) : json(nullptr);
    stats["rhat_max"] = std::isfinite(rhat) ? json(rhat) : json(nullptr);
    // Note [Mixing warnings]: split-R̂ above 1.01 is the modern threshold (Vehtari et al. 2021) and 1.1 the classic
    // one; above 1.1 the chains disagree and the samples (and every number computed from them) describe the
    // chains' starting points as much as the model. That is said where the user looks, not only in the numbers.
    if (std::isnan(rhat) || std::isnan(ess))
      stats["warnings"].push_back("R-hat or ESS could not be computed (a coordinate that never moved, or non-finite draws): "
                                  "the chains' mixing is unknown; check sampler.step_size and the samples");
    if (std::isfinite(rhat) && rhat > 1.1)
      stats["warnings"].push_back("split R-hat " + std::to_string(rhat).substr(0, 4) +
                                  " > 1.1: the chains disagree (not mixed yet, or stuck in different modes); raise "
                                  "sampler.warmup and sampler.steps, change sampler.step_size, or for a multimodal model use "
                                  "sampler.type \"tempering\" or sampler.init \"data\"; check the samples before trusting "
                                  "statistics of them");
    if (std::isfinite(ess) && ess < 100)
      stats["warnings"].push_back("bulk ESS " + std::to_string(int64_t(ess)) +
                                  " < 100: too few effective draws for stable estimates; raise sampler.steps or sampler.chains");
  }
  return state.x;
}

template ad::Tensor<float> draw_samples(Session<float>&, const json&, json&);
template ad::Tensor<double> draw_samples(Session<double>&, const json&, json&);

}  // namespace ebm::experiment
