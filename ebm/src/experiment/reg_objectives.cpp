// Objectives: exact, sliced and denoising score matching (one level or a ladder), noise-contrastive estimation,
// maximum likelihood with MCMC negatives (CD / PCD / replay buffer, JEM), f-EBM, adversarial training, the learned
// Stein discrepancy and flow contrastive estimation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "enum_field.hpp"

#include "ebm/experiment/registry.hpp"
#include "ebm/models/classifier.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/models/gaussian.hpp"
#include "ebm/objectives/adversarial.hpp"
#include "ebm/objectives/contrastive_divergence.hpp"
#include "ebm/objectives/denoising.hpp"
#include "ebm/objectives/f_divergence.hpp"
#include "ebm/objectives/fce.hpp"
#include "ebm/objectives/jem.hpp"
#include "ebm/objectives/lsd.hpp"
#include "ebm/objectives/nce.hpp"
#include "ebm/objectives/score_matching.hpp"
#include "ebm/objectives/sliced.hpp"

namespace ebm::experiment {

namespace {

// The negative phase's fields, shared by cd and jem; defaults differ (CD-1 from the data vs JEM's buffer).
constexpr EnumName<ChainStart> kChainStartNames[] = {{"data", ChainStart::data}, {"persistent", ChainStart::persistent}};

std::vector<Field> negative_fields(int64_t steps, ChainStart start, int64_t buffer, double reinit, const char* sampler, double energy_reg) {
  return {{"sampler", one_of("the MCMC kernel of the negative chains", "type",
                             {{"langevin", object("unadjusted Langevin", langevin_fields(0.01))},
                              {"mala", object("Metropolis-adjusted Langevin", {{"step_size", number("eps", 0.05).positive()}})},
                              {"hmc", object("Hamiltonian Monte Carlo", {{"step_size", number("eps", 0.1).positive()},
                                                                         {"leapfrog_steps", integer("leapfrog steps per transition", 10).at_least(1)}})},
                              {"gibbs", object("Gibbs: block for RBMs, single-site for Boltzmann machines", {})}},
                             sampler)},
          {"steps", integer("k: sampler transitions per training step", steps).at_least(1)},
          {"start", enum_field(kChainStartNames, "data: CD-k from the batch; persistent: PCD / replay buffer", start)},
          {"negatives", integer("negative samples per step (0: the batch size)", 0).non_negative()},
          {"buffer_size", integer("persistent chains in the pool (0: as many as negatives, i.e. PCD)", buffer).non_negative()},
          {"reinit_prob", number("probability that a drawn chain restarts from noise", reinit).range(0, 1)},
          {"init", enumeration("noise of fresh persistent chains: auto (coin flips for binary data, else uniform on the data's box), "
                               "uniform on the data's box, normal(0, init_sd^2), bernoulli (coin flips), or zeros (every unit off: "
                               "scikit-learn's BernoulliRBM starts its hidden chains so)",
                               {"auto", "uniform", "normal", "bernoulli", "zeros"}, "auto")},
          {"init_sd", number("stddev of normal init", 1.0).positive()},
          {"persist", enumeration("what persistent chains keep: visible (v; each step draws h | v, then v | h) or hidden (an RBM's h, "
                                  "as scikit-learn's BernoulliRBM: v | h, then h | v; needs start persistent and the gibbs sampler; "
                                  "fresh chains are coin flips, or zeros with init \"zeros\")",
                                  {"visible", "hidden"}, "visible")},
          {"energy_reg", number("alpha of the energy-magnitude regulariser alpha (E+^2 + E-^2)", energy_reg).non_negative()}};
}

template <class T>
NegativePhase<T> negative_phase(const json& c, const Dataset& data) {
  NegativeOptions o;
  o.steps = c["steps"], o.count = c["negatives"];
  o.start = enum_field_value(kChainStartNames, c["start"], "objective.start");
  o.buffer.capacity = c["buffer_size"], o.buffer.reinit_prob = c["reinit_prob"];
  if (o.start == ChainStart::persistent && o.buffer.capacity > 0 && o.count > o.buffer.capacity)
    throw InputError("objective.negatives: " + std::to_string(o.count) + " negatives per step from a pool of objective.buffer_size = " +
                     std::to_string(o.buffer.capacity) + " chains");
  if (c["persist"] == "hidden") {
    if (o.start != ChainStart::persistent)
      throw InputError("objective.persist: \"hidden\" needs objective.start \"persistent\", got \"" + c["start"].get<std::string>() + "\"");
    if (c["sampler"]["type"] != "gibbs")
      throw InputError("objective.persist: \"hidden\" needs objective.sampler.type \"gibbs\", got \"" + c["sampler"]["type"].get<std::string>() + "\"");
    o.persist = samplers::RbmChainUnits::hidden;
  }
  std::string init = c["init"];
  const bool binary = std::all_of(data.x.begin(), data.x.end(), [](double v) { return v == 0.0 || v == 1.0; });
  if (init == "auto") init = binary ? "bernoulli" : "uniform";
  if (init == "zeros") {
    o.buffer.init = [](double* row, int64_t dim, ad::Rng&) { std::fill(row, row + dim, 0.0); };
  } else if (init == "bernoulli" || o.persist == samplers::RbmChainUnits::hidden) {  // hidden units: coin flips
    o.buffer.init = bernoulli_init();
  } else if (init == "normal") {
    o.buffer.noise = samplers::InitNoise::normal, o.buffer.sd = c["init_sd"];
  } else {  // uniform on the data's bounding box, per axis
    const int64_t d = data.x.cols();
    std::vector<double> lo(size_t(d), std::numeric_limits<double>::infinity()), hi(size_t(d), -std::numeric_limits<double>::infinity());
    for (int64_t i = 0; i < data.x.rows(); ++i)
      for (int64_t k = 0; k < d; ++k) lo[size_t(k)] = std::min(lo[size_t(k)], data.x.at(i, k)), hi[size_t(k)] = std::max(hi[size_t(k)], data.x.at(i, k));
    o.buffer.init = [lo, hi](double* row, int64_t dim, ad::Rng& rng) {
      for (int64_t k = 0; k < dim; ++k) row[k] = lo[size_t(k)] + (hi[size_t(k)] - lo[size_t(k)]) * rng.uniform();
    };
  }
  const json& sc = c["sampler"];
  const std::string kind = sc["type"];
  SamplerFactory<T> factory;
  if (kind == "langevin") {
    factory = langevin_sampler<T>(langevin_options(sc));
  } else if (kind == "mala") {
    samplers::MalaOptions m;
    m.step_size = sc["step_size"];
    factory = mala_sampler<T>(m);
  } else if (kind == "hmc") {
    samplers::HmcOptions h;
    h.step_size = sc["step_size"], h.leapfrog_steps = sc["leapfrog_steps"];
    factory = hmc_sampler<T>(h);
  } else {
    factory = gibbs_sampler<T>(o.persist);
  }
  return NegativePhase<T>(std::move(factory), o);  // the pool's seed follows from the run's seed
}

template <class T>
void check_negative_sampler(const json& c, const Energy<T>& m) {
  const std::string kernel = c["sampler"]["type"];
  if (kernel == "gibbs")
    check_gibbs_model(m, "objective.sampler.type");
  else
    check_continuous_model(m, "objective.sampler.type", "\"" + kernel + "\" moves continuous states", "use \"gibbs\"");
  if (c["persist"] == "hidden" && !dynamic_cast<const samplers::RbmConditionals<T>*>(&m))
    throw InputError("objective.persist: \"hidden\" needs an RBM (model.type \"rbm\"), got the model \"" + m.name() + "\"");
}

// check_model of the objectives for densities on R^d: `what` says why a binary model cannot be trained so.
auto continuous_only(const std::string& what) {
  return [what](auto, const json&, const auto& m) {
    check_continuous_model(m, "objective.type", what, "train it with \"cd\" and objective.sampler.type \"gibbs\"");
  };
}

// describe of cd and jem (O: the objective's class template): the last step's acceptance (its term, every shard's
// combined) and the persistent chains of all the shards' pools.
template <template <class> class O>
auto describe_negatives() {
  return [](auto tag, const auto& trained, const auto&, const Dataset&) {
    using T = typename decltype(tag)::type;
    double accept = 0;
    for (const Term& t : trained.last_terms())
      if (t.name == "accept_rate") accept = t.value;
    int64_t persistent = 0;
    bool pooled = false;
    for (int s = 0; s < trained.shards(); ++s)
      if (const auto* b = dynamic_cast<const O<T>&>(trained.part(s)).negatives().buffer()) persistent += b->capacity(), pooled = true;
    json j = {{"last_accept_rate", accept}};
    if (pooled) j["persistent_chains"] = persistent;
    return j;
  };
}

// What f-EBM learnt besides the model: the divergence's variational estimate, the density ratio r = p/q_θ on a
// few points and its summaries on the data, and rejection sampling of model draws with it.
template <class T>
json describe_f_ebm(const Objective<T>& objective, const Energy<T>& model, const Dataset& data) {
  const auto& f = dynamic_cast<const FEbm<T>&>(objective);
  ad::Rng rng(20200707, 1);  // fixed: the summary of a run is reproducible
  const int64_t n = std::min<int64_t>(data.x.rows(), 5000);
  ad::Tensor<T> x(ad::Shape{n, data.x.cols()});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < x.cols(); ++k) x.at(r, k) = static_cast<T>(data.x.at(r, k));
  const ad::Tensor<T> y = f.sample_model(model, in_dtype<T>(data.x), n, rng);
  // The Theorem 2 bound with n data rows and n model draws (plain averages: weights relative to θ itself).
  ad::Tape<T> tape;
  const std::vector<ad::Var<T>> theta = bind_params(tape, model.params(), Bind::constant);
  const std::vector<ad::Var<T>> omega = bind_params(tape, objective.extra_params(), Bind::constant);
  const double estimate = f.bound(LossInput<T>{tape, model, theta, omega, x, rng}, y, model.evaluate(y)).item();

