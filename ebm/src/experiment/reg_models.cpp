// Models: Gaussian energies (closed-form answers, for checking), MLP energies, RBMs, Boltzmann machines, the
// classifier of JEM and the noise-conditional MLP of NCSN-style training.
#include <algorithm>
#include <cmath>

#include "enum_field.hpp"

#include "ebm/experiment/registry.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/classifier.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/models/gaussian.hpp"
#include "ebm/models/mlp.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm::experiment {

namespace {

// The MLP-based models' hidden activation.
Node activation_field() {
  return enum_field(kActivationNames, "hidden activation (relu makes score-matching objectives degenerate)", Activation::silu);
}

template <class T>
using Conditioning = typename NoiseConditionalEnergy<T>::Conditioning;
template <class T>
constexpr EnumName<Conditioning<T>> kConditioningNames[] = {{"input_column", Conditioning<T>::input_column},
                                                            {"scale", Conditioning<T>::scale},
                                                            {"column_and_scale", Conditioning<T>::column_and_scale}};

}  // namespace

void register_models(Registry& r) {
  r.models.push_back(
      {"gaussian", "Gaussian energy; summary.json reports the learned mu and sigma (and covariance for the full form)",
       {{"form", enumeration("diagonal: per-axis sigma; full: full precision via a Cholesky factor", {"diagonal", "full"}, "diagonal")}},
       [](auto tag, const json& cfg, const Dataset& data, ad::Rng&) -> EnergyPtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         auto form = cfg["form"].get<std::string>() == "full" ? GaussianEnergy<T>::Form::full : GaussianEnergy<T>::Form::diagonal;
         return std::make_unique<GaussianEnergy<T>>(data.x.cols(), form);
       },
       [](auto tag, const auto& m) {
         using T = typename decltype(tag)::type;
         const auto& g = dynamic_cast<const GaussianEnergy<T>&>(m);
         const auto cov = g.covariance();
         json sigma = json::array(), c = json::array();
         for (int64_t k = 0; k < g.dim(); ++k) sigma.push_back(std::sqrt(double(cov.at(k, k))));
         for (int64_t i = 0; i < g.dim(); ++i) {
           json row = json::array();
           for (int64_t j = 0; j < g.dim(); ++j) row.push_back(double(cov.at(i, j)));
           c.push_back(row);
         }
         return json{{"mu", tensor_to_json(g.mean())}, {"sigma", sigma}, {"covariance", c}, {"log_z_analytic", double(g.log_partition())}};
       }});
  // 2-D with the full precision (its covariance checked against samples) and 1-D (quadrature on a line); data near the
  // N(0, I) start, so that a few steps leave the model near the samplers' starting noise.
  r.models.back().smoke = {
      json::parse(R"({"data": {"type": "gaussian_mixture", "n": 256, "means": [[0.1, -0.1]], "scales": [[1.0, 0.9]]},
                      "model": {"form": "full"}, "objective": {"type": "sm"}, "sampler": {"type": "mala"}})"),
      json::parse(R"({"data": {"type": "mixture_1d", "n": 256, "means": [0.1], "stds": [1.1]},
                      "model": {"form": "diagonal"}, "objective": {"type": "sm"}, "sampler": {"type": "mala"}})")};
  r.models.push_back(
      {"mlp", "E(x) = MLP(x), a scalar-output perceptron",
       {{"hidden", array_of("hidden layer widths", integer("", std::nullopt).at_least(1), json::array({64, 64})).items_between(1, 16)},
        {"activation", activation_field()}},
       [](auto tag, const json& cfg, const Dataset& data, ad::Rng& rng) -> EnergyPtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         std::vector<int64_t> hidden = cfg["hidden"];
         return std::make_unique<MlpEnergy<T>>(data.x.cols(), hidden, enum_field_value(kActivationNames, cfg["activation"], "model.activation"), rng);
       },
       {}});
  r.models.back().smoke = {json::parse(R"({"data": {"type": "two_moons", "n": 256}, "model": {"hidden": [8]},
                                             "objective": {"type": "ssm"}, "sampler": {"type": "langevin"}})")};
  const auto hidden_field = [] {
    return array_of("hidden layer widths", integer("", std::nullopt).at_least(1), json::array({64, 64})).items_between(1, 16);
  };
  r.models.push_back(
      {"rbm", "restricted Boltzmann machine; its energy is the free energy of the visible units (train with cd + gibbs)",
       {{"visible", enumeration("visible units: bernoulli {0,1} or gaussian (real-valued, per-unit sigma)", {"bernoulli", "gaussian"}, "bernoulli")},
        {"hidden", integer("hidden units", 64).at_least(1)},
        {"init_std", number("stddev of the initial weights", 0.01).non_negative()},
        {"sigma", number("gaussian visibles: initial / fixed sigma", 1.0).positive()},
        {"learn_sigma", boolean("gaussian visibles: learn log sigma", false)}},
       [](auto tag, const json& cfg, const Dataset& data, ad::Rng& rng) -> EnergyPtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         const int64_t v = data.x.cols(), h = cfg["hidden"];
         if (cfg["visible"].get<std::string>() == "bernoulli") {
           for (double x : data.x)
             if (x != 0.0 && x != 1.0)
               throw InputError("model.visible: \"bernoulli\" needs {0,1} data, found the value " + std::to_string(x) +
                                " (binarise images with data.pixels = \"binarized\", or use \"gaussian\")");
           return std::make_unique<BernoulliRbm<T>>(v, h, rng, cfg["init_std"].get<double>());
         }
         return std::make_unique<GaussianBernoulliRbm<T>>(v, h, rng, cfg["sigma"].get<double>(), cfg["learn_sigma"].get<bool>(),
                                                               cfg["init_std"].get<double>());
       },
       {}});
  // Bernoulli visibles on 3 x 3 binary images (log Z by enumeration; weights and biases large enough for samples far
  // from coin flips), Gaussian visibles on 2-D data (quadrature).
  r.models.back().smoke = {
      json::parse(R"({"data": {"type": "bars_and_stripes", "n": 256, "size": 3},
                      "model": {"visible": "bernoulli", "hidden": 4, "init_std": 1.0, "init": {"b": [-1.5, 1.5, -1, 1, -0.5, 0.5, 0, 2, -2]}},
                      "objective": {"type": "cd", "sampler": {"type": "gibbs"}}, "sampler": {"type": "gibbs"}})"),
      json::parse(R"({"data": {"type": "gaussian_mixture", "n": 256, "means": [[-1.0, 0.0], [1.0, 0.5]], "scales": [0.5, 0.5]},
                      "model": {"visible": "gaussian", "hidden": 3, "init_std": 0.1},
                      "objective": {"type": "cd", "sampler": {"type": "gibbs"}}, "sampler": {"type": "gibbs"}})")};
  r.models.push_back({"boltzmann", "fully visible Boltzmann machine E(x) = -sum_{i<j} w_ij x_i x_j - b.x (train with cd + gibbs)",
                      {{"units", enumeration("unit values: binary {0,1} or spin {-1,+1}", {"binary", "spin"}, "binary")}},
                      [](auto tag, const json& cfg, const Dataset& data, ad::Rng&) -> EnergyPtr<decltype(tag)> {
                        using T = typename decltype(tag)::type;
                        const bool spin = cfg["units"].get<std::string>() == "spin";
                        for (double x : data.x)
                          if (spin ? (x != -1.0 && x != 1.0) : (x != 0.0 && x != 1.0))
                            throw InputError(std::string("model.units: \"") + (spin ? "spin" : "binary") + "\" needs data in " +
                                             (spin ? "{-1,+1}" : "{0,1}") + ", found the value " + std::to_string(x));
                        return std::make_unique<BoltzmannMachine<T>>(data.x.cols(), spin ? Units::spin : Units::binary);
                      },
                      {}});
  {
    // Binary and spin units on 3 x 3 images, started from a ring of couplings of alternating sign and biases from
    // -1.5 to 1.5: far from a coin's distribution (the machine starts at W = 0), so that a wrong Gibbs kernel shows
    // in the samples' means.
    json w = json::array(), b = json::array();
    for (int i = 0; i < 9; ++i) {
      json row = json::array();
      for (int j = 0; j < 9; ++j) row.push_back(j == (i + 1) % 9 || i == (j + 1) % 9 ? (std::min(i, j) % 2 ? 1.0 : -1.0) : 0.0);
      w.push_back(row);
      b.push_back(-1.5 + 0.375 * i);
    }
    json binary = json::parse(R"({"data": {"type": "bars_and_stripes", "n": 256, "size": 3}, "model": {"units": "binary"},
                                  "objective": {"type": "cd", "sampler": {"type": "gibbs"}}, "sampler": {"type": "gibbs"}})");
    binary["model"]["init"] = {{"W", w}, {"b", b}};
    json spin = binary;
    spin["data"]["units"] = spin["model"]["units"] = "spin";
    r.models.back().smoke = {binary, spin};
  }
  r.models.push_back(
      {"classifier", "JEM: an MLP with K logits f(x); E(x) = -logsumexp f(x), p(y|x) = softmax f(x) (needs labelled data)",
       {{"hidden", hidden_field()},
        {"activation", activation_field()},
        {"classes", integer("number of classes (null: 1 + the largest label)", std::nullopt).at_least(2).or_null()}},
       [](auto tag, const json& cfg, const Dataset& data, ad::Rng& rng) -> EnergyPtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         if (data.labels.empty()) throw InputError("model.type: \"classifier\" needs labelled data (this data source has no labels)");
         const int64_t seen = 1 + *std::max_element(data.labels.begin(), data.labels.end());
         const int64_t k = cfg["classes"].is_null() ? seen : cfg["classes"].get<int64_t>();
         if (k < seen) throw InputError("model.classes: the data has labels up to " + std::to_string(seen - 1) + ", expected at least " + std::to_string(seen) + " classes");
         std::vector<int64_t> hidden = cfg["hidden"];
         return std::make_unique<ClassifierEnergy<T>>(data.x.cols(), hidden, std::max<int64_t>(k, 2),
                                                           enum_field_value(kActivationNames, cfg["activation"], "model.activation"), rng);
       },
       {}});
  r.models.back().smoke = {json::parse(R"({"data": {"type": "gaussian_mixture", "n": 256, "means": [[-1.5, 0.0], [1.5, 0.0], [0.0, 1.5]],
                                                      "scales": [0.5, 0.5, 0.5]},
                                             "model": {"hidden": [8]}, "objective": {"type": "jem"}, "sampler": {"type": "langevin"}})")};
  r.models.push_back(
      {"noise_conditional", "E(x; sigma) from an MLP, for dsm_ladder training and annealed_langevin sampling",
       {{"hidden", hidden_field()},
        {"activation", activation_field()},
        {"conditioning", enum_field(kConditioningNames<double>,
                                    "input_column: E = MLP([x, log sigma]); scale: E = MLP(x) / sigma; column_and_scale: E = MLP([x, log sigma]) / sigma",
                                    Conditioning<double>::column_and_scale)},
        {"sigma", number("the noise level E(x) uses outside the ladder (e.g. for plots and plain samplers)", 0.01).positive()}},
       [](auto tag, const json& cfg, const Dataset& data, ad::Rng& rng) -> EnergyPtr<decltype(tag)> {
         using T = typename decltype(tag)::type;
         using NC = NoiseConditionalEnergy<T>;
         const auto kind = enum_field_value(kConditioningNames<T>, cfg["conditioning"], "model.conditioning");
         const bool column = kind != NC::Conditioning::scale;
         std::vector<int64_t> hidden = cfg["hidden"];
         auto inner = std::make_unique<MlpEnergy<T>>(data.x.cols() + (column ? 1 : 0), hidden,
                                                          enum_field_value(kActivationNames, cfg["activation"], "model.activation"), rng);
         return std::make_unique<NC>(std::move(inner), kind, cfg["sigma"].get<double>());
       },
       {}});
  // Image data, so that the restoration demos (evaluation.restore) can run too.
  r.models.back().smoke = {json::parse(R"({"data": {"type": "bars_and_stripes", "n": 256, "size": 3}, "model": {"hidden": [16], "sigma": 0.1},
                                             "objective": {"type": "dsm_ladder"}, "sampler": {"type": "annealed_langevin"}})")};
}

}  // namespace ebm::experiment
