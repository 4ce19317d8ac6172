// Which evaluation methods apply to which models: checked before training, so that a pairing that cannot work is
// refused with its JSON path (exit 2) instead of failing after the run has spent its time.
#include "ebm/experiment/eval_checks.hpp"
#include "eval_likelihood.hpp"

#include "ebm/eval/exact_samples.hpp"
#include "ebm/eval/partition.hpp"
#include "ebm/models/boltzmann.hpp"
#include "ebm/models/composite.hpp"
#include "ebm/models/rbm.hpp"

namespace ebm::experiment {

template <class T>
bool discrete_model(const Energy<T>& model) {
  return dynamic_cast<const BernoulliRbm<T>*>(&model) || dynamic_cast<const BoltzmannMachine<T>*>(&model);
}

template <class T>
std::string exact_log_z_method(const Energy<T>& model) {
  if (const auto* bm = dynamic_cast<const BoltzmannMachine<T>*>(&model))
    return bm->dim() <= kMaxEnumeratedBoltzmannUnits ? "enumeration" : "";
  if (const auto* rbm = dynamic_cast<const BernoulliRbm<T>*>(&model))
    return std::min(rbm->visible(), rbm->hidden()) <= kMaxEnumeratedRbmUnits ? "enumeration" : "";
  return model.dim() <= 2 ? "quadrature" : "";
}

template <class T>
std::string ais_transition(const json& cfg, const Energy<T>& model) {
  const std::string t = cfg["evaluation"]["ais"]["transition"];
  if (t != "auto") return t;
  return discrete_model(model) ? "gibbs" : "mala";
}

template <class T>
void check_evaluation(const json& cfg, const Energy<T>& model, const Dataset& data) {
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
    const auto* bc = dynamic_cast<const samplers::BinaryConditionals<T>*>(&model);
    const bool zero_one = dynamic_cast<const BernoulliRbm<T>*>(&model) || (bc && bc->units() == samplers::BinaryUnits::zero_one);
    if (!zero_one)
      throw InputError("evaluation.pseudo_likelihood.enabled: the pseudo-likelihood flips bits of {0,1} data; it needs a "
                       "Bernoulli RBM or a Boltzmann machine with binary units, not " + name);
    for (int64_t k = 0; k < data.x.numel(); ++k)
      if (data.x[k] != 0.0 && data.x[k] != 1.0)
        throw InputError("evaluation.pseudo_likelihood.enabled: the data must be 0/1; row " + std::to_string(k / data.x.cols()) +
                         " holds " + std::to_string(data.x[k]));
  }
  if (ev["restore"]["enabled"].get<bool>()) {
    if (!dynamic_cast<const NoiseConditionalEnergy<T>*>(&model))
      throw InputError("evaluation.restore.enabled: denoising and inpainting need model.type \"noise_conditional\", not " + name);
    if (data.image_rows <= 0) throw InputError("evaluation.restore.enabled: denoising and inpainting need image data");
  }
  // The Stein operator differentiates the density in x: on {0,1}^d or {-1,+1}^d it has no meaning.
  if (ev["ksd"]["enabled"].get<bool>() && discrete_model(model))
    throw InputError("evaluation.ksd.enabled: the kernel Stein discrepancy needs a model of continuous data (it uses "
                     "∇ₓ log p), not " + name);
  if (ev["mmd"].get<bool>() && cfg["sampler"]["chains"].get<int64_t>() < 2)
    throw InputError("evaluation.mmd: MMD² needs at least two samples; sampler.chains is " +
                     std::to_string(cfg["sampler"]["chains"].get<int64_t>()));
}

#define EBM_EVAL_CHECKS(T)                                                                   \
  template bool discrete_model(const Energy<T>&);                                            \
  template std::string exact_log_z_method(const Energy<T>&);                                 \
  template std::string ais_transition(const json&, const Energy<T>&);                        \
  template void check_evaluation(const json&, const Energy<T>&, const Dataset&);
EBM_EVAL_CHECKS(float)
EBM_EVAL_CHECKS(double)
#undef EBM_EVAL_CHECKS

}  // namespace ebm::experiment