  const ad::Tensor<double> log_r_data = f.log_density_ratio(model, x), log_r_model = f.log_density_ratio(model, y);
  double mean_log_r = 0, mean_r_model = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    mean_log_r += log_r_data[i] / double(n);
    mean_r_model += std::exp(log_r_model[i]) / double(n);
    lo = std::min(lo, log_r_data[i]), hi = std::max(hi, log_r_data[i]);
  }
  // A few points: in 1-D a grid over the data's range, otherwise the first data rows.
  const int64_t d = data.x.cols(), k = std::min<int64_t>(d == 1 ? 9 : 5, n);
  ad::Tensor<double> pts(ad::Shape{k, d});
  if (d == 1) {
    double a = INFINITY, b = -INFINITY;
    for (int64_t i = 0; i < n; ++i) a = std::min(a, double(x[i])), b = std::max(b, double(x[i]));
    for (int64_t i = 0; i < k; ++i) pts[i] = a + (b - a) * double(i) / double(std::max<int64_t>(k - 1, 1));
  } else {
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < d; ++j) pts.at(i, j) = double(x.at(i, j));
  }
  const ad::Tensor<double> log_r_pts = f.log_density_ratio(model, pts.cast<T>());
  json at = json::array();
  for (int64_t i = 0; i < k; ++i) {
    json p = json::array();
    for (int64_t j = 0; j < d; ++j) p.push_back(pts.at(i, j));
    at.push_back({{"x", p}, {"ratio", std::exp(log_r_pts[i])}, {"true_ratio", nullptr}});
    if (data.true_log_density) {
      // Only the normalised model would give p/q_θ exactly; a Gaussian model knows its log Z.
      if (const auto* g = dynamic_cast<const GaussianEnergy<T>*>(&model)) {
        ad::Tensor<double> row(ad::Shape{1, d});
        for (int64_t j = 0; j < d; ++j) row[j] = pts.at(i, j);
        at.back()["true_ratio"] =
            std::exp(data.true_log_density(row)[0] + double(model.evaluate(row.cast<T>())[0]) + double(g->log_partition()));
      }
    }
  }
  const RejectionResult<T> rej = f.rejection_sample(model, y, rng);
  return {{"divergence", f.divergence().name()},
          {"variational_estimate", estimate},
          {"density_ratio",
           {{"mean_log_ratio_on_data", mean_log_r},
            {"min_log_ratio_on_data", lo},
            {"max_log_ratio_on_data", hi},
            {"mean_ratio_under_model", mean_r_model},
            {"at", at}}},
          {"rejection_sampling", {{"proposals", n}, {"accepted", rej.accepted.rows()}, {"acceptance_rate", rej.acceptance}, {"bound_M", rej.bound}}}};
}

