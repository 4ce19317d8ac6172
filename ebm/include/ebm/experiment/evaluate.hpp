#pragma once
// The evaluation section of summary.json (evaluate.cpp).
#include <memory>
#include <vector>

#include "ebm/experiment/plots.hpp"
#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

/// What an evaluation produces: its numbers (for summary.json) and the image grids that show its results
/// (evaluation.restore's), which the caller passes to write_plots.
struct Evaluation {
  json report;
  std::vector<ImageFigure> figures;
};

/// Evaluation numbers (log Z, NLL, learned parameters, energies) for the current model and given samples, with
/// the figures of the evaluations that make one.
template <class T>
Evaluation evaluate_model(Session<T>& s, const ad::Tensor<T>& samples);

/// The model of `s` in float64 (Note [Float64 evaluation] in evaluate.cpp): `s.model` itself when T is double,
/// else a model built from the same config with the parameters converted (exactly) to double.
template <class T>
std::shared_ptr<const Energy<double>> model_in_float64(const Session<T>& s);

}  // namespace ebm::experiment
