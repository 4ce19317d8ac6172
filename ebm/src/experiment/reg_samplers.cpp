// Samplers for drawing from a trained model: random-walk Metropolis, unadjusted Langevin, MALA, HMC, parallel
// tempering, Gibbs (RBMs and Boltzmann machines), annealed Langevin (noise-conditional models) and Stein
// variational gradient descent (interacting particles). The fields
// every sampler shares (chains, initialisation, trace) are read by the runner; the entries here run warm-up and
// transitions.
#include <algorithm>

#include <samplers/annealed.hpp>
#include <samplers/gibbs.hpp>
#include <samplers/hmc.hpp>
#include <samplers/langevin.hpp>
#include <samplers/mala.hpp>
#include <samplers/metropolis.hpp>
#include <samplers/svgd.hpp>
#include <samplers/tempering.hpp>

#include "enum_field.hpp"

#include "ebm/experiment/registry.hpp"
#include "ebm/experiment/eval_checks.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/models/sampling.hpp"
#include "ebm/objectives/negatives.hpp"

namespace ebm::experiment {

namespace {

// `traced`: whether the sampler's chains are recorded for ESS / R-hat (not for SVGD, whose particles are no chains).
std::vector<Field> common(std::vector<Field> own, int64_t steps, bool has_steps = true, bool traced = true) {
  std::vector<Field> f = {{"chains", integer("number of chains = number of samples drawn", 1000).at_least(1)}};
  if (has_steps) {
    f.push_back({"steps", integer("transitions per chain", steps).at_least(1)});
    f.push_back({"warmup", integer("transitions before `steps`, left out of the samples and of the ESS / R-hat diagnostics "
                                   "(burn-in; MH, MALA, HMC and tempering also adapt their step size there)", 0).non_negative()});
  }
  f.push_back({"init", enumeration("chain start: noise (N(0, init_sd^2), or coin flips for Gibbs), or data points plus that noise",
                                   {"normal", "data"}, "normal")});
  f.push_back({"init_sd", number("stddev of the starting noise", 1.0).non_negative()});
  if (traced) f.push_back({"trace_chains", integer("chains recorded for ESS / R-hat diagnostics", 32).at_least(2)});
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

// Runs a sampler while recording the first trace_chains chains (a Trace of every chain would be large for
// images), then summarises the trace per coordinate.
template <class T>
SamplerRun go(samplers::Sampler<T>& sampler, const json& c, samplers::ChainState<T>& state, bool has_warmup,
              int64_t target_rows = -1) {
  SamplerRun out;
  if (has_warmup && c["warmup"].get<int64_t>() > 0) sampler.warmup(state, c["warmup"].get<int64_t>());
  if (target_rows < 0) target_rows = state.chains();
  int64_t rows = std::min<int64_t>(target_rows, c["trace_chains"].get<int64_t>());
  int64_t steps = c["steps"];
  samplers::Trace<T> trace(0, rows, std::max<int64_t>(1, steps / 200));
  out.stats = sampler.run(state, steps, trace.observer());
  if (rows >= 2 && trace.draws() >= 4) out.diagnostics = trace.summary();
  return out;
}

// check_model of the samplers that move continuous states.
auto continuous_only(const std::string& name) {
  return [name](auto, const auto& m) {
    check_continuous_model(m, "sampler.type", "\"" + name + "\" moves continuous states", "use \"gibbs\"");
  };
}

constexpr EnumName<samplers::LocalMove> kLocalMoveNames[] = {{"mala", samplers::LocalMove::mala},
                                                              {"random_walk", samplers::LocalMove::random_walk}};

}  // namespace

samplers::LangevinOptions langevin_options(const json& c) {
  samplers::LangevinOptions o;
  o.step_size = c["step_size"];
  if (!c["noise_scale"].is_null()) o.noise_scale = c["noise_scale"];
  o.grad_clip_norm = c["grad_clip_norm"];
  return o;
}

std::vector<Field> langevin_fields(double step) {
  return {{"step_size", number("eps", step).positive()},
          {"noise_scale", number("sigma; null: sqrt(eps), i.e. temperature 1", std::nullopt).positive().or_null()},
          {"grad_clip_norm", number("per-sample gradient norm clip (0: off)", 0.0).non_negative()}};
}

template <class T>
void check_gibbs_model(const Energy<T>& m, const std::string& key) {
  if (!dynamic_cast<const samplers::RbmConditionals<T>*>(&m) && !dynamic_cast<const samplers::BinaryConditionals<T>*>(&m))
    throw InputError(key + ": Gibbs sampling needs an RBM or a Boltzmann machine (model.type \"rbm\" or \"boltzmann\"), not the model \"" +
                     m.name() + "\"");
}

template <class T>
void check_continuous_model(const Energy<T>& m, const std::string& key, const std::string& what, const std::string& advice) {
  if (discrete_model(m)) throw InputError(key + ": " + what + ", and the model \"" + m.name() + "\" has binary units; " + advice);
}

template void check_gibbs_model(const Energy<float>&, const std::string&);
template void check_gibbs_model(const Energy<double>&, const std::string&);
template void check_continuous_model(const Energy<float>&, const std::string&, const std::string&, const std::string&);
template void check_continuous_model(const Energy<double>&, const std::string&, const std::string&, const std::string&);

void register_samplers(Registry& r) {
  r.samplers.push_back({"mh", "random-walk Metropolis: Gaussian proposals, no gradients",
                        common({{"step_size", number("proposal stddev (initial value when warmup > 0)", 0.5).positive()},
                                {"target_accept", number("warm-up target acceptance", 0.234).range(0, 1).below(1)}},
                               1000),
                        [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
                          samplers::MetropolisOptions o;
                          o.step_size = c["step_size"], o.target_accept = c["target_accept"];
                          samplers::RandomWalkMetropolis<T> mh(sampler_energy(m), o);
                          return go(mh, c, s, true);
                        }});
  r.samplers.back().check_model = continuous_only("mh");
  r.samplers.back().smoke = {json::parse(R"({"chains": 256, "steps": 40})")};
  r.samplers.push_back({"langevin", "unadjusted Langevin (ULA): x <- x - (eps/2) grad E + sigma z", common(langevin_fields(0.01), 500),
                        [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
                          samplers::Langevin<T> l(sampler_energy(m), langevin_options(c));
                          return go(l, c, s, true);  // warm-up: burn-in transitions, not recorded
                        }});
  r.samplers.back().check_model = continuous_only("langevin");
  r.samplers.back().smoke = {json::parse(R"({"chains": 256, "steps": 40})")};
  r.samplers.push_back({"mala", "Metropolis-adjusted Langevin, exact for any step size",
                        common({{"step_size", number("eps (initial value when warmup > 0)", 0.05).positive()},
                                {"target_accept", number("warm-up target acceptance", 0.574).range(0, 1).below(1)}},
                               500),
                        [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
                          samplers::MalaOptions o;
                          o.step_size = c["step_size"], o.target_accept = c["target_accept"];
                          samplers::Mala<T> mala(sampler_energy(m), o);
                          return go(mala, c, s, true);
                        }});
  r.samplers.back().check_model = continuous_only("mala");
  r.samplers.back().smoke = {json::parse(R"({"chains": 256, "steps": 40})"),
                             json::parse(R"({"chains": 256, "steps": 20, "warmup": 20})")};
  r.samplers.push_back({"hmc", "Hamiltonian Monte Carlo with leapfrog steps",
                        common({{"step_size", number("eps (initial value when warmup > 0)", 0.1).positive()},
                                {"leapfrog_steps", integer("leapfrog steps per transition", 10).at_least(1)},
                                {"target_accept", number("warm-up target acceptance", 0.8).range(0, 1).below(1)},
                                {"jitter", number("relative step-size jitter", 0.0).range(0, 1).below(1)}},
                               200),
                        [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
                          samplers::HmcOptions o;
                          o.step_size = c["step_size"], o.leapfrog_steps = c["leapfrog_steps"];
                          o.target_accept = c["target_accept"], o.jitter = c["jitter"];
                          samplers::Hmc<T> h(sampler_energy(m), o);
                          return go(h, c, s, true);
                        }});
  r.samplers.back().check_model = continuous_only("hmc");
  r.samplers.back().smoke = {json::parse(R"({"chains": 256, "steps": 20, "leapfrog_steps": 5})")};
  r.samplers.push_back(
      {"tempering", "parallel tempering: MALA or random-walk moves on a geometric ladder of temperatures, even-odd swaps",
       common({{"levels", integer("temperature levels K (each chain is K replicas)", 8).at_least(2)},
               {"beta_min", number("inverse temperature of the hottest level", 0.05).positive().below(1)},
               {"move", enum_field(kLocalMoveNames, "local move", samplers::LocalMove::mala)},
               {"step_size", number("local step at beta = 1 (scaled per level)", 0.1).positive()},
               {"local_steps", integer("local moves per round", 1).at_least(1)}},
              500),
       [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
         samplers::TemperingOptions o;
         const int k = c["levels"];
         o.betas = samplers::TemperingOptions::geometric(k, c["beta_min"]);
         o.move = enum_field_value(kLocalMoveNames, c["move"], "sampler.move");
         o.step_size = c["step_size"], o.local_steps = c["local_steps"];
         samplers::ParallelTempering<T> pt(sampler_energy(m), o);
         // K replicas of each chain: row l·B + b is chain b at level l, with its own stream split off chain b's.
         const int64_t b = s.chains(), d = s.dim();
         samplers::ChainState<T> all;
         all.x = ad::Tensor<T>(ad::Shape{k * b, d});
         for (int l = 0; l < k; ++l)
           for (int64_t i = 0; i < b; ++i) {
             std::copy(s.row(i), s.row(i) + d, all.row(l * b + i));
             all.rngs.push_back(s.rngs[size_t(i)].split(uint64_t(l)));
           }
         SamplerRun run = go(pt, c, all, true, b);
         s.x = pt.level(all, 0);
         return run;
       }});
  r.samplers.back().check_model = continuous_only("tempering");
  r.samplers.back().smoke = {json::parse(R"({"chains": 128, "steps": 20, "levels": 3})"),
                             json::parse(R"({"chains": 128, "steps": 20, "levels": 3, "move": "random_walk"})")};
  // SVGD moves its particles deterministically toward a fixed configuration (samplers/svgd.hpp): a trace of them
  // over time is not a set of Markov chains around the target, and its R-hat would call the particles' spread
  // disagreement. So no trace and no ESS / R-hat: the samples are the particles after the last step.
  r.samplers.push_back(
      {"svgd", "Stein variational gradient descent: the chains are interacting particles, moved deterministically along the "
               "kernelised Stein direction (RBF kernel); O(chains^2 d) per step",
       common({{"step_size", number("eps: x <- x + eps phi(x)", 0.1).positive()},
               {"bandwidth", number("h of the kernel exp(-|x - y|^2 / h); null: median heuristic med^2 / log(chains + 1), "
                                    "recomputed every step", std::nullopt)
                                 .positive()
                                 .or_null()}},
              500, true, false),
       [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
         samplers::SvgdOptions o;
         o.step_size = c["step_size"];
         if (!c["bandwidth"].is_null()) o.bandwidth = c["bandwidth"];
         samplers::Svgd<T> svgd(sampler_energy(m), o);
         if (c["warmup"].get<int64_t>() > 0) svgd.warmup(s, c["warmup"].get<int64_t>());
         SamplerRun out;
         out.stats = svgd.run(s, c["steps"].get<int64_t>());
         return out;
       }});
  r.samplers.back().check_model = continuous_only("svgd");
  r.samplers.back().smoke = {json::parse(R"({"chains": 128, "steps": 20})"),
                             json::parse(R"({"chains": 64, "steps": 10, "warmup": 5, "bandwidth": 0.5})")};
  r.samplers.push_back(
      {"gibbs", "Gibbs sampling: block (h | v, v | h) for RBMs, single-site systematic scan for Boltzmann machines", common({}, 1000),
       [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
         std::unique_ptr<samplers::Sampler<T>> g = gibbs_sampler<T>()(m);
         return go(*g, c, s, false);
       },
       true,
       [](auto, const auto& m) { check_gibbs_model(m, "sampler.type"); }});
  r.samplers.back().smoke = {json::parse(R"({"chains": 256, "steps": 20})"),
                             json::parse(R"({"chains": 256, "steps": 20, "init": "data", "init_sd": 0})")};
  r.samplers.push_back(
      {"annealed_langevin", "annealed Langevin over a geometric noise ladder (NCSN); needs a noise_conditional model",
       common({{"sigma_max", number("largest noise level", 1.0).positive()},
               {"sigma_min", number("smallest noise level", 0.01).positive()},
               {"levels", integer("noise levels", 10).at_least(1)},
               {"steps_per_level", integer("Langevin steps per level", 100).at_least(1)},
               {"step_size", number("eps: the step at the smallest level (alpha_i = eps (sigma_i / sigma_L)^2)", 2e-5).positive()},
               {"denoise", boolean("final Tweedie denoising step x - sigma_L^2 grad E(x; sigma_L)", true)},
               {"clamp", array_of("clamp the chains to [lo, hi] after every step (e.g. [0, 1] for images; null: no clamp)",
                                  number("", std::nullopt), std::nullopt)
                             .items_between(2, 2)
                             .or_null()}},
              0, false),
       [](auto tag, const json& c, const auto& m, auto& s) {
         using T = typename decltype(tag)::type;
         const auto& nc = dynamic_cast<const NoiseConditionalEnergy<T>&>(m);  // check_model made sure
         if (!(c["sigma_min"].get<double>() < c["sigma_max"].get<double>()))
           throw InputError("sampler.sigma_min: expected a number below sampler.sigma_max");
         samplers::AnnealedLangevinOptions o;
         o.sigmas = samplers::AnnealedLangevinOptions::geometric(c["sigma_max"], c["sigma_min"], c["levels"]);
         o.step_size = c["step_size"], o.steps_per_level = c["steps_per_level"], o.denoise = c["denoise"];
         if (!c["clamp"].is_null()) {
           o.clamp = true, o.lo = c["clamp"][0], o.hi = c["clamp"][1];
           if (!(o.lo < o.hi)) throw InputError("sampler.clamp: expected [lo, hi] with lo < hi");
         }
         samplers::AnnealedLangevin<T> al(sampler_energy(nc), o);
         SamplerRun out;
         const int64_t rows = std::min<int64_t>(s.chains(), c["trace_chains"].get<int64_t>());
         // Diagnostics over the last level only: earlier levels target other (noisier) laws.
         const int64_t last_level_start = (c["levels"].get<int64_t>() - 1) * c["steps_per_level"].get<int64_t>();
         const int64_t thin = std::max<int64_t>(1, c["steps_per_level"].get<int64_t>() / 100);
         samplers::Trace<T> trace(0, rows, 1);
         out.stats = al.run(s, [&](int64_t step, const samplers::ChainState<T>& st) {
           if (step >= last_level_start && (step - last_level_start) % thin == 0) trace.record(st);
         });
         if (rows >= 2 && trace.draws() >= 4) out.diagnostics = trace.summary();
         return out;
       },
       false,
       [](auto tag, const auto& m) {
         if (!dynamic_cast<const NoiseConditionalEnergy<typename decltype(tag)::type>*>(&m))
           throw InputError("sampler.type: annealed_langevin needs model.type \"noise_conditional\", got \"" + m.name() + "\"");
       }});
  r.samplers.back().smoke = {
      json::parse(R"({"chains": 128, "sigma_max": 1.0, "sigma_min": 0.1, "levels": 3, "steps_per_level": 10, "step_size": 0.001})")};
}

}  // namespace ebm::experiment
