// Line plots (training curves) and overlaid histograms.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "axes.hpp"
#include "ebm/plot/draw.hpp"
#include "ebm/plot/charts.hpp"

namespace ebm::plot {
namespace {

void check_size(int width, int height, const char* fn) {
  if (width < 64 || height < 48 || width > 16384 || height > 16384)
    throw std::invalid_argument(std::string(fn) + ": size " + std::to_string(width) + "x" + std::to_string(height) +
                                " is outside 64x48 .. 16384x16384");
}

}  // namespace

Image line_plot(const std::vector<Series>& series, int width, int height, const LinePlotOptions& opt) {
  check_size(width, height, "line_plot");
  std::vector<double> xs, ys;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("line_plot: series '" + s.name + "' has " + std::to_string(s.x.size()) + " x values but " +
                                  std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = opt.log_y ? (s.y[i] > 0 ? std::log10(s.y[i]) : NAN) : s.y[i];
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;  // only points that will be drawn set the range
      xs.push_back(s.x[i]);
      ys.push_back(y);
    }
  }
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!detail::finite_range(xs, x0, x1)) x0 = 0, x1 = 1;
  if (!detail::finite_range(ys, y0, y1)) y0 = 0, y1 = 1;
  const double pad = 0.05 * (y1 - y0);  // keep curves off the frame
  y0 -= pad;
  y1 += pad;
  const auto yt = opt.log_y ? detail::log_ticks(y0, y1, 6) : detail::linear_ticks(y0, y1, 6);
  const auto xt = detail::linear_ticks(x0, x1, std::max(2, width / 90));
  Image img(width, height, colors::white);
  detail::Axes ax = detail::layout(width, height, yt, !opt.title.empty(), !opt.x_label.empty(), !opt.y_label.empty());
  ax.x0 = x0;
  ax.x1 = x1;
  ax.y0 = y0;
  ax.y1 = y1;
  ax.log_y = opt.log_y;
  detail::draw_axes(img, ax, xt, yt, true, opt.title, opt.x_label, opt.y_label);
  std::vector<std::pair<std::string, Rgb>> legend;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Rgb c = series_color(k);
    double px = NAN, py = NAN;
    bool prev_drawn = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double X = std::isfinite(s.x[i]) ? ax.px(s.x[i]) : NAN, Y = ax.py(s.y[i]);
      if (std::isnan(X) || std::isnan(Y)) {  // a gap: do not bridge it, so missing values are visible as such
        px = py = NAN;
        continue;
      }
      if (!std::isnan(px)) {
        draw_line(img, px, py, X, Y, c, 1.6);
        prev_drawn = true;
      } else {
        // A point with no drawable neighbour would otherwise vanish; mark it. Curves get a dot at their start too.
        const bool isolated = i + 1 >= s.x.size() || !std::isfinite(s.x[i + 1]) || std::isnan(ax.py(s.y[i + 1]));
        if (isolated || !prev_drawn) draw_dot(img, X, Y, isolated ? 2.0 : 0.8, c);
      }
      px = X;
      py = Y;
    }
    legend.emplace_back(s.name.empty() ? "series " + std::to_string(k + 1) : s.name, c);
  }
  // Redraw the frame: thick lines near the edges bleed over it.
  draw_rect(img, ax.left - 1, ax.top - 1, ax.width + 2, ax.height + 2, colors::black);
  detail::draw_legend(img, ax, legend);
  return img;
}

Image histogram_plot(const std::vector<NamedValues>& sets, int bins, int width, int height, const HistogramOptions& opt) {
  check_size(width, height, "histogram_plot");
  if (bins < 1 || bins > 10000) throw std::invalid_argument("histogram_plot: bins must be in 1..10000, got " + std::to_string(bins));
  std::vector<double> all;
  for (const auto& s : sets) all.insert(all.end(), s.values.begin(), s.values.end());
  double lo = 0, hi = 1;
  if (!detail::finite_range(all, lo, hi)) lo = 0, hi = 1;
  const double bw = (hi - lo) / bins;
  std::vector<std::vector<double>> heights(sets.size(), std::vector<double>(static_cast<size_t>(bins), 0.0));
  std::vector<size_t> dropped(sets.size(), 0);
  double top = 0;
  for (size_t k = 0; k < sets.size(); ++k) {
    size_t used = 0;
    for (double v : sets[k].values) {
      if (!std::isfinite(v)) {
        ++dropped[k];
        continue;
      }
      const int b = std::clamp(static_cast<int>((v - lo) / bw), 0, bins - 1);  // the maximum lands in the last bin
      heights[k][static_cast<size_t>(b)] += 1;
      ++used;
    }
    for (double& h : heights[k]) {
      if (opt.density && used > 0) h /= static_cast<double>(used) * bw;
      top = std::max(top, h);
    }
  }
  if (!(top > 0)) top = 1;
  const auto yt = detail::linear_ticks(0, top * 1.05, 5);
  const auto xt = detail::linear_ticks(lo, hi, std::max(2, width / 90));
  Image img(width, height, colors::white);
  detail::Axes ax = detail::layout(width, height, yt, !opt.title.empty(), !opt.x_label.empty(), true);
  ax.x0 = lo;
  ax.x1 = hi;
  ax.y0 = 0;
  ax.y1 = top * 1.05;
  detail::draw_axes(img, ax, xt, yt, true, opt.title, opt.x_label, opt.density ? "density" : "count");
  std::vector<std::pair<std::string, Rgb>> legend;
  const double base = ax.py(0);
  // Translucent fills first, then all outlines, so no set's outline is hidden under another's fill.
  for (size_t k = 0; k < sets.size(); ++k) {
    for (int b = 0; b < bins; ++b) {
      const double h = heights[k][static_cast<size_t>(b)];
      if (h <= 0) continue;
      const int X0 = static_cast<int>(std::lround(ax.px(lo + b * bw))), X1 = static_cast<int>(std::lround(ax.px(lo + (b + 1) * bw)));
      const int Y = static_cast<int>(std::lround(ax.py(h)));
      fill_rect(img, X0, Y, std::max(1, X1 - X0), static_cast<int>(std::lround(base)) - Y + 1, series_color(k), 0.3);
    }
  }
  for (size_t k = 0; k < sets.size(); ++k) {
    const Rgb c = series_color(k);
    double prev_y = base;
    for (int b = 0; b <= bins; ++b) {
      const double X = ax.px(lo + b * bw);
      const double Y = b < bins ? ax.py(heights[k][static_cast<size_t>(b)]) : base;
      draw_line(img, X, prev_y, X, Y, c, 1.4);
      if (b < bins) draw_line(img, X, Y, ax.px(lo + (b + 1) * bw), Y, c, 1.4);
      prev_y = Y;
    }
    std::string label = sets[k].name.empty() ? "set " + std::to_string(k + 1) : sets[k].name;
    label += " (n=" + std::to_string(sets[k].values.size() - dropped[k]) + (dropped[k] ? ", " + std::to_string(dropped[k]) + " non-finite" : "") + ")";
    legend.emplace_back(label, c);
  }
  draw_rect(img, ax.left - 1, ax.top - 1, ax.width + 2, ax.height + 2, colors::black);
  detail::draw_legend(img, ax, legend);
  return img;
}

}  // namespace ebm::plot
