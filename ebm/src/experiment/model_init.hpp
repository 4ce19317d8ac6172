#pragma once
// model.init: a model's initial parameters given in the experiment file, by parameter name.
#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

/// The model.init field of every model's schema: an object whose keys name parameters and whose values are numbers,
/// nested arrays of numbers, or paths of .npy files (relative to the experiment file).
Node model_init_schema();

/// Overwrites the named parameters of `model` with model.init's values. InputError "model.init.<name>: ..." for a
/// name the model does not have (with the names it has), a shape that differs, an unreadable file or a value that is
/// not finite.
template <class T>
void apply_model_init(const json& init, Energy<T>& model);

}  // namespace ebm::experiment
