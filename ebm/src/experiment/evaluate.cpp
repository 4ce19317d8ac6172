// After training: drawing samples, evaluation numbers and pictures.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstdlib>
#include <limits>

#include <samplers/annealed.hpp>
#include <samplers/gibbs.hpp>
#include <samplers/langevin.hpp>

#include "ebm/eval/ksd.hpp"
#include "ebm/eval/mmd.hpp"
#include "ebm/eval/partition.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/rbm.hpp"
#include "ebm/models/classifier.hpp"
#include "ebm/eval/restore.hpp"
#include "ebm/models/sampling.hpp"
#include "ebm/experiment/rundir.hpp"
#include "ebm/experiment/runner.hpp"
#include "ebm/plot/plot.hpp"
#include "eval_likelihood.hpp"

namespace ebm::experiment {

namespace fs = std::filesystem;

std::vector<std::pair<double, double>> plot_box(const json& cfg, const Dataset& data) {
  const json& box = cfg["evaluation"]["box"];
  const ad::Tensor<double>& x = data.x;
  std::vector<std::pair<double, double>> out;
  for (int64_t k = 0; k < x.cols(); ++k) {
    if (!box.is_null()) {
      out.emplace_back(box[0].get<double>(), box[1].get<double>());
      continue;
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t i = 0; i < x.rows(); ++i) lo = std::min(lo, x.at(i, k)), hi = std::max(hi, x.at(i, k));
    double pad = 0.25 * std::max(hi - lo, 1e-3);
    out.emplace_back(lo - pad, hi + pad);
  }
  return out;
}

// Note [Float64 evaluation]: log Z by enumeration or quadrature, AIS (its transitions and log-weights), the exact
// samples of reverse AIS and the pseudo-likelihood run on the model's parameters converted to float64
// (model_in_float64), whatever the run's dtype. log Z sums exp(-E) over up to 2^25 states or quadrature nodes, AIS
// accumulates log-weights over hundreds of intermediate distributions, and the pseudo-likelihood subtracts energies
// that can be hundreds of times larger than their difference (an RBM on images): float32's 7 digits would put errors
// into these numbers of the order of their standard errors or more. Converting float to double is exact, so they are
// the float32 model's numbers without float32 rounding. Everything else (sampling, the restoration demos, energies,
// accuracy, plots) runs the model in the run's dtype; means and variances of its numbers are accumulated in double.
template <class T>
std::shared_ptr<const Energy<double>> model_in_float64(const Session<T>& s) {
  if constexpr (std::is_same_v<T, double>) {
    return std::shared_ptr<const Energy<double>>(std::shared_ptr<void>(), s.model.get());  // not owned: the session's own
  } else {
    ad::Rng unused(0, 0);  // the initial values are overwritten below
    const ModelEntry& entry = registry().model(s.cfg["model"]["type"]);
    std::unique_ptr<Energy<double>> m = entry.make.get<double>()(s.cfg["model"], s.data, unused);
    auto& to = m->params();
    const auto& from = s.model->params();
    if (to.size() != from.size()) throw std::logic_error("model_in_float64: the float64 model has other parameters");
    for (size_t i = 0; i < to.size(); ++i) {
      if (to[i].value.shape() != from[i].value.shape())
        throw std::logic_error("model_in_float64: parameter " + to[i].name + " differs in shape");
      std::copy(from[i].value.begin(), from[i].value.end(), to[i].value.begin());
    }
    return m;
  }
}

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

namespace {

template <class T>
double classification_accuracy(const ClassifierEnergy<T>& clf, const Dataset& d) {
  const ad::Tensor<T> p = clf.class_probabilities(in_dtype<T>(d.x));
  int64_t right = 0;
  for (int64_t i = 0; i < p.rows(); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < p.cols(); ++k)
      if (p.at(i, k) > p.at(i, best)) best = k;
    right += best == d.labels[size_t(i)];
  }
  return p.rows() ? double(right) / double(p.rows()) : 0.0;
}

// Class-conditional samples of a classifier energy, E(x, y) = −f(x)[y]: `per_class` Langevin chains per class from
// uniform noise on the data's range, with the experiment's Langevin settings when its sampler is Langevin.
// Rows are ordered class by class.
template <class T>
ad::Tensor<T> class_conditional_samples(Session<T>& s, const ClassifierEnergy<T>& clf, int64_t per_class) {
  const int64_t k = clf.classes(), d = s.data.x.cols(), n = k * per_class;
  double lo = *std::min_element(s.data.x.begin(), s.data.x.end()), hi = *std::max_element(s.data.x.begin(), s.data.x.end());
  samplers::ChainState<T> chains(n, d, ad::Rng(s.cfg["seed"].template get<uint64_t>(), kSampleStream).split(1).next_u64());
  chains.fill_uniform(lo, hi);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < k; ++c) labels.insert(labels.end(), size_t(per_class), c);
  samplers::LangevinOptions o;
  int64_t steps = 200;
  const json& sc = s.cfg["sampler"];
  if (sc["type"] == "langevin") {
    o.step_size = sc["step_size"], steps = sc["steps"];
    if (!sc["noise_scale"].is_null()) o.noise_scale = sc["noise_scale"];
  }
  o.clamp = true, o.lo = lo, o.hi = hi;
  samplers::Langevin<T> l(
      [&clf, &labels](ad::Tape<T>& tape, const ad::Var<T>& x) {
        return clf.energy_xy(bind_params(tape, clf.params(), Bind::constant), x, labels);
      },
      o);
  l.run(chains, steps);
  return chains.x;
}

