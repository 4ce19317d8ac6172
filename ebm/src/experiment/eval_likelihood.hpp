#pragma once
// Evaluation reports about likelihoods (eval_likelihood.cpp), used by evaluate_model (evaluate.cpp).
#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

/// evaluation.ais: forward AIS (log Ẑ, SE, ESS, lower bound) and, with evaluation.ais.reverse, reverse AIS and the
/// sandwich of the two. Throws std::invalid_argument for a model/option combination that cannot work.
template <class T>
json ais_report(Session<T>& s);

/// Per data set (the training data, and the held-out data unless that is the training data): the mean energy, the
/// average log-likelihood −mean E − log Ẑ (and its bounds from the sandwich) when `ais` holds an AIS report, and
/// with evaluation.pseudo_likelihood the pseudo-likelihood; with an exact log Z (a number), the exact average
/// log-likelihood.
template <class T>
json likelihood_report(Session<T>& s, const json& ais, const json& exact_log_z = json());

}  // namespace ebm::experiment
