#pragma once
// Charts of numbers (charts.cpp): training curves and overlaid histograms.
// Each returns an Image (call .write_png(path)); sizes are those of the whole picture, margins for tick labels
// included. Invalid arguments (wrong shapes, sizes out of range) throw std::invalid_argument.
#include <string>
#include <vector>

#include "ebm/plot/png.hpp"

namespace ebm::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; points with a non-finite coordinate (or y <= 0 on log axes) break the line
};

struct LinePlotOptions {
  bool log_y = false;
  std::string title, x_label, y_label;
};

/// Training curves: one anti-aliased line per series in distinct colours, ticks with labels, a legend.
Image line_plot(const std::vector<Series>& series, int width = 640, int height = 400, const LinePlotOptions& opt = {});

struct NamedValues {
  std::string name;
  std::vector<double> values;  // non-finite values are ignored (and counted in the legend)
};

struct HistogramOptions {
  bool density = true;  // normalise each set to unit area, so sets of different sizes compare
  std::string title, x_label;
};

/// Overlaid histograms on shared bins spanning all finite values: translucent bars with a step outline.
Image histogram_plot(const std::vector<NamedValues>& sets, int bins = 50, int width = 640, int height = 400,
                     const HistogramOptions& opt = {});

}  // namespace ebm::plot
