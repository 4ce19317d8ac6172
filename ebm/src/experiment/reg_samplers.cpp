// Samplers for drawing from a trained model: unadjusted Langevin, MALA and HMC. The fields every sampler shares
// (chains, steps, initialisation) are read by the runner; the entries here run warm-up and transitions.
#include <algorithm>

#include <samplers/hmc.hpp>
#include <samplers/langevin.hpp>
#include <samplers/mala.hpp>

#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

namespace {

std::vector<Field> common(std::vector<Field> own, int64_t steps) {
  std::vector<Field> f = {
      {"chains", integer("number of chains = number of samples drawn", 1000).at_least(1)},
      {"steps", integer("transitions per chain", steps).at_least(1)},
      {"warmup", integer("step-size adaptation transitions before `steps` (MALA, HMC)", 0).non_negative()},
      {"init", enumeration("chain start: N(0, init_sd^2) noise, or data points plus that noise", {"normal", "data"}, "normal")},
      {"init_sd", number("stddev of the starting noise", 1.0).non_negative()},
      {"trace_chains", integer("chains recorded for ESS / R-hat diagnostics", 32).at_least(2)}};
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

// Runs a sampler while recording the first trace_chains chains (a Trace of every chain would be large for
// images), then summarises the trace per coordinate.
template <class S>
SamplerRun go(S& sampler, const json& c, samplers::ChainState<double>& state, bool has_warmup) {
  SamplerRun out;
  if (has_warmup && c["warmup"].get<int64_t>() > 0) sampler.warmup(state, c["warmup"].get<int64_t>());
  int64_t rows = std::min<int64_t>(state.chains(), c["trace_chains"].get<int64_t>());
  int64_t steps = c["steps"];
  samplers::Trace<double> trace(0, rows, std::max<int64_t>(1, steps / 200));
  out.stats = sampler.run(state, steps, trace.observer());
  if (rows >= 2 && trace.draws() >= 4) out.diagnostics = trace.summary();
  return out;
}

}  // namespace

void register_samplers(Registry& r) {
  r.samplers.push_back({"langevin", "unadjusted Langevin (ULA): x <- x - (eps/2) grad E + sigma z",
                        common({{"step_size", number("eps", 0.01).positive()},
                                {"noise_scale", number("sigma; null: sqrt(eps), i.e. temperature 1", std::nullopt).positive().or_null()},
                                {"grad_clip_norm", number("per-sample gradient norm clip (0: off)", 0.0).non_negative()}},
                               500),
                        [](const json& c, const samplers::BatchEnergy<double>& e, samplers::ChainState<double>& s) {
                          samplers::LangevinOptions o;
                          o.step_size = c["step_size"];
                          if (!c["noise_scale"].is_null()) o.noise_scale = c["noise_scale"];
                          o.grad_clip_norm = c["grad_clip_norm"];
                          samplers::Langevin<double> l(e, o);
                          struct NoWarmup {
                            samplers::Langevin<double>& l;
                            void warmup(samplers::ChainState<double>&, int64_t) {}
                            samplers::SamplerStats run(samplers::ChainState<double>& s, int64_t n, const samplers::Observer<double>& ob) {
                              return l.run(s, n, ob);
                            }
                          } w{l};
                          return go(w, c, s, false);
                        }});
  r.samplers.push_back({"mala", "Metropolis-adjusted Langevin, exact for any step size",
                        common({{"step_size", number("eps (initial value when warmup > 0)", 0.05).positive()},
                                {"target_accept", number("warm-up target acceptance", 0.574).range(0, 1).below(1)}},
                               500),
                        [](const json& c, const samplers::BatchEnergy<double>& e, samplers::ChainState<double>& s) {
                          samplers::MalaOptions o;
                          o.step_size = c["step_size"], o.target_accept = c["target_accept"];
                          samplers::Mala<double> m(e, o);
                          return go(m, c, s, true);
                        }});
  r.samplers.push_back({"hmc", "Hamiltonian Monte Carlo with leapfrog steps",
                        common({{"step_size", number("eps (initial value when warmup > 0)", 0.1).positive()},
                                {"leapfrog_steps", integer("leapfrog steps per transition", 10).at_least(1)},
                                {"target_accept", number("warm-up target acceptance", 0.8).range(0, 1).below(1)},
                                {"jitter", number("relative step-size jitter", 0.0).range(0, 1).below(1)}},
                               200),
                        [](const json& c, const samplers::BatchEnergy<double>& e, samplers::ChainState<double>& s) {
                          samplers::HmcOptions o;
                          o.step_size = c["step_size"], o.leapfrog_steps = c["leapfrog_steps"];
                          o.target_accept = c["target_accept"], o.jitter = c["jitter"];
                          samplers::Hmc<double> h(e, o);
                          return go(h, c, s, true);
                        }});
  // TODO(registry): parallel tempering, annealed Langevin (needs a noise-conditional model) and Gibbs (for
  // RBMs / Boltzmann machines) exist in samplers/ and are still to be wired.
}

}  // namespace ebm::experiment
