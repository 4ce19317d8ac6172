#pragma once
// The PNG figures of a run (plots.cpp).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

/// An image grid for write_plots: file name, tiles [n, H*W] in reading order, tiles per grid row.
struct ImageFigure {
  std::string file;
  ad::Tensor<double> tiles;
  int cols = 1;
};

/// PNG pictures into `dir` (heat map / histogram / image grid, training curves, and `figures`, evaluate_model's);
/// returns the written names.
template <class T>
std::vector<std::string> write_plots(Session<T>& s, const ad::Tensor<T>& samples, const std::vector<ImageFigure>& figures,
                                     const std::filesystem::path& dir);

/// The quadrature / plot box per axis: evaluation.box, or the data range padded by 25%.
std::vector<std::pair<double, double>> plot_box(const json& cfg, const Dataset& data);

}  // namespace ebm::experiment
