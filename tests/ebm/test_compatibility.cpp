// The compatibility matrix: every registered model (each of its smoke experiments, registry.hpp) crossed with
// every registered sampler, every objective and every evaluation method of the schema, each pair in a tiny
// experiment assembled from the registries' smoke settings. Apart from the regression lines at the end, nothing
// here names a component, so a component registered later is crossed without editing this file.
//
// Each pair must do exactly one of two things:
//   refused: validation (resolve_config, then build_session, which runs the components' check_model and
//            check_evaluation) throws a ConfigError or InputError (exit 2 in the tool) whose message names the JSON
//            path of the section the pair varies ("sampler.", "objective.", "evaluation.<method>");
//   run:     run_experiment completes, summary.json says complete, its numbers are finite (null only where the
//            runner documents it), the samples are finite, of shape [chains, d] and in the model's state space,
//            and every closed form that applies holds (check_run below).
// Anything else (an exception at run time, a late InputError, a non-finite number, a wrong log Z) fails the test.
//
// The matrix runs in the default dtype, float32; a float64 pass runs every model's first smoke experiment against
// every sampler and objective (a pair's config may name its "dtype"; try_pair builds the session in it).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <ebm/data/npy.hpp>
#include <ebm/eval/partition.hpp>
#include <ebm/experiment/config.hpp>
#include <ebm/experiment/registry.hpp>
#include <ebm/experiment/train.hpp>
#include <ebm/experiment/eval_checks.hpp>
#include <ebm/experiment/evaluate.hpp>
#include <samplers/conditionals.hpp>

namespace fs = std::filesystem;
using namespace ebm::experiment;

namespace {

// What every pair shares: a few training steps on small batches, small evaluation settings, small pictures.
// AIS: 64 chains x 150 intermediates give the smoke models a standard error of a few hundredths of a nat, small
// enough for the comparison with the exact log Z to mean something. Quadrature: 8 panels of 16 nodes per axis
// resolve these smooth energies on their boxes far below that.
const json& base_experiment() {
  static const json base = json::parse(R"({
    "seed": 3,
    "optimiser": {"type": "adam", "lr": 0.01},
    "training": {"steps": 4, "batch_size": 32, "log_every": 2, "checkpoint_every": 4},
    "evaluation": {"quadrature_panels": 8, "ais": {"chains": 64, "steps": 150}, "mmd_points": 200,
                   "restore": {"images": 2, "denoise_levels": 1, "levels": 2, "steps_per_level": 5}},
    "output": {"plot_size": 80}
  })");
  return base;
}

// `patch` onto `base`, objects key by key; a sub-object naming another "type" replaces the old one whole (its
// keys belong to the other variant).
json merged(json base, const json& patch) {
  if (!base.is_object() || !patch.is_object()) return patch;
  for (const auto& [k, v] : patch.items()) {
    const bool replace = !base.contains(k) || !base[k].is_object() || !v.is_object() ||
                         (v.contains("type") && base[k].contains("type") && base[k]["type"] != v["type"]);
    base[k] = replace ? v : merged(base[k], v);
  }
  return base;
}

json typed(const std::string& type, const json& settings) {
  json out = {{"type", type}};
  return merged(out, settings);
}

// The variants of a component's section: its smoke settings, then, for each nested component (a one_of field,
// such as the negative sampler of cd), the first smoke settings with each choice they do not already name.
std::vector<json> section_variants(const std::vector<Field>& params, const std::vector<json>& smoke) {
  std::vector<json> out = smoke;
  if (smoke.empty()) return out;
  for (const Field& f : params) {
    if (f.node.kind != Node::Kind::one_of) continue;
    const std::string& disc = f.node.discriminator;
    std::string named = f.node.default_value ? (*f.node.default_value)[disc].get<std::string>() : "";
    if (smoke[0].contains(f.key) && smoke[0][f.key].contains(disc)) named = smoke[0][f.key][disc];
    for (const Field& v : f.node.variants)
      if (v.key != named) out.push_back(merged(smoke[0], json{{f.key, json{{disc, v.key}}}}));
  }
  return out;
}

