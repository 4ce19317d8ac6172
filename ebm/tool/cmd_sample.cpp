// `ebm sample --run DIR`: draws new samples from a trained run, with its sampler or another one.
#include <cstdio>

#include <ebm/data/npy.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/train.hpp>
#include <ebm/experiment/sample.hpp>

#include "cli.hpp"

namespace cli {

namespace fs = std::filesystem;
using namespace ebm::experiment;

namespace {

// Samples in the run's dtype (its config's; the checkpoint must hold the same), written as .npy of that dtype.
template <class T>
int sample(const Args& a, const fs::path& dir) {
  Session<T> s = open_run<T>(dir);
  json sampler = s.cfg["sampler"];
  if (a.has("--sampler") && a.get("--sampler") != sampler["type"].get<std::string>()) sampler = json{{"type", a.get("--sampler")}};
  if (a.has("--n")) sampler["chains"] = a.get_int("--n", 1);
  if (a.has("--steps")) sampler["steps"] = a.get_int("--steps", 1);
  // Re-validated through the experiment schema so a bad sampler name gets the usual message.
  json wrapped = s.cfg;
  wrapped["sampler"] = sampler;
  json resolved = resolve_config(wrapped.dump(), "--sampler", {}, dir);
  const SamplerEntry& entry = registry().sampler(resolved["sampler"]["type"]);
  if (entry.check_model) entry.check_model.template get<T>()(*s.model);  // a sampler that cannot serve the model is bad input (exit 2)
  json stats;
  const fs::path out = a.has("--out") ? fs::path(a.get("--out"))
                                      : dir / ("samples_" + resolved["sampler"]["type"].get<std::string>() + "_" +
                                               std::to_string(resolved["sampler"]["chains"].get<int64_t>()) + ".npy");
  const ad::Tensor<T> x = in_stage("sampling", [&] {
    ad::Tensor<T> samples = draw_samples(s, resolved["sampler"], stats);
    ebm::data::write_npy(out, samples);
    return samples;
  });
  std::printf("%s\n", json{{"samples", out.string()}, {"shape", {x.rows(), x.cols()}}, {"sampler", stats}}.dump(2).c_str());
  return kOk;
}

}  // namespace

int cmd_sample(int argc, char** argv) {
  Args a = parse(argc, argv, 2, {{"--run", true}, {"--n", true}, {"--sampler", true}, {"--steps", true}, {"--out", true}, {"--help", false}});
  if (a.has("--help")) {
    std::fputs("usage: ebm sample --run DIR [--n N] [--sampler NAME] [--steps N] [--out FILE.npy]\n"
               "Draws N samples (default: the config's sampler.chains) from the run's latest checkpoint; another\n"
               "--sampler (mh, langevin, mala, hmc, tempering, svgd, gibbs, annealed_langevin) starts from that sampler's defaults. Writes DIR/samples_<sampler>_<N>.npy unless --out.\n",
               stdout);
    return kOk;
  }
  const fs::path dir = run_dir_arg(a);
  return with_dtype(run_dtype(dir), [&](auto tag) { return sample<typename decltype(tag)::type>(a, dir); });
}

}  // namespace cli