// The sampler q: its moments (closed form for the Gaussian, from draws for the flow) and entropy.
template <class T>
json describe_adversarial(const Objective<T>& objective, const Energy<T>&, const Dataset&) {
  const auto& a = dynamic_cast<const AdversarialTraining<T>&>(objective);
  ad::Rng rng(20210101, 2);
  const int64_t n = 20000, d = a.dim();
  json out = {{"family", a.options().family == SamplerFamily::gaussian ? "gaussian" : "flow"}};
  json mean = json::array(), cov = json::array();
  if (a.options().family == SamplerFamily::gaussian) {
    const ad::Tensor<T>& m = objective.extra_params()[0].value;
    const ad::Tensor<T>& s = objective.extra_params()[1].value;
    for (int64_t i = 0; i < d; ++i) {
      mean.push_back(double(m[i]));
      json row = json::array();
      for (int64_t j = 0; j < d; ++j) row.push_back(i == j ? std::exp(2 * double(s[i])) : 0.0);
      cov.push_back(row);
    }
    out["moments"] = "closed form";
  } else {
    const ad::Tensor<double> y = a.sample(n, rng);
    std::vector<double> mu(static_cast<size_t>(d), 0.0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < d; ++i) mu[static_cast<size_t>(i)] += y.at(r, i) / double(n);
    for (int64_t i = 0; i < d; ++i) {
      mean.push_back(mu[static_cast<size_t>(i)]);
      json row = json::array();
      for (int64_t j = 0; j < d; ++j) {
        double c = 0;
        for (int64_t r = 0; r < n; ++r) c += (y.at(r, i) - mu[static_cast<size_t>(i)]) * (y.at(r, j) - mu[static_cast<size_t>(j)]);
        row.push_back(c / double(n));
      }
      cov.push_back(row);
    }
    out["moments"] = "from " + std::to_string(n) + " draws";
  }
  out["mean"] = mean;
  out["covariance"] = cov;
  out["entropy"] = a.entropy(n, rng);
  return out;
}