// "steps=2, sampler.type=hmc": what a variant sets, for the pair's label.
std::string describe(const json& j, const std::string& prefix = "") {
  std::string s;
  for (const auto& [k, v] : j.items()) {
    std::string part = v.is_object() ? describe(v, prefix + k + ".") : prefix + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    if (!part.empty()) s += (s.empty() ? "" : ", ") + part;
  }
  return s;
}

const Field* field(const std::vector<Field>& fields, const std::string& key) {
  for (const Field& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

// The evaluation methods of the schema: the switches of the "evaluation" section, i.e. its boolean keys and its
// objects with an "enabled" key (log_z, ais, mmd, pseudo_likelihood, restore; held_out and the quadrature and
// MMD settings are parameters, not methods). A method's settings are crossed over its enumeration keys (AIS's
// transition, schedule and reverse run; the restoration's mask): one at a time, every other key at its default
// (the fast matrix), or as the full product (the long one).
enum class Crossing { one_at_a_time, product };

struct Method {
  std::string key;
  std::vector<json> variants;  // patches of the evaluation section, each switching the method on
};

std::vector<Method> evaluation_methods(Crossing how) {
  const Field* ev = field(experiment_schema().fields, "evaluation");
  REQUIRE(ev);
  std::vector<Method> out;
  for (const Field& f : ev->node.fields) {
    if (f.node.kind == Node::Kind::boolean) {
      out.push_back({f.key, {json{{f.key, true}}}});
      continue;
    }
    if (f.node.kind != Node::Kind::object || !field(f.node.fields, "enabled")) continue;
    std::vector<json> settings = {json{{"enabled", true}}};
    for (const Field& g : f.node.fields) {
      if (g.node.kind != Node::Kind::enumeration) continue;
      std::vector<json> next = how == Crossing::product ? std::vector<json>{} : settings;
      const json& first = settings.front();
      for (const std::string& choice : g.node.choices) {
        if (how == Crossing::product) {
          for (const json& s : settings) next.push_back(merged(s, json{{g.key, choice}}));
        } else if (g.node.default_value && choice != *g.node.default_value) {
          next.push_back(merged(first, json{{g.key, choice}}));
        }
      }
      settings = std::move(next);
    }
    Method m{f.key, {}};
    for (const json& s : settings) m.variants.push_back(json{{f.key, s}});
    out.push_back(std::move(m));
  }
  return out;
}

struct Pair {
  std::string category;  // "sampler", "objective", "evaluation"
  std::string label;     // "rbm#1 x sampler gibbs {init=data, ...}"
  json config;
  std::string path;      // the JSON path a refusal must name
};

// Every pair of the given categories, generated from the registries and the schema.
std::vector<Pair> all_pairs(Crossing evaluation, bool samplers_and_objectives) {
  const Registry& r = registry();
  std::vector<Pair> pairs;
  const std::vector<Method> methods = evaluation_methods(evaluation);
  for (const ModelEntry& m : r.models) {
    for (size_t i = 0; i < m.smoke.size(); ++i) {
      const json& sm = m.smoke[i];
      const std::string model = m.name + "#" + std::to_string(i);
      // The model's own experiment: its data and settings, its objective and sampler with their smoke settings.
      const std::string own_objective = sm["objective"]["type"], own_sampler = sm["sampler"]["type"];
      json base = base_experiment();
      base["data"] = sm["data"];
      base["model"] = typed(m.name, sm["model"]);
      base["objective"] = merged(typed(own_objective, r.objective(own_objective).smoke.at(0)), sm["objective"]);
      base["sampler"] = merged(typed(own_sampler, r.sampler(own_sampler).smoke.at(0)), sm["sampler"]);
      if (samplers_and_objectives) {
        for (const SamplerEntry& s : r.samplers)
          for (const json& v : section_variants(s.params, s.smoke)) {
            json c = base;
            c["sampler"] = typed(s.name, v);
            pairs.push_back({"sampler", model + " x sampler " + s.name + " {" + describe(v) + "}", c, "sampler."});
          }
        for (const ObjectiveEntry& o : r.objectives)
          for (const json& v : section_variants(o.params, o.smoke)) {
            json c = base;
            c["objective"] = typed(o.name, v);
            pairs.push_back({"objective", model + " x objective " + o.name + " {" + describe(v) + "}", c, "objective."});
          }
      }
      for (const Method& e : methods)
        for (const json& v : e.variants) {
          json c = base;
          c["evaluation"] = merged(c["evaluation"], v);
          pairs.push_back({"evaluation", model + " x evaluation " + describe(v), c, "evaluation." + e.key});
        }
    }
  }
  return pairs;
}

bool finite_number(const json& j) { return j.is_number() && std::isfinite(j.get<double>()); }

// Keys whose value the runner documents as null: a sampler without a step count (annealed Langevin), ESS and
// R-hat that do not exist (a coordinate that never moves in the traced chains), the true density ratio where
// the data have no known density (f-EBM).
bool null_documented(const std::string& path) {
  for (const char* p : {"/sampler/steps", "/sampler/ess_bulk_min", "/sampler/rhat_max"})
    if (path == p) return true;
  return path.find("/true_ratio") != std::string::npos;
}

void non_finite_numbers(const json& j, const std::string& path, std::vector<std::string>& bad) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) non_finite_numbers(v, path + "/" + k, bad);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) non_finite_numbers(j[i], path + "/" + std::to_string(i), bad);
  } else if (j.is_number_float() && !std::isfinite(j.get<double>())) {
    bad.push_back(path + " = " + std::to_string(j.get<double>()));
  } else if (j.is_null() && !null_documented(path)) {
    bad.push_back(path + " = null");
  }
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

