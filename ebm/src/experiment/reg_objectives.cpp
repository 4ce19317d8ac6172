// Objectives: exact, sliced and denoising score matching (one level or a ladder), noise-contrastive estimation,
// and maximum likelihood with MCMC negatives (CD / PCD / replay buffer, JEM).
#include <algorithm>
#include <limits>

#include "ebm/experiment/registry.hpp"
#include "ebm/models/classifier.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/objectives/contrastive_divergence.hpp"
#include "ebm/objectives/denoising.hpp"
#include "ebm/objectives/jem.hpp"
#include "ebm/objectives/nce.hpp"
#include "ebm/objectives/score_matching.hpp"
#include "ebm/objectives/sliced.hpp"

namespace ebm::experiment {

namespace {

// The negative phase's fields, shared by cd and jem; defaults differ (CD-1 from the data vs JEM's buffer).
std::vector<Field> negative_fields(int64_t steps, const char* start, int64_t buffer, double reinit, const char* sampler, double energy_reg) {
  return {{"sampler", one_of("the MCMC kernel of the negative chains", "type",
                             {{"langevin", object("unadjusted Langevin", langevin_fields(0.01))},
                              {"mala", object("Metropolis-adjusted Langevin", {{"step_size", number("eps", 0.05).positive()}})},
                              {"hmc", object("Hamiltonian Monte Carlo", {{"step_size", number("eps", 0.1).positive()},
                                                                         {"leapfrog_steps", integer("leapfrog steps per transition", 10).at_least(1)}})},
                              {"gibbs", object("Gibbs: block for RBMs, single-site for Boltzmann machines", {})}},
                             sampler)},
          {"steps", integer("k: sampler transitions per training step", steps).at_least(1)},
          {"start", enumeration("data: CD-k from the batch; persistent: PCD / replay buffer", {"data", "persistent"}, start)},
          {"negatives", integer("negative samples per step (0: the batch size)", 0).non_negative()},
          {"buffer_size", integer("persistent chains in the pool (0: as many as negatives, i.e. PCD)", buffer).non_negative()},
          {"reinit_prob", number("probability that a drawn chain restarts from noise", reinit).range(0, 1)},
          {"init", enumeration("noise of fresh persistent chains: auto (coin flips for binary data, else uniform on the data's box), "
                               "uniform on the data's box, or normal(0, init_sd^2)",
                               {"auto", "uniform", "normal", "bernoulli"}, "auto")},
          {"init_sd", number("stddev of normal init", 1.0).positive()},
          {"energy_reg", number("alpha of the energy-magnitude regulariser alpha (E+^2 + E-^2)", energy_reg).non_negative()}};
}

NegativePhase<double> negative_phase(const json& c, const Dataset& data) {
  NegativeOptions o;
  o.steps = c["steps"], o.count = c["negatives"];
  o.start = c["start"].get<std::string>() == "data" ? ChainStart::data : ChainStart::persistent;
  o.buffer.capacity = c["buffer_size"], o.buffer.reinit_prob = c["reinit_prob"];
  if (o.start == ChainStart::persistent && o.buffer.capacity > 0 && o.count > o.buffer.capacity)
    throw InputError("objective.negatives: " + std::to_string(o.count) + " negatives per step from a pool of objective.buffer_size = " +
                     std::to_string(o.buffer.capacity) + " chains");
  std::string init = c["init"];
  const bool binary = std::all_of(data.x.begin(), data.x.end(), [](double v) { return v == 0.0 || v == 1.0; });
  if (init == "auto") init = binary ? "bernoulli" : "uniform";
  if (init == "bernoulli") {
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
  SamplerFactory<double> factory;
  if (kind == "langevin") {
    samplers::LangevinOptions l;
    l.step_size = sc["step_size"], l.grad_clip_norm = sc["grad_clip_norm"];
    if (!sc["noise_scale"].is_null()) l.noise_scale = sc["noise_scale"];
    factory = langevin_sampler<double>(l);
  } else if (kind == "mala") {
    samplers::MalaOptions m;
    m.step_size = sc["step_size"];
    factory = mala_sampler<double>(m);
  } else if (kind == "hmc") {
    samplers::HmcOptions h;
    h.step_size = sc["step_size"], h.leapfrog_steps = sc["leapfrog_steps"];
    factory = hmc_sampler<double>(h);
  } else {
    factory = gibbs_sampler<double>();
  }
  return NegativePhase<double>(std::move(factory), o);  // the pool's seed follows from the run's seed
}

void check_negative_sampler(const json& c, const Energy<double>& m) {
  if (c["sampler"]["type"] == "gibbs") check_gibbs_model(m, "objective.sampler.type");
}

template <class O>
json describe_negatives(const Objective<double>& obj, const Energy<double>&, const Dataset&) {
  const auto& o = dynamic_cast<const O&>(obj);
  json j = {{"last_accept_rate", o.negatives().last_stats().acceptance_rate()}};
  if (const auto* b = o.negatives().buffer()) j["persistent_chains"] = b->capacity();
  return j;
}

}  // namespace

void register_objectives(Registry& r) {
  r.objectives.push_back({"ssm", "sliced score matching (Song et al. 2019)",
                          {{"projections", integer("random projections per sample", 1).at_least(1)},
                           {"projection", enumeration("distribution of the projections", {"gaussian", "rademacher", "sphere"}, "rademacher")},
                           {"variance_reduced", boolean("SSM-VR: closed-form first term (gaussian/rademacher only)", true)}},
                          [](const json& c, const Dataset&) -> std::unique_ptr<Objective<double>> {
                            std::string p = c["projection"];
                            Projection kind = p == "gaussian" ? Projection::gaussian : p == "sphere" ? Projection::sphere : Projection::rademacher;
                            if (kind == Projection::sphere && c["variance_reduced"].get<bool>())
                              throw InputError("objective.variance_reduced: must be false with \"projection\": \"sphere\"");
                            return std::make_unique<SlicedScoreMatching<double>>(c["projections"].get<int>(), kind, c["variance_reduced"].get<bool>());
                          }});
  r.objectives.push_back({"sm", "exact score matching (Hyvarinen 2005); d Hessian-vector products per batch",
                          {{"hutchinson_probes", integer("0: exact trace; > 0: Hutchinson estimate with that many probes", 0).non_negative()}},
                          [](const json& c, const Dataset&) -> std::unique_ptr<Objective<double>> {
                            return std::make_unique<ScoreMatching<double>>(c["hutchinson_probes"].get<int>());
                          }});
  r.objectives.push_back({"dsm", "denoising score matching at one noise level (Vincent 2011)",
                          {{"sigma", number("noise stddev", 0.1).positive()},
                           {"control_variate", boolean("subtract the small-sigma control variate (Song & Kingma 2021)", false)}},
                          [](const json& c, const Dataset&) -> std::unique_ptr<Objective<double>> {
                            return std::make_unique<DenoisingScoreMatching<double>>(c["sigma"].get<double>(), c["control_variate"].get<bool>());
                          }});
  r.objectives.push_back({"nce", "noise-contrastive estimation with a learnt log Z, noise a Gaussian fitted to the data",
                          {{"noise_ratio", number("noise samples per data sample", 1.0).positive()},
                           {"noise_scale", number("widen the fitted noise by this factor", 1.0).positive()},
                           {"init_log_z", number("initial log Z", 0.0)}},
                          [](const json& c, const Dataset& d) -> std::unique_ptr<Objective<double>> {
                            return std::make_unique<NoiseContrastiveEstimation<double>>(d.x, c["noise_ratio"].get<double>(),
                                                                                        c["noise_scale"].get<double>(), c["init_log_z"].get<double>());
                          },
                          [](const Objective<double>& o, const Energy<double>&, const Dataset&) {
                            return json{{"log_z", dynamic_cast<const NoiseContrastiveEstimation<double>&>(o).log_z()}};
                          }});
  r.objectives.push_back({"dsm_ladder", "denoising score matching over a geometric ladder of noise levels with sigma^2 weights (NCSN); needs a noise_conditional model",
                          {{"sigma_max", number("largest noise level", 1.0).positive()},
                           {"sigma_min", number("smallest noise level", 0.01).positive()},
                           {"levels", integer("noise levels", 10).at_least(2)}},
                          [](const json& c, const Dataset&) -> std::unique_ptr<Objective<double>> {
                            if (!(c["sigma_min"].get<double>() < c["sigma_max"].get<double>()))
                              throw InputError("objective.sigma_min: expected a number below objective.sigma_max");
                            return std::make_unique<MultiScaleDenoisingScoreMatching<double>>(
                                geometric_sigmas(c["sigma_max"], c["sigma_min"], c["levels"]));
                          },
                          {},
                          [](const json&, const Energy<double>& m) {
                            if (!dynamic_cast<const NoiseConditionalEnergy<double>*>(&m))
                              throw InputError("objective.type: \"dsm_ladder\" needs model.type \"noise_conditional\", got \"" + m.name() + "\"");
                          }});
  r.objectives.push_back({"cd", "maximum likelihood with MCMC negatives: CD-k (start: data), PCD or a replay buffer (start: persistent), any sampler",
                          negative_fields(1, "data", 0, 0.0, "langevin", 0.0),
                          [](const json& c, const Dataset& d) -> std::unique_ptr<Objective<double>> {
                            return std::make_unique<ContrastiveDivergence<double>>(negative_phase(c, d), c["energy_reg"].get<double>());
                          },
                          describe_negatives<ContrastiveDivergence<double>>,
                          check_negative_sampler});
  {
    std::vector<Field> f = negative_fields(20, "persistent", 10000, 0.05, "langevin", 0.0);
    f.push_back({"px_weight", number("weight of the log p(x) term (0: a plain classifier)", 1.0).non_negative()});
    r.objectives.push_back({"jem", "JEM: cross-entropy of p(y|x) plus maximum likelihood of p(x) with SGLD on a replay buffer (classifier model, labelled data)",
                            std::move(f),
                            [](const json& c, const Dataset& d) -> std::unique_ptr<Objective<double>> {
                              if (d.labels.empty()) throw InputError("objective.type: \"jem\" needs labelled data (this data source has no labels)");
                              return std::make_unique<JointEnergyModel<double>>(negative_phase(c, d), c["px_weight"].get<double>(),
                                                                                c["energy_reg"].get<double>());
                            },
                            [](const Objective<double>& o, const Energy<double>& m, const Dataset& d) {
                              json j = describe_negatives<JointEnergyModel<double>>(o, m, d);
                              // Accuracy of argmax p(y|x) over the whole training set.
                              const ad::Tensor<double> p = dynamic_cast<const ClassifierEnergy<double>&>(m).class_probabilities(d.x);
                              int64_t right = 0;
                              for (int64_t i = 0; i < p.rows(); ++i) {
                                int64_t best = 0;
                                for (int64_t k = 1; k < p.cols(); ++k)
                                  if (p.at(i, k) > p.at(i, best)) best = k;
                                right += best == d.labels[size_t(i)];
                              }
                              j["train_accuracy"] = double(right) / double(p.rows());
                              return j;
                            },
                            [](const json& c, const Energy<double>& m) {
                              if (!dynamic_cast<const ClassifierEnergy<double>*>(&m))
                                throw InputError("objective.type: \"jem\" needs model.type \"classifier\", got \"" + m.name() + "\"");
                              check_negative_sampler(c, m);
                            }});
  }
}

}  // namespace ebm::experiment
