// The evaluation section of summary.json: every number evaluation.* asks for, about the trained model, its
// samples and the held-out data.
#include <algorithm>
#include <cmath>

#include <samplers/annealed.hpp>

#include "ebm/eval/ksd.hpp"
#include "ebm/eval/mmd.hpp"
#include "ebm/eval/partition.hpp"
#include "ebm/eval/restore.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/classifier.hpp"
#include "ebm/models/rbm.hpp"
#include "ebm/models/sampling.hpp"
#include "ebm/experiment/eval_checks.hpp"
#include "ebm/experiment/evaluate.hpp"
#include "ebm/experiment/plots.hpp"
#include "eval_likelihood.hpp"

namespace ebm::experiment {

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
// E(x; σ) (ebm/eval/restore.hpp). The numbers are the report; the grids (clean | corrupted | restored rows) are
// its figures, for write_plots.
template <class T>
Evaluation restore_report(Session<T>& s) {
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
  json report = {{"images", n}, {"held_out", s.held_out_source()}, {"denoise", den}, {"inpaint", inp},
                 {"figures", {{"denoise.png", "rows: clean | noisy (clamped for display) | Tweedie | annealed Langevin"},
                              {"inpaint.png", "rows: clean | masked | inpainted"}}}};
  return {std::move(report),
          {{"denoise.png", stack({&x, &y_clamped, &tweedie, &langevin}), int(shown)}, {"inpaint.png", stack({&x, &x0, &inpainted}), int(shown)}}};
}

}  // namespace

template <class T>
Evaluation evaluate_model(Session<T>& s, const ad::Tensor<T>& samples) {
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
  std::vector<ImageFigure> figures;
  if (ev["restore"]["enabled"].get<bool>()) {
    Evaluation restored = in_stage("evaluation.restore", [&] { return restore_report(s); });
    out["restore"] = std::move(restored.report);
    figures = std::move(restored.figures);
  }
  if (s.data.true_log_density) {
    ad::Tensor<double> lp = s.data.true_log_density(s.data.x);
    double m_lp = 0;
    for (double v : lp) m_lp += v;
    out["nll_data_true_density"] = -m_lp / double(lp.numel());
  }
  return {std::move(out), std::move(figures)};
}

template std::shared_ptr<const Energy<double>> model_in_float64(const Session<float>&);
template std::shared_ptr<const Energy<double>> model_in_float64(const Session<double>&);
template Evaluation evaluate_model(Session<float>&, const ad::Tensor<float>&);
template Evaluation evaluate_model(Session<double>&, const ad::Tensor<double>&);

}  // namespace ebm::experiment
