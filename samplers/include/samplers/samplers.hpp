#pragma once
// Everything in the samplers layer: MCMC over any batched energy (depends on autodiff/ only).
#include "samplers/annealed.hpp"
#include "samplers/conditionals.hpp"
#include "samplers/diagnostics.hpp"
#include "samplers/energy.hpp"
#include "samplers/gibbs.hpp"
#include "samplers/hmc.hpp"
#include "samplers/langevin.hpp"
#include "samplers/mala.hpp"
#include "samplers/metropolis.hpp"
#include "samplers/replay.hpp"
#include "samplers/state.hpp"
#include "samplers/tempering.hpp"
