#pragma once
// Pictures of the plane (heatmap.cpp): energy landscapes of 2-D models with data and samples on top, and plain
// scatter plots of the points.
// Each returns an Image (call .write_png(path)); sizes are those of the whole picture, margins for tick labels
// included. Invalid arguments (wrong shapes, sizes out of range) throw std::invalid_argument.
#include <functional>
#include <string>

#include "autodiff/tensor.hpp"
#include "ebm/plot/png.hpp"

namespace ebm::plot {

/// A rectangle of the plane, in data units.
struct Range2D {
  double x_min = -4, x_max = 4, y_min = -4, y_max = 4;
};

/// A batched energy: points [M, 2] -> M energies (shape [M] or [M, 1]).
using EnergyFn = std::function<ad::Tensor<double>(const ad::Tensor<double>& points)>;

/// Evaluates `energy` once, on the centres of an nx by ny grid over `range`; returns [ny, nx] where row i is
/// y = y_min + (i + 0.5) (y_max - y_min) / ny (so row 0 is the bottom) and column j likewise in x.
ad::Tensor<double> energy_grid(const EnergyFn& energy, const Range2D& range, int nx, int ny);

enum class HeatmapScale {
  // Shows the unnormalised density exp(-(E - min E)) in [0, 1]: what the model would sample, with one
  // colour scale that means the same in every picture. Default, as it is usually the clearer picture.
  density,
  // Shows E itself, robustly normalised between its 2nd and 98th percentiles (low energy bright), which
  // reveals structure where the density is too peaked to see anything but one spot.
  energy,
};

struct HeatmapOptions {
  int width = 480, height = 480;
  HeatmapScale scale = HeatmapScale::density;
  bool axes = true;           // tick labels around the map; false: the map fills the picture inside a thin frame
  double point_radius = 1.3;  // data (white) and sample (red) dots, in pixels
  std::string title;
};

/// `energies` is a grid as returned by energy_grid ([ny, nx], bilinearly interpolated to pixels; NaN shows
/// gray); `data` and `samples` are [N, 2] and [M, 2] point sets (either may have zero rows). The plot keeps the
/// aspect ratio of `range`, so circles stay round.
Image energy_heatmap(const ad::Tensor<double>& energies, const Range2D& range, const ad::Tensor<double>& data,
                     const ad::Tensor<double>& samples, const HeatmapOptions& opt = {});
/// Convenience: evaluates `energy` on a grid of `grid` x `grid` points first.
Image energy_heatmap(const EnergyFn& energy, const Range2D& range, const ad::Tensor<double>& data, const ad::Tensor<double>& samples,
                     const HeatmapOptions& opt = {}, int grid = 128);
/// Just the points, on white: data in blue, samples in red.
Image scatter_plot(const Range2D& range, const ad::Tensor<double>& data, const ad::Tensor<double>& samples, const HeatmapOptions& opt = {});

}  // namespace ebm::plot
