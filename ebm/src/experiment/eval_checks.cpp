// Which evaluation methods apply to which models: checked before training, so that a pairing that cannot work is
// refused with its JSON path (exit 2) instead of failing after the run has spent its time.
#include "eval_likelihood.hpp"

#include "ebm/eval/exact_samples.hpp"
#include "ebm/eval/partition.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm::experiment {

bool discrete_model(const Energy<double>& model) {
  return dynamic_cast<const BernoulliRbm<double>*>(&model) || dynamic_cast<const BoltzmannMachine<double>*>(&model);
}

std::string exact_log_z_method(const Energy<double>& model) {
  if (const auto* bm = dynamic_cast<const BoltzmannMachine<double>*>(&model))
    return bm->dim() <= kMaxEnumeratedBoltzmannUnits ? "enumeration" : "";
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<double>*>(&model))
    return std::min(rbm->visible(), rbm->hidden()) <= kMaxEnumeratedRbmUnits ? "enumeration" : "";
  return model.dim() <= 2 ? "quadrature" : "";
}

std::string ais_transition(const json& cfg, const Energy<double>& model) {
  const std::string t = cfg["evaluation"]["ais"]["transition"];
  if (t != "auto") return t;
  return discrete_model(model) ? "gibbs" : "mala";
}

void check_evaluation(const json& cfg, const Energy<double>& model, const Dataset& data) {
  const json& ev = cfg["evaluation"];
  const std::string name = "the model \"" + cfg["model"]["type"].get<std::string>() + "\"";
  const json& ais = ev["ais"];
  if (ais["enabled"].get<bool>()) {
    const std::string t = ais["transition"];
    if (discrete_model(model) && (t == "mala" || t == "hmc"))
      throw InputError("evaluation.ais.transition: \"" + t + "\" is a kernel for continuous states, and " + name +
                       " has binary units; use \"gibbs\" (or \"auto\")");
    if (!discrete_model(model) && t == "gibbs")
      throw InputError("evaluation.ais.transition: \"gibbs\" needs a Bernoulli RBM or a Boltzmann machine, not " + name +
                       "; use \"mala\" or \"hmc\" (or \"auto\")");
    if (ais["reverse"] == "exact")
      if (const std::string why = exact_sampling_unsupported(model); !why.empty())
        throw InputError("evaluation.ais.reverse: \"exact\": " + why + "; use \"data\" (approximate) or \"none\"");
  }
  if (ev["pseudo_likelihood"]["enabled"].get<bool>()) {
    const auto* bc = dynamic_cast<const samplers::BinaryConditionals<double>*>(&model);
    const bool zero_one = dynamic_cast<const BernoulliRbm<double>*>(&model) || (bc && bc->units() == samplers::BinaryUnits::zero_one);
    if (!zero_one)
      throw InputError("evaluation.pseudo_likelihood.enabled: the pseudo-likelihood flips bits of {0,1} data; it needs a "
                       "Bernoulli RBM or a Boltzmann machine with binary units, not " + name);
    for (int64_t k = 0; k < data.x.numel(); ++k)
      if (data.x[k] != 0.0 && data.x[k] != 1.0)
        throw InputError("evaluation.pseudo_likelihood.enabled: the data must be 0/1; row " + std::to_string(k / data.x.cols()) +
                         " holds " + std::to_string(data.x[k]));
  }
  if (ev["restore"]["enabled"].get<bool>()) {
    if (!dynamic_cast<const NoiseConditionalEnergy<double>*>(&model))
      throw InputError("evaluation.restore.enabled: denoising and inpainting need model.type \"noise_conditional\", not " + name);
    if (data.image_rows <= 0) throw InputError("evaluation.restore.enabled: denoising and inpainting need image data");
  }
  if (ev["mmd"].get<bool>() && cfg["sampler"]["chains"].get<int64_t>() < 2)
    throw InputError("evaluation.mmd: MMD² needs at least two samples; sampler.chains is " +
                     std::to_string(cfg["sampler"]["chains"].get<int64_t>()));
}

}  // namespace ebm::experiment