struct Checks {
  std::vector<std::string> problems;
  std::vector<std::string> notes;  // the closed-form comparisons made, for EBM_COMPAT_VERBOSE
  bool closed_form = false;
  void expect(bool ok, const std::string& what) {
    if (!ok) problems.push_back(what);
  }
};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.5g", v);
  return b;
}

// AIS against an exact log Z: within 4 of its standard errors, plus its bias and the exact value's own error.
// log Ẑ is the log of a mean of weights, low by about SE²/2 in expectation (Jensen; the delta method), which 4 SE
// does not cover when SE is small; a quadrature is exact to 1e-3 here (exact_log_z). A wrong kernel, base or weight
// is off by tenths of a nat or more on these models.
double ais_tolerance(double se) { return 4 * se + se * se / 2 + 1e-3; }

// log Z on the reported quadrature box widened `factor` times about its centre, with twice the panels (the
// panels far out hold little mass, and 16 Gauss-Legendre nodes still resolve a unit-scale bump on each).
// On the float64 copy of the model, as the runner's own quadrature (evaluate.cpp, Note [Float64 evaluation]).
template <class T>
double quadrature_widened(Session<T>& s, const json& box, int factor) {
  std::vector<double> lo, hi;
  for (const json& b : box) {
    const double a = b[0], c = b[1], mid = (a + c) / 2, half = (c - a) / 2;
    lo.push_back(mid - factor * half), hi.push_back(mid + factor * half);
  }
  ebm::QuadratureOptions q;
  q.panels = 2 * s.cfg["evaluation"]["quadrature_panels"].template get<int>(), q.order = s.cfg["evaluation"]["quadrature_order"];
  return ebm::log_partition_quadrature(*model_in_float64(s), lo, hi, q);
}

// The exact log Z of the pair's trained model, if there is one: the enumeration; or the quadrature on the reported
// box, or on a box 3 or 9 times as wide, whichever first holds the mass (widening it threefold more adds less than
// 1e-3 to log Z). An energy whose integral keeps growing (an MLP that does not decay) has no log Z to compare with.
template <class T>
std::optional<double> exact_log_z(Session<T>& s, const json& log_z) {
  if (log_z.contains("enumeration")) return log_z["enumeration"].get<double>();
  if (!log_z.contains("quadrature")) return std::nullopt;
  double q = log_z["quadrature"];
  for (int factor : {3, 9}) {
    const double wider = quadrature_widened(s, log_z["box"], factor);
    if (std::abs(wider - q) < 1e-3) return q;
    q = wider;
  }
  return std::nullopt;
}

