// Likelihood numbers after training: log Z by forward and reverse AIS (evaluation.ais), and the per-data-set
// log-likelihoods and pseudo-likelihoods (evaluation.likelihood in summary.json).
#include "ebm/experiment/eval_checks.hpp"
#include "ebm/experiment/evaluate.hpp"
#include "eval_likelihood.hpp"
#include "enum_field.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "ebm/eval/ais.hpp"
#include "ebm/eval/exact_samples.hpp"
#include "ebm/eval/pseudo_likelihood.hpp"

namespace ebm::experiment {
namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Where reverse AIS starts (evaluation.ais.reverse): `n` exact samples of the model, or up to `n` distinct rows of
// the held-out data drawn at random. `label` says which.
template <class T>
ad::Tensor<double> reverse_starts(Session<T>& s, const Energy<double>& model, int64_t n, std::string& label) {
  const uint64_t seed = s.cfg["seed"];
  if (s.cfg["evaluation"]["ais"]["reverse"] == "exact") {
    label = "exact";
    return exact_samples(model, n, ad::Rng(seed, kAisStream).split(1).next_u64());
  }
  const ad::Tensor<double>& h = s.held_out().x;
  label = s.held_out_is_training_data() ? "training_data" : "held_out_data";
  const int64_t m = std::min(n, h.rows()), d = h.cols();
  std::vector<int64_t> rows(size_t(h.rows()));
  for (int64_t i = 0; i < h.rows(); ++i) rows[size_t(i)] = i;
  ad::Rng rng = ad::Rng(seed, kAisStream).split(2);
  ad::Tensor<double> out(ad::Shape{m, d});
  for (int64_t i = 0; i < m; ++i) {  // partial Fisher–Yates: m distinct rows
    std::swap(rows[size_t(i)], rows[size_t(i + int64_t(rng.below(uint64_t(h.rows() - i))))]);
    std::copy(h.data() + rows[size_t(i)] * d, h.data() + (rows[size_t(i)] + 1) * d, out.data() + i * d);
  }
  return out;
}

}  // namespace

// Bernoulli RBMs by block Gibbs from a base with the data's base rates (Salakhutdinov & Murray 2008), Boltzmann
// machines by single-site Gibbs from independent units with the data's base rates (ais.hpp, Note [Boltzmann AIS]); any other
// model by MALA/HMC from a Gaussian fitted to the data, widened by base_std_scale. Reverse runs share the forward
// run's path, base, schedule, seed and (continuous) steps; only their chains' streams differ (ais.hpp).
// In float64 for either dtype (evaluate.cpp, Note [Float64 evaluation]).
template <class T>
json ais_report(Session<T>& s) {
  const std::shared_ptr<const Energy<double>> model = model_in_float64(s);
  const json& c = s.cfg["evaluation"]["ais"];
  const ad::Tensor<double>& x = s.data.x;
  AisOptions common;
  common.chains = c["chains"], common.steps = c["steps"], common.transitions = c["transitions"];
  common.schedule = enum_field_value(kBetaScheduleNames, c["schedule"], "evaluation.ais.schedule");
  common.seed = ad::Rng(s.cfg["seed"].template get<uint64_t>(), kAisStream).next_u64();
  const std::string transition = ais_transition(s.cfg, *model);
  if (discrete_model(*model) != (transition == "gibbs"))  // check_evaluation refuses this before training
    throw std::invalid_argument("evaluation.ais.transition \"" + transition + "\" cannot anneal the model \"" + model->name() + "\"");
  const bool reverse = c["reverse"] != "none";
  // The reverse run, once the forward one has set up its options.
  std::function<AisResult(const ad::Tensor<double>&)> run_reverse;
  AisResult r;
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(model.get())) {
    RbmAisOptions o;
    static_cast<AisOptions&>(o) = common;
    o.base_visible_bias = rbm_base_bias(x);
    r = ais_log_partition_rbm(*rbm, o);
    run_reverse = [rbm, o](const ad::Tensor<double>& starts) { return ais_reverse_log_partition_rbm(*rbm, starts, o); };
  } else if (const auto* bm = dynamic_cast<const BoltzmannMachine<double>*>(model.get())) {
    BoltzmannAisOptions o;
    static_cast<AisOptions&>(o) = common;
    o.base_bias = boltzmann_base_bias(x, bm->unit_kind());
    r = ais_log_partition_boltzmann(*bm, o);
    run_reverse = [bm, o](const ad::Tensor<double>& starts) { return ais_reverse_log_partition_boltzmann(*bm, starts, o); };
  } else {
    ContinuousAisOptions o;
    static_cast<AisOptions&>(o) = common;
    o.transition = parse_enum(kAisTransitionNames, transition, "AIS transition");
    o.step_size = c["step_size"], o.adapt_step = c["adapt_step"], o.leapfrog_steps = c["leapfrog_steps"];
    const double widen = c["base_std_scale"];
    for (int64_t k = 0; k < x.cols(); ++k) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < x.rows(); ++i) m += x.at(i, k) / double(x.rows());
      for (int64_t i = 0; i < x.rows(); ++i) v += (x.at(i, k) - m) * (x.at(i, k) - m) / double(x.rows());
      o.base_mean.push_back(m);
      o.base_std.push_back(widen * (v > 0 ? std::sqrt(v) : 1.0));
    }
    r = ais_log_partition(*model, o);
    run_reverse = [model, o](const ad::Tensor<double>& starts) { return ais_reverse_log_partition(*model, starts, o); };
  }
  json out = {{"estimate", num(r.log_z)},       {"stderr", num(r.stderr_log_z)},
              {"ess", r.ess},                   {"lower_bound", num(r.lower_bound)},
              {"lower_bound_stderr", num(r.stderr_bound)},
              {"log_z_base", r.log_z_base},     {"chains", common.chains},
              {"steps", common.steps},          {"transition", transition},
              {"acceptance_rate", r.acceptance_rate}};
  if (!reverse) return out;
  std::string starts_label;
  const ad::Tensor<double> starts = reverse_starts(s, *model, common.chains, starts_label);
  const AisResult rev = run_reverse(starts);
  const bool exact = starts_label == "exact";
  out["reverse"] = {{"samples", starts_label},
                    {"chains", starts.rows()},
                    {"estimate", num(rev.log_z)},
                    {"stderr", num(rev.stderr_log_z)},
                    {"ess", rev.ess},
                    {"upper_bound", num(rev.upper_bound)},
                    {"upper_bound_stderr", num(rev.stderr_bound)},
                    {"acceptance_rate", rev.acceptance_rate},
                    {"guaranteed", exact},
                    {"note", exact ? "chains start from exact samples of the model: upper_bound is a stochastic upper bound on log Z"
                                   : "APPROXIMATE: chains start from data in place of samples of the model (as RAISE-style "
                                     "evaluations do), so upper_bound is not a guaranteed bound and the estimate is not unbiased"}};
  const AisSandwich sw = ais_sandwich(r, rev);
  out["sandwich"] = {{"lower", num(sw.lower)}, {"upper", num(sw.upper)},         {"estimate", num(r.log_z)},
                     {"gap", num(sw.gap)},     {"gap_stderr", num(sw.gap_stderr)}, {"upper_guaranteed", exact}};
  return out;
}

