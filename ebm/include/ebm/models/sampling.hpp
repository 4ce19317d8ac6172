#pragma once
// Adapters from ebm models to the samplers layer's energy callables (samplers/energy.hpp).
// The parameters are bound as constants at each call (θ held fixed while sampling) and read from the model
// at that moment, so a sampler built once keeps following the model as training updates it. The model must
// outlive the returned callable.
#include <samplers/energy.hpp>

#include "ebm/models/composite.hpp"
#include "ebm/models/energy.hpp"

namespace ebm {

template <class T>
samplers::BatchEnergy<T> sampler_energy(const Energy<T>& model) {
  return [&model](ad::Tape<T>&, const ad::Var<T>& x) { return model.fixed_energy(x); };
}

/// E(x; σ) for annealed Langevin over a noise ladder.
template <class T>
samplers::NoiseConditionedEnergy<T> sampler_energy(const NoiseConditionalEnergy<T>& model) {
  return [&model](ad::Tape<T>& tape, const ad::Var<T>& x, double sigma) {
    const auto params = bind_params(tape, model.params(), Bind::constant);
    return model.energy_at(params, x, tape.constant(ad::Shape{x.shape()[0]}, static_cast<T>(sigma)));
  };
}

}  // namespace ebm