// evaluation.mmd: MMD² (Gaussian kernels at 0.5, 1 and 2 × the median distance) between the samples and data
// the model was not trained on (Session::held_out).
template <class T>
json mmd_report(Session<T>& s, const ad::Tensor<T>& samples_t) {
  const ad::Tensor<double> samples = samples_t.template cast<double>();  // MMD² is computed in double (mmd.hpp)
  const int64_t most = s.cfg["evaluation"]["mmd_points"];
  const ad::Tensor<double>& ref = s.held_out().x;
  const std::string reference = s.held_out_is_training_data() ? "training_data" : "held_out";
  auto first = [most](const ad::Tensor<double>& t) {
    return ad::Tensor<double>(ad::Shape{std::min(t.rows(), most), t.cols()}, t.data());
  };
  MmdOptions o;
  o.scales = {0.5, 1.0, 2.0};
  const ad::Tensor<double> a = first(samples), b = first(ref);
  const MmdResult r = mmd2_unbiased(a, b, o);
  return {{"mmd2", r.mmd2}, {"bandwidths", r.bandwidths}, {"samples", a.rows()}, {"reference", reference}, {"reference_points", b.rows()}};
}

// evaluation.ksd: KSD² against the model, of the samples (does the sampler draw from the model?) and of the
// held-out data (does the model fit the data?), each with a bootstrap p-value. The scores come from the float64
// model (Note [Float64 evaluation]): the Stein matrix sums n² products of scores, and the U-statistic is a small
// difference of such sums under a good fit.
template <class T>
json ksd_report(Session<T>& s, const ad::Tensor<T>& samples) {
  const json& c = s.cfg["evaluation"]["ksd"];
  const int64_t most = c["points"];
  const std::shared_ptr<const Energy<double>> model = model_in_float64(s);
  KsdOptions ko;
  ko.kernel = c["kernel"] == "rbf" ? KsdKernel::rbf : KsdKernel::imq;
  KsdTestOptions to;
  to.bootstrap = c["bootstrap"] == "multinomial" ? KsdBootstrap::multinomial : KsdBootstrap::wild;
  to.draws = c["draws"];
  to.seed = ad::Rng(s.cfg["seed"].template get<uint64_t>(), kKsdStream).next_u64();
  auto one = [&](const ad::Tensor<double>& all) {
    const ad::Tensor<double> x(ad::Shape{std::min(all.rows(), most), all.cols()}, all.data());
    const SteinMatrix m = stein_matrix(x, model_scores(*model, x), ko);
    const KsdStatistics st = ksd_statistics(m.u);
    json j = {{"points", x.rows()}, {"ksd2_u", st.u}, {"ksd2_u_std_error", st.u_std_error}, {"ksd2_v", st.v}};
    if (ko.kernel == KsdKernel::rbf) j["bandwidth"] = m.bandwidth;
    if (to.draws > 0) {
      const KsdTestResult t = ksd_test(m.u, to);
      j["statistic"] = t.statistic;
      j["p_value"] = t.p_value;
    }
    return j;
  };
  json out = {{"kernel", c["kernel"]}, {"bootstrap", c["bootstrap"]}, {"draws", c["draws"]}};
  if (samples.rows() >= 2) out["samples"] = one(samples.template cast<double>());
  out["held_out"] = one(s.held_out().x);
  out["held_out"]["reference"] = s.held_out_is_training_data() ? "training_data" : "held_out";
  return out;
}

