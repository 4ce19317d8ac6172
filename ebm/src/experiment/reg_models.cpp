// Models: Gaussian energies (closed-form answers, for checking) and MLP energies.
#include <cmath>

#include "ebm/experiment/registry.hpp"
#include "ebm/models/gaussian.hpp"
#include "ebm/models/mlp.hpp"

namespace ebm::experiment {

void register_models(Registry& r) {
  r.models.push_back(
      {"gaussian", "Gaussian energy; summary.json reports the learned mu and sigma (and covariance for the full form)",
       {{"form", enumeration("diagonal: per-axis sigma; full: full precision via a Cholesky factor", {"diagonal", "full"}, "diagonal")}},
       [](const json& cfg, const Dataset& data, ad::Rng&) -> std::unique_ptr<Energy<double>> {
         auto form = cfg["form"].get<std::string>() == "full" ? GaussianEnergy<double>::Form::full : GaussianEnergy<double>::Form::diagonal;
         return std::make_unique<GaussianEnergy<double>>(data.x.cols(), form);
       },
       [](const Energy<double>& m) {
         const auto& g = dynamic_cast<const GaussianEnergy<double>&>(m);
         ad::Tensor<double> cov = g.covariance();
         json sigma = json::array(), c = json::array();
         for (int64_t k = 0; k < g.dim(); ++k) sigma.push_back(std::sqrt(cov.at(k, k)));
         for (int64_t i = 0; i < g.dim(); ++i) {
           json row = json::array();
           for (int64_t j = 0; j < g.dim(); ++j) row.push_back(cov.at(i, j));
           c.push_back(row);
         }
         return json{{"mu", tensor_to_json(g.mean())}, {"sigma", sigma}, {"covariance", c}, {"log_z_analytic", g.log_partition()}};
       }});
  r.models.push_back(
      {"mlp", "E(x) = MLP(x), a scalar-output perceptron",
       {{"hidden", array_of("hidden layer widths", integer("", std::nullopt).at_least(1), json::array({64, 64})).items_between(1, 16)},
        {"activation", enumeration("hidden activation (relu makes score-matching objectives degenerate)",
                                   {"silu", "softplus", "tanh", "elu", "relu", "sigmoid"}, "silu")}},
       [](const json& cfg, const Dataset& data, ad::Rng& rng) -> std::unique_ptr<Energy<double>> {
         std::vector<int64_t> hidden = cfg["hidden"];
         return std::make_unique<MlpEnergy<double>>(data.x.cols(), hidden, activation_from_string(cfg["activation"].get<std::string>()), rng);
       },
       {}});
  // TODO(registry): Bernoulli/Gaussian RBMs and Boltzmann machines need a contrastive-divergence objective
  // (not in ebm/objectives yet); register them together with it.
}

}  // namespace ebm::experiment