constexpr EnumName<Projection> kProjectionNames[] = {
    {"gaussian", Projection::gaussian}, {"rademacher", Projection::rademacher}, {"sphere", Projection::sphere}};
constexpr EnumName<SamplerFamily> kSamplerFamilyNames[] = {{"gaussian", SamplerFamily::gaussian}, {"flow", SamplerFamily::flow}};
constexpr EnumName<ad::Probe> kProbeNames[] = {{"gaussian", ad::Probe::gaussian}, {"rademacher", ad::Probe::rademacher}};

// The fields `fields`, then `more`.
std::vector<Field> with(std::vector<Field> fields, const std::vector<Field>& more) {
  fields.insert(fields.end(), more.begin(), more.end());
  return fields;
}

// The coupling flow's fields, shared by adversarial (its sampler) and fce (its noise); `layers` describes flow_layers.
std::vector<Field> flow_fields(const char* layers) {
  return {{"flow_layers", integer(layers, 4).at_least(1)},
          {"flow_hidden", array_of("hidden widths of each coupling's networks", integer("", std::nullopt).at_least(1), json::array({32, 32})).items_between(1, 16)},
          {"flow_activation", enum_field(kActivationNames, "the couplings' hidden activation", Activation::tanh)},
          {"init_seed", integer("seed of the flow's initialisation", 0).non_negative()}};
}

struct FlowSettings {
  int layers;
  std::vector<int64_t> hidden;
  Activation activation;
  uint64_t init_seed;
};

FlowSettings flow_settings(const json& c) {
  return {c["flow_layers"].get<int>(), c["flow_hidden"].get<std::vector<int64_t>>(),
          enum_field_value(kActivationNames, c["flow_activation"], "objective.flow_activation"), c["init_seed"].get<uint64_t>()};
}

// What FCE learnt besides the model: c, and the flow noise's moments and its mean log-density on the data.
template <class T>
json describe_fce(const Objective<T>& objective, const Dataset& data) {
  const auto& f = dynamic_cast<const FlowContrastiveEstimation<T>&>(objective);
  ad::Rng rng(20200117, 3);  // fixed: the summary of a run is reproducible
  const int64_t n = 20000, d = f.dim();
  const ad::Tensor<double> y = f.sample(n, rng);
  std::vector<double> mu(static_cast<size_t>(d), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < d; ++i) mu[static_cast<size_t>(i)] += y.at(r, i) / double(n);
  json mean = json::array(), sd = json::array();
  for (int64_t i = 0; i < d; ++i) {
    double v = 0;
    for (int64_t r = 0; r < n; ++r) v += std::pow(y.at(r, i) - mu[static_cast<size_t>(i)], 2) / double(n);
    mean.push_back(mu[static_cast<size_t>(i)]);
    sd.push_back(std::sqrt(v));
  }
  const ad::Tensor<double> log_q = f.log_density(in_dtype<T>(data.x));
  double mean_log_q = 0;
  for (int64_t r = 0; r < log_q.numel(); ++r) mean_log_q += log_q[r] / double(log_q.numel());
  return {{"log_z", f.log_z()},
          {"flow", {{"mean", mean}, {"sd", sd}, {"moments", "from " + std::to_string(n) + " draws"}, {"mean_log_density_on_data", mean_log_q}}}};
}

}  // namespace

