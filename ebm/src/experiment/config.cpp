#include "ebm/experiment/config.hpp"

#include <fstream>
#include <sstream>

#include "ebm/eval/ais.hpp"
#include "ebm/experiment/registry.hpp"
#include "enum_field.hpp"
#include "model_init.hpp"

namespace ebm::experiment {

namespace fs = std::filesystem;

namespace {

std::string join_lines(const std::string& file, const std::vector<std::string>& errors) {
  std::string s;
  for (const std::string& e : errors) s += (s.empty() ? "" : "\n") + file + ": " + e;
  return s;
}

template <class E>
std::vector<Field> variants(const std::vector<E>& entries) {
  std::vector<Field> v;
  for (const E& e : entries) {
    Node n = object(e.description, e.params);
    v.push_back({e.name, std::move(n)});
  }
  return v;
}

// Every variant with one more (common) field.
std::vector<Field> with_field(std::vector<Field> variants, const Field& f) {
  for (Field& v : variants) v.node.fields.push_back(f);
  return variants;
}

// evaluation.ais.transition: "auto" (chosen by the model), the continuous kernels, and "gibbs" for binary models.
std::vector<std::string> ais_transition_choices() {
  std::vector<std::string> c = {"auto"};
  for (std::string& n : enum_names(kAisTransitionNames)) c.push_back(std::move(n));
  c.push_back("gibbs");
  return c;
}

// evaluation.restore: denoising and inpainting demos on test images (ebm/eval/restore.hpp).
Node restore_schema() {
  return object(
      "denoising and inpainting of held-out images with a noise_conditional model (ebm/eval/restore.hpp): PSNR "
      "before/after in summary.json, denoise.png and inpaint.png (rows: clean | corrupted | restored)",
      {{"enabled", boolean("run the demos after training (image data and a noise_conditional model)", false)},
       {"images", integer("images (the first N of the held-out data, evaluation.held_out)", 16).range(1, 1000)},
       {"noise_sd", number("denoising: sd of the additive Gaussian noise on [0, 1] pixels", 0.3).positive()},
       {"denoise_levels", integer("denoising by annealed Langevin (posterior given the noisy image): levels below noise_sd down to sigma_min", 5).at_least(1)},
       {"mask", enumeration("inpainting: the missing region", {"center", "left_half", "right_half", "top_half", "bottom_half"}, "center")},
       {"fill", number("inpainting: the value of the missing pixels before restoration", 0.5)},
       {"sigma_max", number("inpainting: the first level of the annealed Langevin ladder", 1.0).positive()},
       {"sigma_min", number("the last level of both ladders", 0.01).positive()},
       {"levels", integer("inpainting: levels of the ladder", 10).at_least(1)},
       {"steps_per_level", integer("Langevin steps per level", 50).at_least(1)},
       {"step_size", number("eps: the step at sigma_min (alpha_i = eps (sigma_i / sigma_min)^2)", 2e-5).positive()},
       {"noise_observed", boolean("inpainting: the energy sees the observed pixels noised to the current level (NCSN)", true)}});
}

Node build_schema() {
  const Registry& r = registry();
  std::vector<Field> top = {
      {"seed", integer("seed of every random stream (data, initialisation, training, sampling)", 0).non_negative()},
      {"dtype", enumeration("floating-point type of the model, objective, optimiser and samplers in training, sampling and "
                            "evaluation (the data are read in float64 and converted); exact log Z, AIS and the pseudo-likelihood "
                            "always compute in float64. The checkpoint stores this dtype, and resume, "
                            "sample and eval refuse a checkpoint of another",
                            {"float32", "float64"}, "float32")},
      {"data", one_of("the training data", "type", variants(r.data), "two_moons")},
      {"model", one_of("the energy model E(x)", "type", with_field(variants(r.models), {"init", model_init_schema()}), "mlp")},
      {"objective", one_of("the training objective", "type", variants(r.objectives), "ssm")},
      {"sampler", one_of("the sampler drawing from the trained model", "type", variants(r.samplers), "langevin")},
      {"optimiser", one_of("the optimiser and its learning-rate schedule", "type", variants(r.optimizers), "adam")},
      {"training", object("the training loop",
                          {{"steps", integer("optimiser steps", 2000).non_negative()},
                           {"batch_size", integer("rows per step", 256).at_least(1)},
                           {"batches", enumeration("how rows are drawn: uniformly with replacement; in epochs (each epoch a "
                                                   "fresh permutation of the data, so every row once per epoch); or in_order "
                                                   "(epochs in the data's own order, as scikit-learn's BernoulliRBM.fit)",
                                                   {"with_replacement", "epochs", "in_order"}, "with_replacement")},
                           {"shards", integer("row shards of a batch (Note [Sharded training step]): each trains on its own tape "
                                              "and random stream, with its share of the objective's negatives and chains, and "
                                              "their gradients add in shard order; the numbers depend on this, never on the "
                                              "thread or process count. 1 (the default) keeps each product whole; a shard repacks "
                                              "every weight matrix it multiplies, so more shards pay where the rows outweigh the "
                                              "weights (many chains, small layers) or where processes share the work",
                                              1)
                                          .at_least(1)},
                           {"log_every", integer("steps between metrics.jsonl lines", 50).at_least(1)},
                           {"checkpoint_every", integer("steps between checkpoints (the last step always writes one)", 500).at_least(1)},
                           {"grad_clip", number("clip the global gradient norm to this (0: off)", 0.0).non_negative()},
                           {"max_retries", integer("on NaN/Inf: retries of the step with a smaller learning rate (0: stop)", 2).non_negative()},
                           {"retry_lr_factor", number("learning-rate factor per retry", 0.5).positive().below(1)}})},
      {"evaluation", object("evaluation after training",
                            {{"log_z", boolean("exact log Z where the state space allows it: enumeration for Boltzmann machines of at most 25 "
                                               "units and Bernoulli RBMs with a layer of at most 25 units, quadrature for "
                                               "continuous models in 1 or 2 dimensions", true)},
                             {"box", array_of("quadrature box and plot range [lo, hi] per axis (null: data range + 25%)",
                                              number("", std::nullopt), std::nullopt)
                                         .items_between(2, 2)
                                         .or_null()},
                             {"quadrature_panels", integer("panels per axis", 32).at_least(1)},
                             {"quadrature_order", integer("Gauss-Legendre nodes per panel", 16).range(1, 64)},
                             {"ais", object("log Z by annealed importance sampling, any dimension (ebm/eval/ais.hpp)",
                                            {{"enabled", boolean("run AIS after training", false)},
                                             {"chains", integer("annealing chains", 100).at_least(1)},
                                             {"steps", integer("intermediate distributions K", 1000).at_least(1)},
                                             {"schedule", enum_field(kBetaScheduleNames, "spacing of the inverse temperatures", BetaSchedule::sigmoid)},
                                             {"transition", enumeration("kernel at each intermediate: \"gibbs\" for binary models (Bernoulli RBMs: "
                                                                        "block Gibbs; Boltzmann machines: single-site Gibbs), \"mala\" or "
                                                                        "\"hmc\" for continuous ones; \"auto\" picks gibbs or mala by the model",
                                                                        ais_transition_choices(), "auto")},
                                             {"transitions", integer("MCMC steps (Gibbs sweeps) per intermediate", 1).at_least(1)},
                                             {"step_size", number("MALA/HMC step (the start of the pilot's adaptation)", 0.1).positive()},
                                             {"adapt_step", boolean("tune the step per intermediate on a pilot anneal", true)},
                                             {"leapfrog_steps", integer("HMC leapfrog steps", 5).at_least(1)},
                                             {"base_std_scale", number("Gaussian base: the data's per-axis mean and standard deviation "
                                                                       "times this", 1.5).positive()},
                                             {"reverse", enumeration("also run reverse AIS, from samples of the model back to the base, for an "
                                                                     "upper bound on log Z (ais.hpp, Note [Reverse AIS]): \"exact\" from exact "
                                                                     "samples (Bernoulli RBMs with a layer of at most 20 units, by enumeration; "
                                                                     "Gaussian models), a guaranteed stochastic bound; \"data\" from held-out data "
                                                                     "(evaluation.held_out) in their place, an approximation that is not a bound",
                                                                     {"none", "exact", "data"}, "none")}})},
                             {"held_out", enumeration("the held-out data of every metric (likelihoods, pseudo-likelihood, MMD, KSD, "
                                                      "accuracy, energy histogram, restoration, reverse AIS from data): \"test\" the data "
                                                      "source's test split (all of it; training on its train split); \"fresh\" a new "
                                                      "draw of a random source (its own stream); \"none\" the training data, labelled "
                                                      "so; \"auto\": test when the source has one, else fresh when it is random, else none",
                                                      {"auto", "test", "fresh", "none"}, "auto")},
                             {"mmd", boolean("MMD² between the samples and the held-out data", false)},
                             {"mmd_points", integer("at most this many samples and data points for MMD", 1000).at_least(2)},
                             {"ksd", object("kernel Stein discrepancy against the model (ebm/eval/ksd.hpp); it needs only the model's "
                                            "score, so it applies to every continuous model",
                                            {{"enabled", boolean("report KSD² of the samples against the model (their quality as samples "
                                                                 "of it) and of the held-out data against the model (its fit), each "
                                                                 "with a bootstrap test of the hypothesis that the points come from "
                                                                 "the model", false)},
                                             {"points", integer("at most this many samples and held-out points (the first ones)", 1000).at_least(2)},
                                             {"kernel", enumeration("\"imq\": (1 + ‖x − y‖²)^(−1/2) (Gorham & Mackey 2017); \"rbf\": "
                                                                    "exp(−‖x − y‖²/(2h²)), h the median pairwise distance",
                                                                    {"imq", "rbf"}, "imq")},
                                             {"bootstrap", enumeration("the test's null distribution: \"wild\" (Rademacher weights, "
                                                                       "Chwialkowski et al. 2016) or \"multinomial\" (Liu et al. 2016); "
                                                                       "both take the points as independent (one per chain)",
                                                                       {"wild", "multinomial"}, "wild")},
                                             {"draws", integer("bootstrap draws (0: no test)", 1000).non_negative()}})},
                             {"pseudo_likelihood", object("pseudo-likelihood of 0/1 data, as scikit-learn's BernoulliRBM.score_samples "
                                                          "computes it (ebm/eval/pseudo_likelihood.hpp)",
                                                          {{"enabled", boolean("report it (training and held-out data)", false)},
                                                           {"all_bits_points", integer("rows for the exact all-bits sum (Bernoulli RBMs; "
                                                                                       "0: skip it)", 1000).non_negative()}})},
                             {"restore", restore_schema()}})},
      {"output", object("what is written to the run directory",
                        {{"dir", string("run directory (null: runs/<experiment file name>); --out overrides", std::nullopt).or_null()},
                         {"plots", boolean("write PNG pictures", true)},
                         {"plot_size", integer("heat-map width and height in pixels", 480).range(64, 4096)}})}};
  Node root = object("An ebm experiment: `ebm run FILE.json`", std::move(top));
  return root;
}

// Older files named the held-out data `evaluation.held_out_split` ("none" | "train" | "test", used only by the
// likelihoods). It is translated to `evaluation.held_out` before validation, so those files and the config.json of
// older run directories still load; "train" (the whole train split) has no counterpart and is refused.
void translate_held_out_split(json& in, std::vector<std::string>& errors) {
  if (!in.contains("evaluation") || !in["evaluation"].is_object() || !in["evaluation"].contains("held_out_split")) return;
  json& ev = in["evaluation"];
  const json old = ev["held_out_split"];
  ev.erase("held_out_split");
  const std::string key = "evaluation.held_out_split";
  if (old == "none") return;  // the training data only was never a choice for the other metrics: keep "auto"
  if (old == "test") {
    if (ev.contains("held_out") && ev["held_out"] != "test")
      errors.push_back(key + ": \"test\" contradicts evaluation.held_out " + brief(ev["held_out"]) + " (held_out_split is its old name; keep one)");
    else
      ev["held_out"] = "test";
    return;
  }
  errors.push_back(key + ": replaced by evaluation.held_out (one of \"auto\", \"test\", \"fresh\", \"none\"), got " + brief(old));
}

// evaluation.held_out against the data source: "test" needs a source with a test split that trains on its train
// split, "fresh" a random source.
void check_held_out(const json& cfg, std::vector<std::string>& errors) {
  const std::string h = cfg["evaluation"]["held_out"];
  const json& data = cfg["data"];
  const DataSource& src = registry().data_source(data["type"]);
  if (h == "test" && !(data.contains("split") && data["split"] == "train"))
    errors.push_back("evaluation.held_out: \"test\" needs a data source with a test split, trained on its train split (data.type " +
                     data["type"].dump() + (data.contains("split") ? ", data.split " + data["split"].dump() : std::string()) + ")");
  if (h == "fresh" && src.fixed)
    errors.push_back("evaluation.held_out: \"fresh\" needs a random data source (a toy set or a mixture), not data.type " +
                     data["type"].dump() + ", whose data are fixed");
}

}  // namespace

ConfigError::ConfigError(std::string file, std::vector<std::string> errors)
    : std::runtime_error(join_lines(file, errors)), errors_(std::move(errors)) {}

const Node& experiment_schema() {
  static const Node schema = build_schema();
  return schema;
}

json resolve_config(const std::string& text, const std::string& file, const std::vector<std::string>& sets,
                    const fs::path& base_dir) {
  json in;
  try {
    in = parse_limited(text);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(file, {e.what()});
  }
  if (!in.is_object()) throw ConfigError(file, {"expected a JSON object at the top level, got " + brief(in)});
  std::vector<std::string> errors;
  for (const std::string& s : sets) {
    try {
      apply_set(in, s);
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }
  translate_held_out_split(in, errors);
  json out = validate(in, experiment_schema(), errors);
  if (!errors.empty()) throw ConfigError(file, errors);

  // Relative data paths are relative to the experiment file, then made absolute for the resolved config.
  json& data = out["data"];
  for (const char* key : {"path", "dir"})
    if (data.contains(key) && data[key].is_string()) {
      fs::path p = data[key].get<std::string>();
      if (p.is_relative()) data[key] = (base_dir / p).lexically_normal().string();
    }
  if (out["model"]["init"].is_object())  // model.init files, likewise
    for (auto& [name, value] : out["model"]["init"].items())
      if (value.is_string() && fs::path(value.get<std::string>()).is_relative())
        value = (base_dir / value.get<std::string>()).lexically_normal().string();
  const DataSource& src = registry().data_source(data["type"]);
  if (src.check) src.check(data, errors);
  check_held_out(out, errors);
  if (out["output"]["dir"].is_null()) out["output"]["dir"] = (fs::path("runs") / fs::path(file).stem()).string();
  if (!errors.empty()) throw ConfigError(file, errors);
  return out;
}

json load_config(const fs::path& file, const std::vector<std::string>& sets) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw ConfigError(file.string(), {"is a directory, expected an experiment JSON file"});
  if (!in) throw ConfigError(file.string(), {"cannot open the experiment file (does it exist?)"});
  if (const auto size = fs::file_size(file, ec); !ec && size > kMaxConfigBytes)  // before reading it all
    throw ConfigError(file.string(), {"is " + std::to_string(size) + " bytes; experiment files are limited to " +
                                      std::to_string(kMaxConfigBytes >> 20) + " MiB"});
  std::stringstream ss;
  ss << in.rdbuf();
  fs::path base = file.parent_path();
  if (base.empty()) base = ".";
  return resolve_config(ss.str(), file.string(), sets, fs::absolute(base));
}

}  // namespace ebm::experiment