// evaluation.restore: denoising and inpainting of the first `images` held-out images with the learned
// E(x; σ) (ebm/eval/restore.hpp). The numbers go to the report; the grids (clean | corrupted | restored rows)
// to s.figures for write_plots.

template <class T>
json restore_report(Session<T>& s) {
  const json& c = s.cfg["evaluation"]["restore"];
  const auto* nc = dynamic_cast<const NoiseConditionalEnergy<T>*>(s.model.get());
  if (!nc || s.data.image_rows <= 0) throw std::logic_error("check_evaluation lets only noise-conditional image models through");
  const ad::Tensor<double>& h = s.held_out().x;
  const int64_t n = std::min(h.rows(), c["images"].get<int64_t>()), d = h.cols();
  const ad::Tensor<double> x(ad::Shape{n, d}, h.data());  // the first n held-out images
  ad::Rng rng(s.cfg["seed"].template get<uint64_t>(), kRestoreStream);
  const int rows = int(s.data.image_rows), cols = int(s.data.image_cols);
  // The model and its chains in the run's dtype; the images, the noise and the PSNRs in double.
  const samplers::NoiseConditionedEnergy<T> energy = sampler_energy(*nc);
  const double sd = c["noise_sd"], sigma_min = c["sigma_min"];
  RefineOptions ro;
  ro.step_size = c["step_size"], ro.steps_per_level = c["steps_per_level"];

  // Denoising: y = x + sd z; Tweedie at σ = sd, and annealed Langevin sampling of the posterior given y.
  if (!(sd > sigma_min)) throw std::invalid_argument("noise_sd must exceed sigma_min");
  const ad::Tensor<double> y = add_gaussian_noise(x, sd, rng.next_u64());
  ad::Tensor<double> y_clamped = y;
  for (double& v : y_clamped) v = std::clamp(v, 0.0, 1.0);
  const ad::Tensor<double> tweedie = tweedie_denoise(energy, in_dtype<T>(y), sd).template cast<double>();
  // Posterior sampling given y: levels strictly below noise_sd (geometric from it, itself left out).
  ro.sigmas = samplers::AnnealedLangevinOptions::geometric(sd, sigma_min, c["denoise_levels"].get<int>() + 1);
  ro.sigmas.erase(ro.sigmas.begin());
  ro.seed = rng.next_u64(), ro.observation_sd = sd;
  const ad::Tensor<double> langevin = refine_annealed(energy, in_dtype<T>(y), ro).template cast<double>();
  ro.observation_sd = 0;
  int64_t improved = 0;
  for (int64_t r = 0; r < n; ++r) {
    const ad::Tensor<double> xr(ad::Shape{1, d}, x.data() + r * d), yr(ad::Shape{1, d}, y_clamped.data() + r * d),
        tr(ad::Shape{1, d}, tweedie.data() + r * d);
    improved += psnr(xr, tr) > psnr(xr, yr);
  }
  const double p_noisy = psnr(x, y), p_clamped = psnr(x, y_clamped), p_tweedie = psnr(x, tweedie), p_langevin = psnr(x, langevin);
  json den = {{"noise_sd", sd},
              {"psnr_noisy", p_noisy},
              {"psnr_noisy_clamped", p_clamped},
              {"psnr_tweedie", p_tweedie},
              {"psnr_langevin", p_langevin},
              {"gain_db_tweedie", p_tweedie - p_clamped},
              {"gain_db_langevin", p_langevin - p_clamped},
              {"images_improved_tweedie", improved},
              {"langevin_sigmas", ro.sigmas}};

  // Inpainting: the masked pixels set to `fill`, then annealed Langevin moving only them.
  const ad::Tensor<double> mask = image_mask(c["mask"], rows, cols);
  const ad::Tensor<double> x0 = apply_mask(x, mask, c["fill"]);
  ro.sigmas = samplers::AnnealedLangevinOptions::geometric(c["sigma_max"], sigma_min, c["levels"]);
  ro.noise_observed = c["noise_observed"], ro.seed = rng.next_u64();
  const ad::Tensor<double> inpainted = refine_annealed(energy, in_dtype<T>(x0), ro, &mask).template cast<double>();
  double missing = 0;
  for (double v : mask) missing += v;
  json inp = {{"mask", c["mask"]},
              {"missing_pixels", missing},
              {"psnr_masked_before", psnr_masked(x, x0, mask)},
              {"psnr_masked_after", psnr_masked(x, inpainted, mask)},
              {"psnr_before", psnr(x, x0)},
              {"psnr_after", psnr(x, inpainted)},
              {"sigmas", ro.sigmas}};

  // At most 16 images per grid row; rows of the figure: clean, corrupted, restored (two for denoising).
  const int64_t shown = std::min<int64_t>(n, 16);
  auto stack = [&](std::initializer_list<const ad::Tensor<double>*> parts) {
    ad::Tensor<double> t(ad::Shape{shown * int64_t(parts.size()), d});
    int64_t at = 0;
    for (const auto* p : parts) std::copy(p->data(), p->data() + shown * d, t.data() + (at++) * shown * d);
    return t;
  };
  std::erase_if(s.figures, [](const typename Session<T>::ImageFigure& f) { return f.file == "denoise.png" || f.file == "inpaint.png"; });
  s.figures.push_back({"denoise.png", stack({&x, &y_clamped, &tweedie, &langevin}), int(shown)});
  s.figures.push_back({"inpaint.png", stack({&x, &x0, &inpainted}), int(shown)});
  return {{"images", n}, {"held_out", s.held_out_source()}, {"denoise", den}, {"inpaint", inp},
          {"figures", {{"denoise.png", "rows: clean | noisy (clamped for display) | Tweedie | annealed Langevin"},
                       {"inpaint.png", "rows: clean | masked | inpainted"}}}};
}

}  // namespace