// The sanity checks of a pair that ran.
template <class T>
void check_run(Session<T>& s, const json& summary, const fs::path& dir, Checks& c) {
  c.expect(summary.value("complete", false) == true, "summary: complete is not true");
  std::vector<std::string> bad;
  non_finite_numbers(summary, "", bad);
  for (const std::string& b : bad) c.problems.push_back("summary: " + b);
  {
    std::ifstream in(dir / "summary.json");
    c.expect(in.good(), "summary.json was not written");
    if (in.good()) c.expect(json::parse(in).value("complete", false) == true, "summary.json on disk is not complete");
  }

  // Samples: [chains, d], finite, and in the model's state space.
  const ad::Tensor<double> x = ebm::data::read_npy(dir / "samples.npy");
  const int64_t chains = s.cfg["sampler"]["chains"], d = s.data.x.cols();
  c.expect(x.rank() == 2 && x.rows() == chains && x.cols() == d,
           "samples.npy: shape " + x.shape().str() + ", expected [" + std::to_string(chains) + ", " + std::to_string(d) + "]");
  c.expect(std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); }), "samples.npy: non-finite values");
  // A binary model's units are 1 or "off": 0, or -1 for a Boltzmann machine's spins.
  const bool binary = discrete_model(*s.model);
  const auto* bc = dynamic_cast<const samplers::BinaryConditionals<T>*>(s.model.get());
  const double off = bc && bc->units() == samplers::BinaryUnits::plus_minus_one ? -1.0 : 0.0;
  if (binary)
    c.expect(std::all_of(x.begin(), x.end(), [off](double v) { return v == off || v == 1.0; }),
             "samples.npy: a binary model's samples are not all " + fmt(off) + " or 1");

  const json& ev = summary["evaluation"];
  const json& params = summary["parameters"];
  // A small binary model: every state enumerated from its energies, for log Z (against the runner's enumeration,
  // which sums one layer of an RBM in closed form) and the exact means of the units (against the samples). Both on
  // the model's parameters in float64, as the runner's enumeration (Note [Float64 evaluation]), so that they agree
  // to double rounding in either dtype.
  if (binary && d <= 16) {
    const int64_t states = int64_t{1} << d;
    ad::Tensor<double> all(ad::Shape{states, d});
    for (int64_t i = 0; i < states; ++i)
      for (int64_t k = 0; k < d; ++k) all.at(i, k) = (i >> k) & 1 ? 1.0 : off;
    const ad::Tensor<double> e = model_in_float64(s)->evaluate(all);
    const double e_min = *std::min_element(e.begin(), e.end());
    double z = 0;
    std::vector<double> mean(size_t(d), 0.0);
    for (int64_t i = 0; i < states; ++i) {
      const double w = std::exp(e_min - e[i]);
      z += w;
      for (int64_t k = 0; k < d; ++k) mean[size_t(k)] += w * all.at(i, k);
    }
    const double log_z = std::log(z) - e_min;
    if (ev.contains("log_z") && ev["log_z"].contains("enumeration")) {
      const double reported = ev["log_z"]["enumeration"];
      c.expect(std::abs(reported - log_z) <= 1e-9 * std::max(1.0, std::abs(log_z)),
               "enumeration: log Z " + fmt(reported) + ", summing exp(-E) over all states gives " + fmt(log_z));
    }
    // The chains start from coin flips (or data rows) and the sampler moves them toward the model: each unit's
    // sample mean lies within Monte Carlo error (4 SE) of its exact mean plus the distance it started from it.
    const bool from_data = s.cfg["sampler"]["init"] == "data";
    const double n = double(x.rows());
    double worst = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double m = mean[size_t(k)] / z;
      double start = (1.0 + off) / 2, m_hat = 0;
      if (from_data) {
        start = 0;
        for (int64_t i = 0; i < s.data.x.rows(); ++i) start += s.data.x.at(i, k) / double(s.data.x.rows());
      }
      for (int64_t i = 0; i < x.rows(); ++i) m_hat += x.at(i, k) / n;
      const double var = (1.0 - m) * (m - off);  // of a unit taking the values off and 1 with mean m
      const double tol = 4 * std::sqrt(var / n) + std::abs(m - start) + 1e-9;
      worst = std::max(worst, std::abs(m_hat - m) / tol);
      c.expect(std::abs(m_hat - m) <= tol, "binary samples: mean of unit " + std::to_string(k) + " " + fmt(m_hat) + ", exact " + fmt(m) +
                                               " (tolerance " + fmt(tol) + ")");
    }
    c.notes.push_back("enumerated " + std::to_string(states) + " states: log Z " + fmt(log_z) + ", worst |mean - exact| / tolerance " +
                      fmt(worst));
    c.closed_form = true;
  }
  // A Gaussian model (its summary reports mu and the covariance): log Z in closed form against the quadrature,
  // and the samples' moments against the model's.
  if (params.contains("mu") && params.contains("covariance") && params.contains("log_z_analytic")) {
    const json& mu = params["mu"];
    const json& cov = params["covariance"];
    if (ev.contains("log_z") && ev["log_z"].contains("quadrature")) {
      // The box holds all but the tails: per axis the marginal N(mu_k, cov_kk) puts p_k outside [lo_k, hi_k], so
      // log Z + log(1 - sum p_k) <= quadrature <= log Z (union bound; exact for a diagonal covariance in 1-D).
      double outside = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double sd = std::sqrt(cov[k][k].get<double>()), m = mu[k];
        const double a = ev["log_z"]["box"][k][0], b = ev["log_z"]["box"][k][1];
        outside += normal_cdf((a - m) / sd) + 1 - normal_cdf((b - m) / sd);
      }
      const double q = ev["log_z"]["quadrature"], z = params["log_z_analytic"];
      c.expect(q <= z + 1e-9 && q >= z + std::log1p(-std::min(outside, 0.5)) - 1e-9,
               "gaussian: quadrature log Z " + fmt(q) + " outside [" + fmt(z + std::log1p(-std::min(outside, 0.5))) + ", " + fmt(z) + "]");
      c.closed_form = true;
    }
    // The chains start from noise N(0, init_sd^2 I) (or data plus noise) and the sampler moves them toward the
    // model: the sample moments lie within Monte Carlo error (4 SE for n independent chains) of the model's, plus
    // the distance the chains started from it (what a few transitions may not have closed) and 1% of sigma for
    // the discretisation bias of unadjusted Langevin (relative variance bias eps/4 at eps = 0.01).
    const json& sc = s.cfg["sampler"];
    const bool from_data = sc["init"] == "data";
    const double init_sd = sc["init_sd"];
    const double n = double(x.rows());
    std::vector<double> m_hat(size_t(d), 0.0), start_m(size_t(d), 0.0);
    ad::Tensor<double> c_hat(ad::Shape{d, d}), start_c(ad::Shape{d, d});
    for (int64_t k = 0; k < d; ++k) {
      for (int64_t i = 0; i < x.rows(); ++i) m_hat[size_t(k)] += x.at(i, k) / n;
      if (from_data)
        for (int64_t i = 0; i < s.data.x.rows(); ++i) start_m[size_t(k)] += s.data.x.at(i, k) / double(s.data.x.rows());
    }
    for (int64_t k = 0; k < d; ++k)
      for (int64_t l = 0; l < d; ++l) {
        for (int64_t i = 0; i < x.rows(); ++i) c_hat.at(k, l) += (x.at(i, k) - m_hat[size_t(k)]) * (x.at(i, l) - m_hat[size_t(l)]) / (n - 1);
        if (from_data)
          for (int64_t i = 0; i < s.data.x.rows(); ++i)
            start_c.at(k, l) +=
                (s.data.x.at(i, k) - start_m[size_t(k)]) * (s.data.x.at(i, l) - start_m[size_t(l)]) / double(s.data.x.rows());
        if (k == l) start_c.at(k, l) += init_sd * init_sd;
      }
    for (int64_t k = 0; k < d; ++k) {
      const double sd = std::sqrt(cov[k][k].get<double>()), m = mu[k];
      const double tol_m = 4 * sd / std::sqrt(n) + std::abs(m - start_m[size_t(k)]) + 0.01 * sd;
      c.expect(std::abs(m_hat[size_t(k)] - m) <= tol_m, "gaussian samples: mean[" + std::to_string(k) + "] " + fmt(m_hat[size_t(k)]) +
                                                            ", model " + fmt(m) + " (tolerance " + fmt(tol_m) + ")");
      const double sd_hat = std::sqrt(c_hat.at(k, k)), start_sd = std::sqrt(start_c.at(k, k));
      const double tol_s = 4 * sd / std::sqrt(2 * (n - 1)) + std::abs(sd - start_sd) + 0.01 * sd;
      c.expect(std::abs(sd_hat - sd) <= tol_s, "gaussian samples: sd[" + std::to_string(k) + "] " + fmt(sd_hat) + ", model " + fmt(sd) +
                                                   " (tolerance " + fmt(tol_s) + ")");
      for (int64_t l = 0; l < k; ++l) {
        const double sl = std::sqrt(cov[l][l].get<double>()), cv = cov[k][l];
        const double tol_c = 4 * sd * sl * std::sqrt(2.0 / n) + std::abs(cv - start_c.at(k, l)) + 0.01 * sd * sl;
        c.expect(std::abs(c_hat.at(k, l) - cv) <= tol_c, "gaussian samples: cov[" + std::to_string(k) + "][" + std::to_string(l) + "] " +
                                                             fmt(c_hat.at(k, l)) + ", model " + fmt(cv) + " (tolerance " + fmt(tol_c) + ")");
      }
    }
    c.closed_form = true;
  }

  // AIS (forward, and the reverse run's bounds when its samples are exact) against the exact log Z.
  if (ev.contains("log_z") && ev["log_z"].contains("ais")) {
    const json& ais = ev["log_z"]["ais"];
    c.expect(finite_number(ais["estimate"]) && finite_number(ais["stderr"]), "ais: no finite estimate and stderr");
    if (const auto exact = exact_log_z(s, ev["log_z"]); exact && finite_number(ais["estimate"])) {
      const double est = ais["estimate"], se = ais["stderr"];
      c.notes.push_back("ais " + fmt(est) + " se " + fmt(se) + " ess " + fmt(ais["ess"]) + " exact " + fmt(*exact) + " |diff|/se " +
                        fmt(std::abs(est - *exact) / se));
      c.expect(std::abs(est - *exact) <= ais_tolerance(se),
               "ais: estimate " + fmt(est) + " (se " + fmt(se) + ", ess " + fmt(ais["ess"]) + ") against exact log Z " + fmt(*exact));
      if (ais.contains("sandwich") && ais["sandwich"]["upper_guaranteed"] == true) {
        const double lower = ais["sandwich"]["lower"], upper = ais["sandwich"]["upper"];
        const double lse = ais["lower_bound_stderr"], use = ais["reverse"]["upper_bound_stderr"];
        c.expect(lower - ais_tolerance(lse) <= *exact && *exact <= upper + ais_tolerance(use),
                 "ais: sandwich [" + fmt(lower) + ", " + fmt(upper) + "] misses exact log Z " + fmt(*exact));
      }
      c.closed_form = true;
    }
  }
}

