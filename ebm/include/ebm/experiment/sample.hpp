#pragma once
// The final samples of a run (sample.cpp).
#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

/// Draws samples from the model with the config's sampler section (`sampler_cfg`); returns samples [chains, d]
/// and writes the sampler statistics (acceptance, ESS, R-hat) into `stats`.
template <class T>
ad::Tensor<T> draw_samples(Session<T>& s, const json& sampler_cfg, json& stats);

}  // namespace ebm::experiment