void fail_point(const std::string& stage) {
  if (const char* e = std::getenv("EBM_TEST_FAIL_STAGE"); e && stage == e) throw std::runtime_error("injected failure");
}

template <class T>
json evaluate_model(Session<T>& s, const ad::Tensor<T>& samples) {
  // Note [No partial success]: every number below either is computed or stops the run with its stage named
  // (in_stage); none is replaced by an error message inside summary.json, which would make a failed evaluation
  // look complete. The trained parameters are already in the checkpoint, so `--resume` repeats only what failed.
  json out = json::object();
  const ModelEntry& m = registry().model(s.cfg["model"]["type"]);
  const json& ev = s.cfg["evaluation"];
  if (m.describe) out["parameters"] = in_stage("evaluation.parameters", [&] { return m.describe.template get<T>()(*s.model); });
  const ObjectiveEntry& o = registry().objective(s.cfg["objective"]["type"]);
  if (o.describe)
    out["objective"] = in_stage("evaluation.objective", [&] { return o.describe.template get<T>()(*s.shards, *s.model, s.data); });
  // The held-out data every metric below uses (evaluation.held_out).
  out["held_out"] = in_stage("evaluation.held_out", [&] {
    return json{{"source", s.held_out_source()}, {"points", s.held_out().x.rows()}};
  });
  if (const auto* clf = dynamic_cast<const ClassifierEnergy<T>*>(s.model.get())) {
    out["accuracy"] = in_stage("evaluation.accuracy", [&] {
      // Classification accuracy of argmax p(y|x), on the training data and on held-out data.
      json acc = {{"train", classification_accuracy(*clf, s.data)}};
      if (!s.held_out_is_training_data() && !s.held_out().labels.empty()) acc["held_out"] = classification_accuracy(*clf, s.held_out());
      return acc;
    });
  }
  const double mean_e = in_stage("evaluation.energy", [&] {
    const ad::Tensor<T> ed = s.model->evaluate(in_dtype<T>(s.data.x));
    double sum = 0;
    for (T v : ed) sum += double(v);
    out["energy_data_mean"] = sum / double(ed.numel());
    if (samples.rows() > 0) {
      const ad::Tensor<T> es = s.model->evaluate(samples);
      double ms = 0;
      for (T v : es) ms += double(v);
      out["energy_samples_mean"] = ms / double(es.numel());
    }
    return sum / double(ed.numel());
  });
  json exact_log_z;
  if (ev["log_z"].get<bool>()) {
    const std::string method = exact_log_z_method(*s.model);
    if (!method.empty()) {
      out["log_z"] = in_stage("evaluation.log_z", [&] {
        const std::shared_ptr<const Energy<double>> model = model_in_float64(s);  // Note [Float64 evaluation]
        if (method == "quadrature") {
          auto box = plot_box(s.cfg, s.data);
          std::vector<double> lo, hi;
          for (auto [a, b] : box) lo.push_back(a), hi.push_back(b);
          QuadratureOptions q;
          q.panels = ev["quadrature_panels"], q.order = ev["quadrature_order"];
          const double log_z = log_partition_quadrature(*model, lo, hi, q);
          if (!std::isfinite(log_z)) throw std::runtime_error("quadrature gave a non-finite log Z (" + std::to_string(log_z) + ")");
          return json{{"quadrature", log_z}, {"box", box}};
        }
        // Enumeration: a Bernoulli RBM sums its smaller layer; a Boltzmann machine every state.
        const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(model.get());
        const auto* bm = dynamic_cast<const BoltzmannMachine<double>*>(model.get());
        const double log_z = rbm ? log_partition_rbm_enumerate(*rbm) : log_partition_enumerate(*bm, bm->unit_kind());
        const int64_t bits = rbm ? std::min(rbm->visible(), rbm->hidden()) : bm->dim();
        if (!std::isfinite(log_z)) throw std::runtime_error("enumeration gave a non-finite log Z (" + std::to_string(log_z) + ")");
        return json{{"enumeration", log_z}, {"states", std::ldexp(1.0, int(bits))}};
      });
      exact_log_z = out["log_z"].contains("quadrature") ? out["log_z"]["quadrature"] : out["log_z"]["enumeration"];
      // With log Z, the model is a normalised density (on the box, for quadrature): the data's negative log-likelihood.
      out["nll_data"] = mean_e + exact_log_z.get<double>();
    }
  }
  if (ev["ais"]["enabled"].get<bool>()) {
    if (!out.contains("log_z")) out["log_z"] = json::object();
    out["log_z"]["ais"] = in_stage("evaluation.ais", [&] { return ais_report(s); });
    if (out["log_z"]["ais"]["estimate"].is_number()) out["nll_data_ais"] = mean_e + out["log_z"]["ais"]["estimate"].template get<double>();
  }
  if (ev["pseudo_likelihood"]["enabled"].get<bool>() || ev["ais"]["enabled"].get<bool>() || exact_log_z.is_number())
    out["likelihood"] = in_stage("evaluation.likelihood", [&] {
      return likelihood_report(s, out.contains("log_z") ? out["log_z"].value("ais", json()) : json(), exact_log_z);
    });
  if (ev["mmd"].get<bool>()) out["mmd"] = in_stage("evaluation.mmd", [&] { return mmd_report(s, samples); });
  if (ev["ksd"]["enabled"].get<bool>()) out["ksd"] = in_stage("evaluation.ksd", [&] { return ksd_report(s, samples); });
  if (ev["restore"]["enabled"].get<bool>()) out["restore"] = in_stage("evaluation.restore", [&] { return restore_report(s); });
  if (s.data.true_log_density) {
    ad::Tensor<double> lp = s.data.true_log_density(s.data.x);
    double m_lp = 0;
    for (double v : lp) m_lp += v;
    out["nll_data_true_density"] = -m_lp / double(lp.numel());
  }
  return out;
}