struct Counts {
  int run = 0, refused = 0, closed_form = 0;
  double seconds = 0;
};

struct Outcome {
  bool refused = false;
  std::string failure;  // empty: refused or ran sanely
  std::string message;  // the refusal
  bool closed_form = false;
  std::vector<std::string> notes;
};

// Building the session in the pair's dtype, then (if it passes) the run and its checks.
template <class T>
void try_session(const Pair& p, const json& cfg, const fs::path& dir, Outcome& o) {
  auto refused = [&](const std::string& what) {
    o.refused = true, o.message = what;
    if (what.find(p.path) == std::string::npos) o.failure = "refused without naming " + p.path + ": " + what;
  };
  std::optional<Session<T>> s;
  try {
    s.emplace(build_session<T>(cfg));
  } catch (const InputError& e) {
    refused(e.what());
  } catch (const std::exception& e) {
    o.failure = std::string("validation threw a non-input error: ") + e.what();
  }
  if (!s) return;
  try {
    fs::create_directories(dir);
    const json summary = run_experiment(*s, RunOptions{dir, false, true});
    Checks c;
    check_run(*s, summary, dir, c);
    c.expect(summary.value("dtype", "") == dtype_name<T>(), "summary: dtype is not " + std::string(dtype_name<T>()));
    for (const std::string& q : c.problems) o.failure += (o.failure.empty() ? "" : "; ") + q;
    o.closed_form = c.closed_form, o.notes = c.notes;
  } catch (const std::exception& e) {  // an InputError here is a refusal that came after the work had started
    o.failure = std::string("run failed: ") + e.what();
  }
}