template <class T>
json likelihood_report(Session<T>& s, const json& ais, const json& exact_log_z) {
  const json& ev = s.cfg["evaluation"];
  const uint64_t seed = s.cfg["seed"];
  std::vector<std::pair<std::string, const ad::Tensor<double>*>> sets = {{"train", &s.data.x}};
  if (!s.held_out_is_training_data()) sets.emplace_back("held_out", &s.held_out().x);
  const bool has_z = ais.is_object() && ais.contains("estimate") && ais["estimate"].is_number();
  const bool has_bounds = has_z && ais.contains("sandwich") && ais["sandwich"]["lower"].is_number() && ais["sandwich"]["upper"].is_number();
  json out = json::object();
  for (const auto& [name, xp] : sets) {
    const ad::Tensor<double>& x = *xp;
    json r = {{"points", x.rows()}};
    const ad::Tensor<T> e = s.model->evaluate(in_dtype<T>(x));  // in the run's dtype, summed in double
    double m = 0, v = 0;
    for (T ei : e) m += double(ei) / double(e.numel());
    for (T ei : e) v += (double(ei) - m) * (double(ei) - m) / double(std::max<int64_t>(e.numel() - 1, 1));
    r["energy_mean"] = m;
    r["energy_mean_stderr"] = std::sqrt(v / double(e.numel()));
    if (exact_log_z.is_number()) r["log_likelihood_exact"] = -m - exact_log_z.get<double>();
    if (has_z) {
      r["log_likelihood_ais"] = -m - ais["estimate"].get<double>();
      r["log_z_stderr"] = ais["stderr"];
    }
    if (has_bounds)  // log p(x) = −E(x) − log Z: an upper bound on log Z is a lower bound on the log-likelihood
      r["log_likelihood_ais_bounds"] = {{"lower", -m - ais["sandwich"]["upper"].get<double>()},
                                        {"upper", -m - ais["sandwich"]["lower"].get<double>()},
                                        {"lower_guaranteed", ais["sandwich"]["upper_guaranteed"]}};
    if (ev["pseudo_likelihood"]["enabled"].get<bool>()) {
      ad::Rng rng(seed, 0x504c);  // "PL": the same flips for every data set of the same size
      const std::shared_ptr<const Energy<double>> model = model_in_float64(s);  // Note [Float64 evaluation]
      const ad::Tensor<double> pl = pseudo_likelihood_one_bit(*model, x, random_flip_indices(x.rows(), x.cols(), rng));
      double pm = 0;
      for (double p : pl) pm += p / double(pl.numel());
      r["pseudo_likelihood"] = pm;
      const int64_t k = std::min(ev["pseudo_likelihood"]["all_bits_points"].get<int64_t>(), x.rows());
      if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(model.get()); rbm && k > 0) {
        const ad::Tensor<double> all = pseudo_likelihood_all_bits(*rbm, ad::Tensor<double>(ad::Shape{k, x.cols()}, x.data()));
        double am = 0;
        for (double p : all) am += p / double(k);
        r["pseudo_likelihood_all_bits"] = am;
        r["pseudo_likelihood_all_bits_points"] = k;
      }
    }
    out[name] = r;
  }
  return out;
}

template json ais_report(Session<float>&);
template json ais_report(Session<double>&);
template json likelihood_report(Session<float>&, const json&, const json&);
template json likelihood_report(Session<double>&, const json&, const json&);

}  // namespace ebm::experiment