void register_objectives(Registry& r) {
  r.objectives.push_back({"ssm", "sliced score matching (Song et al. 2019)",
                          {{"projections", integer("random projections per sample", 1).at_least(1)},
                           {"projection", enum_field(kProjectionNames, "distribution of the projections", Projection::rademacher)},
                           {"variance_reduced", boolean("SSM-VR: closed-form first term (gaussian/rademacher only)", true)}},
                          [](auto tag, const json& c, const Dataset&) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            const Projection kind = enum_field_value(kProjectionNames, c["projection"], "objective.projection");
                            if (kind == Projection::sphere && c["variance_reduced"].get<bool>())
                              throw InputError("objective.variance_reduced: must be false with \"projection\": \"sphere\"");
                            return std::make_unique<SlicedScoreMatching<T>>(c["projections"].get<int>(), kind,
                                                                            c["variance_reduced"].get<bool>());
                          }});
  r.objectives.back().check_model = continuous_only("\"ssm\" fits the score (the gradient in x) of a density on continuous states");
  r.objectives.back().smoke = {json::object()};
  r.objectives.push_back({"sm", "exact score matching (Hyvarinen 2005); d Hessian-vector products per batch",
                          {{"hutchinson_probes", integer("0: exact trace; > 0: Hutchinson estimate with that many probes", 0).non_negative()}},
                          [](auto tag, const json& c, const Dataset&) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            return std::make_unique<ScoreMatching<T>>(c["hutchinson_probes"].get<int>());
                          }});
  r.objectives.back().check_model = continuous_only("\"sm\" fits the score (the gradient in x) of a density on continuous states");
  r.objectives.back().smoke = {json::object()};
  r.objectives.push_back({"dsm", "denoising score matching at one noise level (Vincent 2011)",
                          {{"sigma", number("noise stddev", 0.1).positive()},
                           {"control_variate", boolean("subtract the small-sigma control variate (Song & Kingma 2021)", false)}},
                          [](auto tag, const json& c, const Dataset&) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            return std::make_unique<DenoisingScoreMatching<T>>(c["sigma"].get<double>(), c["control_variate"].get<bool>());
                          }});
  r.objectives.back().check_model = continuous_only("\"dsm\" fits the score of the data with Gaussian noise added");
  r.objectives.back().smoke = {json::object()};
  r.objectives.push_back({"nce", "noise-contrastive estimation with a learnt log Z, noise a Gaussian fitted to the data",
                          {{"noise_ratio", number("noise samples per data sample", 1.0).positive()},
                           {"noise_scale", number("widen the fitted noise by this factor", 1.0).positive()},
                           {"init_log_z", number("initial log Z", 0.0)}},
                          [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            const double ratio = c["noise_ratio"], scale = c["noise_scale"], log_z = c["init_log_z"];
                            try {
                              return std::make_unique<NoiseContrastiveEstimation<T>>(in_dtype<T>(d.x), ratio, scale, log_z);
                            } catch (const std::invalid_argument& e) {  // data the noise Gaussian cannot be fitted to
                              throw InputError(std::string("objective.type: \"nce\" draws its noise from a Gaussian fitted to the data: ") +
                                               e.what());
                            }
                          },
                          [](auto tag, const auto& t, const auto&, const Dataset&) {
                            using T = typename decltype(tag)::type;
                            return json{{"log_z", double(dynamic_cast<const NoiseContrastiveEstimation<T>&>(t.objective()).log_z())}};
                          }});
  r.objectives.back().check_model = continuous_only("\"nce\" contrasts the data with Gaussian noise");
  r.objectives.back().smoke = {json::object()};
  r.objectives.push_back({"dsm_ladder", "denoising score matching over a geometric ladder of noise levels with sigma^2 weights (NCSN); needs a noise_conditional model",
                          {{"sigma_max", number("largest noise level", 1.0).positive()},
                           {"sigma_min", number("smallest noise level", 0.01).positive()},
                           {"levels", integer("noise levels", 10).at_least(2)}},
                          [](auto tag, const json& c, const Dataset&) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            if (!(c["sigma_min"].get<double>() < c["sigma_max"].get<double>()))
                              throw InputError("objective.sigma_min: expected a number below objective.sigma_max");
                            return std::make_unique<MultiScaleDenoisingScoreMatching<T>>(
                                geometric_sigmas(c["sigma_max"], c["sigma_min"], c["levels"]));
                          },
                          {},
                          [](auto tag, const json&, const auto& m) {
                            if (!dynamic_cast<const NoiseConditionalEnergy<typename decltype(tag)::type>*>(&m))
                              throw InputError("objective.type: \"dsm_ladder\" needs model.type \"noise_conditional\", got \"" + m.name() + "\"");
                          }});
  r.objectives.back().smoke = {json::parse(R"({"sigma_max": 1.0, "sigma_min": 0.1, "levels": 3})")};
  {
    std::vector<Field> f = negative_fields(1, ChainStart::data, 0, 0.0, "langevin", 0.0);
    f.push_back({"kl_term", boolean("improved CD (Du et al. 2020): add the KL(q||p) term through the last Langevin step, taken on the tape "
                                    "(langevin sampler only, no grad_clip_norm)", false)});
    f.push_back({"kl_weight", number("weight of the KL term", 1.0).non_negative()});
    f.push_back({"entropy", boolean("kl_term: include the nearest-neighbour entropy of the samples (neighbours: the replay buffer's other "
                                    "chains, or the step's other negatives)", true)});
    r.objectives.push_back({"cd", "maximum likelihood with MCMC negatives: CD-k (start: data), PCD or a replay buffer (start: persistent), any sampler",
                          std::move(f),
                          [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
                            using T = typename decltype(tag)::type;
                            ImprovedCd kl;
                            kl.enabled = c["kl_term"].get<bool>();
                            kl.weight = c["kl_weight"].get<double>(), kl.entropy = c["entropy"].get<bool>();
                            if (kl.enabled) {
                              if (c["sampler"]["type"] != "langevin")
                                throw InputError("objective.kl_term: needs objective.sampler.type \"langevin\" (the last step is a Langevin step on "
                                                 "the tape), got \"" + c["sampler"]["type"].get<std::string>() + "\"");
                              if (c["sampler"]["grad_clip_norm"].get<double>() > 0)
                                throw InputError("objective.kl_term: the last Langevin step is unclipped; set objective.sampler.grad_clip_norm to 0");
                            }
                            return std::make_unique<ContrastiveDivergence<T>>(negative_phase<T>(c, d), c["energy_reg"].get<double>(), kl);
                          },
                          describe_negatives<ContrastiveDivergence>(),
                          [](auto, const json& c, const auto& m) { check_negative_sampler(c, m); }});
  // CD-2 from the data (the matrix adds each other negative sampler), PCD keeping an RBM's hidden units, and improved
  // CD on a replay buffer.
  r.objectives.back().smoke = {json::parse(R"({"steps": 2})"),
                               json::parse(R"({"start": "persistent", "persist": "hidden", "buffer_size": 64, "sampler": {"type": "gibbs"}})"),
                               json::parse(R"({"steps": 3, "kl_term": true, "start": "persistent", "buffer_size": 200, "reinit_prob": 0.05})")};
  }
  {
    std::vector<Field> f = negative_fields(20, ChainStart::persistent, 10000, 0.05, "langevin", 0.0);
    f.push_back({"px_weight", number("weight of the log p(x) term (0: a plain classifier)", 1.0).non_negative()});
    r.objectives.push_back({"jem", "JEM: cross-entropy of p(y|x) plus maximum likelihood of p(x) with SGLD on a replay buffer (classifier model, labelled data)",
                            std::move(f),
                            [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
                              using T = typename decltype(tag)::type;
                              if (d.labels.empty()) throw InputError("objective.type: \"jem\" needs labelled data (this data source has no labels)");
                              return std::make_unique<JointEnergyModel<T>>(negative_phase<T>(c, d), c["px_weight"].get<double>(),
                                                                                c["energy_reg"].get<double>());
                            },
                            describe_negatives<JointEnergyModel>(),  // accuracy: evaluation.accuracy
                            [](auto tag, const json& c, const auto& m) {
                              if (!dynamic_cast<const ClassifierEnergy<typename decltype(tag)::type>*>(&m))
                                throw InputError("objective.type: \"jem\" needs model.type \"classifier\", got \"" + m.name() + "\"");
                              check_negative_sampler(c, m);
                            }});
    r.objectives.back().smoke = {json::parse(R"({"steps": 2, "buffer_size": 128})")};
  }
  r.objectives.push_back(
      {"f_ebm", "f-EBM (Yu et al. 2020): minimise an f-divergence with a variational function H (an MLP); model draws exact for "
                "a Gaussian energy, short-run MALA from data otherwise (validated for Gaussian energies only)",
       {{"divergence", enum_field(kFDivergenceNames, "the f-divergence D_f(p||q)", FDivergence::kl)},
        {"alpha", number("alpha of the alpha-divergence (not 0 or 1)", 0.5)},
        {"hidden", array_of("H's hidden layer widths", integer("", std::nullopt).at_least(1), json::array({64, 64})).items_between(1, 16)},
        {"activation", enum_field(kActivationNames, "H's hidden activation", Activation::tanh)},
        {"model_samples", integer("draws from the model per batch (0: the batch size)", 0).non_negative()},
        {"langevin_steps", integer("non-Gaussian models: MALA steps from data rows", 20).at_least(1)},
        {"langevin_step_size", number("non-Gaussian models: MALA step size", 0.01).positive()},
        {"init_seed", integer("seed of H's initialisation", 0).non_negative()},
        {"exponent_bound", number("K: the log ratio u that T and F exponentiate is bounded so that no exponent exceeds K + 1 "
                                  "(f_divergence.hpp, Note [Bounded exponents]); 0: unbounded", 4.0).non_negative()}},
       [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         FEbmOptions o;
         o.exponent_bound = c["exponent_bound"].get<double>();
         o.divergence = {enum_field_value(kFDivergenceNames, c["divergence"], "objective.divergence"), c["alpha"].get<double>()};
         if (o.divergence.kind == FDivergence::alpha && (o.divergence.alpha == 0.0 || o.divergence.alpha == 1.0))
           throw InputError("objective.alpha: 0 and 1 are the limits reverse_kl and kl; use those divergences");
         o.hidden = c["hidden"].get<std::vector<int64_t>>();
         o.activation = enum_field_value(kActivationNames, c["activation"], "objective.activation");
         o.model_samples = c["model_samples"].get<int64_t>();
         o.langevin_steps = c["langevin_steps"].get<int64_t>();
         o.langevin_step_size = c["langevin_step_size"].get<double>();
         o.init_seed = c["init_seed"].get<uint64_t>();
         return std::make_unique<FEbm<T>>(d.x.cols(), o);
       },
       [](auto, const auto& t, const auto& m, const Dataset& d) { return describe_f_ebm(t.objective(), m, d); }});
  r.objectives.back().check_model = continuous_only("\"f_ebm\" draws the model's samples by MALA, a kernel for continuous states");
  r.objectives.back().smoke = {json::parse(R"({"hidden": [8], "langevin_steps": 3})")};
  r.objectives.push_back(
      {"adversarial", "adversarial (variational) training: min over the model, max over a sampler q of E_p[E] - E_q[E] + H(q)",
       with({{"q", enum_field(kSamplerFamilyNames, "the sampler family: diagonal Gaussian or affine-coupling flow", SamplerFamily::gaussian)},
             {"samples", integer("draws from q per step (0: the batch size)", 0).non_negative()}},
            flow_fields("coupling layers (flow; needs d >= 2)")),
       [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         AdversarialOptions o;
         o.family = enum_field_value(kSamplerFamilyNames, c["q"], "objective.q");
         if (o.family == SamplerFamily::flow && d.x.cols() < 2) throw InputError("objective.q: the flow needs data of dimension >= 2");
         const FlowSettings flow = flow_settings(c);
         o.flow_layers = flow.layers, o.flow_hidden = flow.hidden, o.flow_activation = flow.activation, o.init_seed = flow.init_seed;
         o.samples = c["samples"].get<int64_t>();
         const auto& x = in_dtype<T>(d.x);
         return std::make_unique<AdversarialTraining<T>>(d.x.cols(), o, &x);  // q starts at the data's moments
       },
       [](auto, const auto& t, const auto& m, const Dataset& d) { return describe_adversarial(t.objective(), m, d); }});
  r.objectives.back().check_model = continuous_only("\"adversarial\" draws its negatives from a Gaussian or a flow over continuous states");
  r.objectives.back().smoke = {json::parse(R"({"q": "gaussian"})"),
                               json::parse(R"({"q": "flow", "flow_layers": 2, "flow_hidden": [8]})")};
  r.objectives.push_back(
      {"lsd", "learned Stein discrepancy (Grathwohl et al. 2020): min over the model, max over an MLP critic f of "
              "E_q[s^T f + tr grad f] - lambda E_q|f|^2; no sampling",
       {{"lambda", number("lambda of the critic's L2 penalty (the learned discrepancy is Fisher/(4 lambda) at the optimal critic)", 10.0).positive()},
        {"hidden", array_of("the critic's hidden widths ([]: an affine critic)", integer("", std::nullopt).at_least(1), json::array({64, 64})).items_between(0, 16)},
        {"activation", enum_field(kActivationNames, "the critic's hidden activation", Activation::silu)},
        {"critic_steps", integer("critic updates per model update: critic_steps - 1 inner Adam steps on the batch, then the joint step "
                                 "(lsd.hpp, Note [Critic steps])", 5).at_least(1)},
        {"critic_lr", number("rate of the inner critic Adam (betas 0, 0.999)", 1e-3).positive()},
        {"trace", enum_field(kSteinTraceNames, "tr grad f: exact (d Jacobian-vector products), hutchinson, or auto (exact for d <= 16)",
                             SteinTrace::automatic)},
        {"probes", integer("Hutchinson probes per row", 1).at_least(1)},
        {"probe", enum_field(kProbeNames, "distribution of the Hutchinson probes", ad::Probe::gaussian)},
        {"init_seed", integer("seed of the critic's initialisation", 0).non_negative()}},
       [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         LsdOptions o;
         o.lambda = c["lambda"].get<double>();
         o.hidden = c["hidden"].get<std::vector<int64_t>>();
         o.activation = enum_field_value(kActivationNames, c["activation"], "objective.activation");
         o.critic_steps = c["critic_steps"].get<int>();
         o.critic_lr = c["critic_lr"].get<double>();
         o.trace = enum_field_value(kSteinTraceNames, c["trace"], "objective.trace");
         o.probes = c["probes"].get<int>();
         o.probe = enum_field_value(kProbeNames, c["probe"], "objective.probe");
         o.init_seed = c["init_seed"].get<uint64_t>();
         return std::make_unique<LearnedSteinDiscrepancy<T>>(d.x.cols(), o);
       }});
  r.objectives.back().check_model = continuous_only("\"lsd\" fits the score (the gradient in x) of a density on continuous states");
  r.objectives.back().smoke = {json::parse(R"({"hidden": [8], "critic_steps": 2})"),
                               json::parse(R"({"hidden": [], "trace": "hutchinson", "probe": "rademacher", "probes": 2})")};
  r.objectives.push_back(
      {"fce", "flow contrastive estimation (Gao et al. 2020): NCE with a learnt log Z against a coupling-flow noise that is "
              "trained to maximise the NCE loss",
       with({{"noise_ratio", number("flow draws per data sample", 1.0).positive()}, {"init_log_z", number("initial log Z", 0.0)}},
            flow_fields("coupling layers (1-D data: the flow is its affine layer alone)")),
       [](auto tag, const json& c, const Dataset& d) -> ObjectivePtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         const FlowSettings flow = flow_settings(c);
         FceOptions o;
         o.noise_ratio = c["noise_ratio"].get<double>(), o.init_log_z = c["init_log_z"].get<double>();
         o.flow_layers = flow.layers, o.flow_hidden = flow.hidden, o.flow_activation = flow.activation, o.init_seed = flow.init_seed;
         const auto& x = in_dtype<T>(d.x);
         return std::make_unique<FlowContrastiveEstimation<T>>(d.x.cols(), o, &x);  // the flow starts at the data's moments
       },
       [](auto, const auto& t, const auto&, const Dataset& d) { return describe_fce(t.objective(), d); }});
  r.objectives.back().check_model = continuous_only("\"fce\" contrasts the data with draws from a normalising flow on continuous states");
  r.objectives.back().smoke = {json::parse(R"({"flow_layers": 2, "flow_hidden": [8]})")};
}

}  // namespace ebm::experiment
