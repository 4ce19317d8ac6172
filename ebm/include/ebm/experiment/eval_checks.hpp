#pragma once
// Which evaluation methods a model and its data can serve (eval_checks.cpp).
#include <string>

#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

/// A Bernoulli RBM or a fully visible Boltzmann machine: binary states, for which AIS anneals by Gibbs sweeps,
/// log Z is a sum (never an integral) and continuous kernels have no meaning.
template <class T>
bool discrete_model(const Energy<T>& model);

/// How evaluation.log_z computes log Z exactly for this model: "enumeration" (Boltzmann machines of at most
/// kMaxEnumeratedBoltzmannUnits units, Bernoulli RBMs with a layer of at most kMaxEnumeratedRbmUnits units),
/// "quadrature" (continuous models in 1 or 2 dimensions), or "" when neither applies.
template <class T>
std::string exact_log_z_method(const Energy<T>& model);

/// evaluation.ais.transition with "auto" resolved: "gibbs" for discrete models, "mala" otherwise.
template <class T>
std::string ais_transition(const json& cfg, const Energy<T>& model);

/// Refuses (InputError naming the JSON path) every evaluation method that the model or data cannot serve.
template <class T>
void check_evaluation(const json& cfg, const Energy<T>& model, const Dataset& data);

}  // namespace ebm::experiment