// Validation, then (if it passes) the run and its checks, in the dtype the pair's config names.
Outcome try_pair(const Pair& p, const fs::path& dir) {
  Outcome o;
  json cfg;
  try {
    cfg = resolve_config(p.config.dump(), "pair.json", {}, ".");
  } catch (const ConfigError& e) {
    o.refused = true, o.message = e.what();
    if (o.message.find(p.path) == std::string::npos) o.failure = "refused without naming " + p.path + ": " + o.message;
    return o;
  } catch (const std::exception& e) {
    o.failure = std::string("validation threw a non-input error: ") + e.what();
    return o;
  }
  with_dtype(config_dtype(cfg), [&](auto tag) { try_session<typename decltype(tag)::type>(p, cfg, dir, o); });
  return o;
}

// Runs every pair, fails the test case on each pair that is neither refused nor run sanely, prints the counts.
// `expected_refusals`: regression lines, each a label prefix and the path its refusal must name.
void run_matrix(const std::vector<Pair>& pairs, const std::vector<std::pair<std::string, std::string>>& expected_refusals = {}) {
  const fs::path root = fs::temp_directory_path() / ("ebm_compat_" + std::to_string(::getpid()));
  std::map<std::string, Counts> counts;
  std::vector<int> regression_hits(expected_refusals.size(), 0);
  int failures = 0, index = 0, seen = 0;
  // For debugging: EBM_COMPAT_FILTER runs only the pairs whose label contains it; EBM_COMPAT_VERBOSE prints each pair.
  const char* filter = std::getenv("EBM_COMPAT_FILTER");
  const bool verbose = std::getenv("EBM_COMPAT_VERBOSE") != nullptr;
  for (const Pair& p : pairs) {
    if (filter && p.label.find(filter) == std::string::npos) continue;
    ++seen;
    const auto t0 = std::chrono::steady_clock::now();
    const fs::path dir = root / ("pair" + std::to_string(index++));
    Outcome o = try_pair(p, dir);
    for (size_t k = 0; k < expected_refusals.size(); ++k)
      if (p.label.rfind(expected_refusals[k].first, 0) == 0) {
        ++regression_hits[k];
        if (o.failure.empty() && !(o.refused && o.message.find(expected_refusals[k].second) != std::string::npos))
          o.failure = "expected a refusal naming " + expected_refusals[k].second + (o.refused ? ", got: " + o.message : ", but it ran");
      }
    Counts& n = counts[p.category];
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n.seconds += seconds;
    if (verbose) {
      const char* what = !o.failure.empty() ? "FAILED" : o.refused ? "refused" : o.closed_form ? "run+exact" : "run";
      std::printf("[compat] %6.3f s  %-9s %s\n", seconds, what, p.label.c_str());
      for (const std::string& note : o.notes) std::printf("[compat]            %s\n", note.c_str());
      if (o.refused) std::printf("[compat]            %s\n", o.message.c_str());
    }
    if (!o.failure.empty()) {
      ++failures;
      FAIL_CHECK(p.label << ": " << o.failure << "\n  config: " << p.config.dump());
      continue;
    }
    if (o.refused) {
      ++n.refused;
    } else {
      ++n.run;
      n.closed_form += o.closed_form;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  int counted = 0;
  for (const auto& [category, n] : counts) {
    MESSAGE("compatibility " << category << ": " << n.run << " run (" << n.closed_form << " checked against a closed form), " << n.refused
                             << " refused, " << fmt(n.seconds) << " s");
    counted += n.run + n.refused;
  }
  CHECK(failures == 0);
  CHECK(counted + failures == seen);  // every pair counted: run, refused or failed
  if (!filter)
    for (size_t k = 0; k < expected_refusals.size(); ++k)
      CHECK_MESSAGE(regression_hits[k] > 0, "regression line \"" << expected_refusals[k].first << "\" matches no pair");
  if (failures == 0) {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
}

}  // namespace

TEST_CASE("compatibility matrix: every model against every sampler, objective and evaluation method is refused or runs sanely") {
  const Registry& r = registry();
  // Every component says how to try it (registry.hpp); one without smoke settings would be left out of the matrix.
  for (const ModelEntry& m : r.models) CHECK_MESSAGE(!m.smoke.empty(), "model \"" << m.name << "\" has no smoke experiment");
  for (const ObjectiveEntry& o : r.objectives) CHECK_MESSAGE(!o.smoke.empty(), "objective \"" << o.name << "\" has no smoke settings");
  for (const SamplerEntry& s : r.samplers) CHECK_MESSAGE(!s.smoke.empty(), "sampler \"" << s.name << "\" has no smoke settings");
  // Regression lines: pairs that once ran to a wrong result or failed late, now refused by validation.
  const std::vector<std::pair<std::string, std::string>> regressions = {
      // Continuous kernels and methods for densities on R^d applied to binary units: samples, CD's negatives and
      // f-EBM's model draws left {0,1}^d or {-1,+1}^d, and scores were fitted to point masses.
      {"rbm#0 x sampler mala", "sampler.type"},
      {"boltzmann#1 x sampler tempering", "sampler.type"},
      {"boltzmann#0 x objective cd {steps=2}", "objective.sampler.type"},
      {"boltzmann#1 x objective sm", "objective.type"},
      {"rbm#0 x objective f_ebm", "objective.type"},
      {"rbm#0 x objective adversarial", "objective.type"},
      {"rbm#0 x objective lsd", "objective.type"},
      // A Gaussian noise fitted to data with a singular covariance (binary images): a std::domain_error escaped
      // validation (exit 1).
      {"noise_conditional#0 x objective nce", "objective.type"},
  };
  run_matrix(all_pairs(Crossing::one_at_a_time, true), regressions);
}

TEST_CASE("compatibility matrix in float64: every model's first smoke experiment against every sampler and objective") {
  // The matrix above runs in the default dtype, float32. The components' code is the same for both dtypes (one
  // registration, two instantiations), so float64 needs no second full matrix: every model, sampler and objective
  // once more (the evaluation methods compute log Z, AIS and the pseudo-likelihood in float64 either way).
  std::vector<Pair> pairs;
  for (Pair& p : all_pairs(Crossing::one_at_a_time, true))
    if (p.category != "evaluation" && p.label.find("#0 x ") != std::string::npos) {
      p.config["dtype"] = "float64";
      p.label = "float64 " + p.label;
      pairs.push_back(std::move(p));
    }
  run_matrix(pairs);
}

TEST_CASE("compatibility matrix, evaluation methods with their settings crossed in full" * doctest::test_suite("long")) {
  // The pairs of the full product that the fast matrix does not already run (compared with defaults filled in).
  auto resolved = [](const json& config) {
    try {
      return resolve_config(config.dump(), "pair.json", {}, ".").dump();
    } catch (const ConfigError&) {
      return config.dump();
    }
  };
  std::vector<std::string> fast;
  for (const Pair& p : all_pairs(Crossing::one_at_a_time, false)) fast.push_back(resolved(p.config));
  std::vector<Pair> rest;
  for (Pair& p : all_pairs(Crossing::product, false))
    if (std::find(fast.begin(), fast.end(), resolved(p.config)) == fast.end()) rest.push_back(std::move(p));
  run_matrix(rest);
}
