// Objectives: exact, sliced and denoising score matching, and noise-contrastive estimation.
#include "ebm/experiment/registry.hpp"
#include "ebm/objectives/denoising.hpp"
#include "ebm/objectives/nce.hpp"
#include "ebm/objectives/score_matching.hpp"
#include "ebm/objectives/sliced.hpp"

namespace ebm::experiment {

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
                          }});
  // TODO(registry): the DSM noise ladder needs a noise-conditional model entry; contrastive divergence /
  // persistent CD are not in ebm/objectives yet.
}

}  // namespace ebm::experiment
