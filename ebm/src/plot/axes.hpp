#pragma once
// Shared by the plots: mapping data to pixels, "nice" tick positions, tick labels, legends. Private.
#include <string>
#include <utility>
#include <vector>

#include "ebm/plot/png.hpp"

namespace ebm::plot::detail {

/// The plot area in pixels and the data range it shows. With log_y, y0/y1 are log10 of the range.
struct Axes {
  int left = 0, top = 0, width = 1, height = 1;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool log_y = false;

  double px(double x) const { return left + (x - x0) / (x1 - x0) * (width - 1); }
  double py(double y) const;  // NaN when y cannot be shown (non-finite, or <= 0 on a log axis)
  bool inside(double X, double Y) const { return X >= left - 0.5 && X <= left + width - 0.5 && Y >= top - 0.5 && Y <= top + height - 0.5; }
};

struct Tick {
  double pos;  // in axis units (log10 for a log axis)
  std::string label;
};

/// About `target` ticks at 1, 2 or 5 times a power of ten inside [lo, hi].
std::vector<Tick> linear_ticks(double lo, double hi, int target);
/// Ticks for a log10 axis spanning [lo, hi] (already in log10 units).
std::vector<Tick> log_ticks(double lo, double hi, int target);
/// A short label for v when ticks are `step` apart: "0.25", "-3", "1.5e5", "1e-4".
std::string format_number(double v, double step);

/// Chooses margins for the given tick labels and text, and the plot area inside width x height.
Axes layout(int width, int height, const std::vector<Tick>& y_ticks, bool title, bool x_label, bool y_label);

/// Frame, tick marks, labels, optional light grid lines, title and axis labels.
void draw_axes(Image& img, const Axes& ax, const std::vector<Tick>& x_ticks, const std::vector<Tick>& y_ticks, bool grid,
               const std::string& title, const std::string& x_label, const std::string& y_label, Rgb ink = colors::black);

/// A boxed legend in the top-right corner of the plot area; `dots` draws markers instead of line swatches.
void draw_legend(Image& img, const Axes& ax, const std::vector<std::pair<std::string, Rgb>>& entries, bool dots = false,
                 Rgb box = colors::white, Rgb ink = colors::black);

/// Range of the finite values in `v` extended so that it is never empty; false if there are none.
bool finite_range(const std::vector<double>& v, double& lo, double& hi);

}  // namespace ebm::plot::detail