namespace {

std::vector<plot::Series> curves_from_metrics(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  plot::Series loss{"loss", {}, {}}, gn{"grad norm", {}, {}};
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      double step = j["step"];
      loss.x.push_back(step), loss.y.push_back(j["loss"].is_number() ? j["loss"].get<double>() : NAN);
      gn.x.push_back(step), gn.y.push_back(j["grad_norm"].is_number() ? j["grad_norm"].get<double>() : NAN);
    } catch (const json::exception&) {
    }
  }
  return {loss, gn};
}

}  // namespace

template <class T>
std::vector<std::string> write_plots(Session<T>& s, const ad::Tensor<T>& samples_t, const fs::path& dir) {
  const ad::Tensor<double> samples = samples_t.template cast<double>();  // the plot library draws doubles
  std::vector<std::string> names;
  const ad::Tensor<double>& x = s.data.x;
  int size = s.cfg["output"]["plot_size"];
  // At most 2000 data points on a picture: more only hides the samples.
  int64_t shown = std::min<int64_t>(x.rows(), 2000);
  ad::Tensor<double> data_shown(ad::Shape{shown, x.cols()}, x.data());
  if (x.cols() == 2) {
    auto box = plot_box(s.cfg, s.data);
    plot::Range2D range{box[0].first, box[0].second, box[1].first, box[1].second};
    plot::HeatmapOptions o;
    o.width = o.height = size;
    o.title = s.cfg["model"]["type"].template get<std::string>() + " / " + s.cfg["objective"]["type"].template get<std::string>();
    const Energy<T>& model = *s.model;
    plot::energy_heatmap([&model](const ad::Tensor<double>& p) { return model.evaluate(in_dtype<T>(p)).template cast<double>(); }, range,
                         data_shown, samples, o)
        .write_png(dir / "energy.png");
    names.push_back("energy.png");
  } else if (x.cols() == 1) {
    std::vector<double> dv(x.begin(), x.end()), sv(samples.begin(), samples.end());
    plot::HistogramOptions o;
    o.title = "data vs samples";
    plot::histogram_plot({{"data", dv}, {"samples", sv}}, 50, size, std::max(48, size * 5 / 8), o).write_png(dir / "histogram.png");
    names.push_back("histogram.png");
  }
  if (s.data.image_rows > 0) {
    int64_t n = std::min<int64_t>(samples.rows(), 64);
    ad::Tensor<double> first(ad::Shape{n, samples.cols()}, samples.data());
    plot::image_grid(first, int(s.data.image_rows), int(s.data.image_cols), 8, 2).write_png(dir / "samples.png");
    names.push_back("samples.png");
  }
  {
    // Energies of held-out data, of the samples and of noise (uniform on the data's bounding box): where the
    // model puts its low energies, at a glance.
    const ad::Tensor<double>& ref = s.held_out().x;
    const int64_t m = std::min<int64_t>(ref.rows(), 2000);
    ad::Tensor<double> noise(ad::Shape{m, x.cols()});
    ad::Rng rng(s.cfg["seed"].template get<uint64_t>(), kHeldOutStream);
    for (int64_t k = 0; k < x.cols(); ++k) {
      double lo = x.at(0, k), hi = x.at(0, k);
      for (int64_t i = 0; i < x.rows(); ++i) lo = std::min(lo, x.at(i, k)), hi = std::max(hi, x.at(i, k));
      for (int64_t i = 0; i < m; ++i) noise.at(i, k) = lo + (hi - lo) * rng.uniform();
    }
    auto energies = [&](const ad::Tensor<double>& pts) {
      const ad::Tensor<T> e = s.model->evaluate(in_dtype<T>(pts));
      std::vector<double> v;
      for (T u : e)
        if (std::isfinite(u)) v.push_back(double(u));
      return v;
    };
    std::vector<plot::NamedValues> sets = {{s.held_out_is_training_data() ? "data" : "held-out data", energies(ad::Tensor<double>(ad::Shape{m, x.cols()}, ref.data()))},
                                           {"noise", energies(noise)}};
    if (samples.rows() > 0) sets.insert(sets.begin() + 1, {"samples", energies(samples)});
    plot::HistogramOptions o;
    o.title = "energy E(x)";
    o.x_label = "E";
    plot::histogram_plot(sets, 60, size, std::max(48, size * 5 / 8), o).write_png(dir / "energy_histogram.png");
    names.push_back("energy_histogram.png");
  }
  if (const auto* clf = dynamic_cast<const ClassifierEnergy<T>*>(s.model.get()); clf && s.data.image_rows > 0) {
    const int64_t per_class = 8;
    plot::image_grid(class_conditional_samples(s, *clf, per_class).template cast<double>(), int(s.data.image_rows), int(s.data.image_cols),
                     int(per_class), 2)
        .write_png(dir / "samples_by_class.png");
    names.push_back("samples_by_class.png");
  }
  for (const auto& f : s.figures) {
    plot::image_grid(f.tiles, int(s.data.image_rows), int(s.data.image_cols), f.cols, 2).write_png(dir / f.file);
    names.push_back(f.file);
  }
  auto series = curves_from_metrics(dir / kMetricsFile);
  if (!series[0].x.empty()) {
    plot::LinePlotOptions o;
    o.title = "training";
    o.x_label = "step";
    plot::line_plot(series, 640, 400, o).write_png(dir / "training.png");
    names.push_back("training.png");
  }
  return names;
}

#define EBM_EVALUATE(T)                                                                                        \
  template std::shared_ptr<const Energy<double>> model_in_float64(const Session<T>&);                          \
  template ad::Tensor<T> draw_samples(Session<T>&, const json&, json&);                                          \
  template json evaluate_model(Session<T>&, const ad::Tensor<T>&);                                               \
  template std::vector<std::string> write_plots(Session<T>&, const ad::Tensor<T>&, const fs::path&);
EBM_EVALUATE(float)
EBM_EVALUATE(double)
#undef EBM_EVALUATE

}  // namespace ebm::experiment
