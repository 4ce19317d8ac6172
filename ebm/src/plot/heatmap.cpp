// Pictures of the plane: energy heatmaps and scatter plots.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "axes.hpp"
#include "ebm/plot/draw.hpp"
#include "ebm/plot/heatmap.hpp"

namespace ebm::plot {
namespace {

void check_range(const Range2D& r, const char* fn) {
  if (!(r.x_max > r.x_min) || !(r.y_max > r.y_min) || !std::isfinite(r.x_min) || !std::isfinite(r.x_max) || !std::isfinite(r.y_min) ||
      !std::isfinite(r.y_max))
    throw std::invalid_argument(std::string(fn) + ": range must have x_min < x_max and y_min < y_max, all finite");
}

void check_points(const ad::Tensor<double>& p, const char* fn, const char* what) {
  if (p.numel() == 0) return;  // "no points" may come as any empty tensor
  if (p.rank() != 2 || p.shape()[1] != 2)
    throw std::invalid_argument(std::string(fn) + ": " + what + " must be [N, 2], got " + p.shape().str());
}

// Plot area for `range` keeping its aspect ratio, centred in the space the margins leave.
detail::Axes plane_axes(const Range2D& r, const HeatmapOptions& opt, std::vector<detail::Tick>& xt, std::vector<detail::Tick>& yt) {
  detail::Axes ax;
  if (opt.axes) {
    xt = detail::linear_ticks(r.x_min, r.x_max, 6);
    yt = detail::linear_ticks(r.y_min, r.y_max, 6);
    ax = detail::layout(opt.width, opt.height, yt, !opt.title.empty(), false, false);
  } else {
    ax.left = ax.top = 1;
    ax.width = std::max(2, opt.width - 2);
    ax.height = std::max(2, opt.height - 2);
  }
  const double aspect = (r.x_max - r.x_min) / (r.y_max - r.y_min);
  if (ax.width > ax.height * aspect) {
    const int w = std::max(2, static_cast<int>(std::lround(ax.height * aspect)));
    ax.left += (ax.width - w) / 2;
    ax.width = w;
  } else {
    const int h = std::max(2, static_cast<int>(std::lround(ax.width / aspect)));
    ax.top += (ax.height - h) / 2;
    ax.height = h;
  }
  ax.x0 = r.x_min;
  ax.x1 = r.x_max;
  ax.y0 = r.y_min;
  ax.y1 = r.y_max;
  return ax;
}

void draw_points(Image& img, const detail::Axes& ax, const ad::Tensor<double>& p, Rgb c, double radius, double alpha) {
  if (p.numel() == 0) return;
  for (int64_t i = 0; i < p.shape()[0]; ++i) {
    const double X = ax.px(p.at(i, 0)), Y = ax.py(p.at(i, 1));
    if (ax.inside(X, Y)) draw_dot(img, X, Y, radius, c, alpha);
  }
}

// Many thousands of points turn into a solid blob at full opacity; fade them as the count grows.
double point_alpha(const ad::Tensor<double>& p) {
  const double n = p.numel() == 0 ? 0.0 : static_cast<double>(p.shape()[0]);
  return std::clamp(std::sqrt(2000.0 / std::max(n, 1.0)), 0.35, 1.0);
}

Image plane_plot(const ad::Tensor<double>* energies, const Range2D& r, const ad::Tensor<double>& data, const ad::Tensor<double>& samples,
                 const HeatmapOptions& opt) {
  const char* fn = energies ? "energy_heatmap" : "scatter_plot";
  check_range(r, fn);
  check_points(data, fn, "data");
  check_points(samples, fn, "samples");
  std::vector<detail::Tick> xt, yt;
  Image img(opt.width, opt.height, colors::white);
  const detail::Axes ax = plane_axes(r, opt, xt, yt);
  Rgb data_color = series_color(0);
  if (energies) {
    const ad::Tensor<double>& E = *energies;
    if (E.rank() != 2 || E.numel() == 0) throw std::invalid_argument(std::string(fn) + ": energies must be a non-empty [ny, nx] grid, got " + E.shape().str());
    const int64_t ny = E.shape()[0], nx = E.shape()[1];
    std::vector<double> finite;
    for (double e : E)
      if (std::isfinite(e)) finite.push_back(e);
    std::sort(finite.begin(), finite.end());
    const double e_min = finite.empty() ? 0.0 : finite.front();
    auto pct = [&](double q) { return finite.empty() ? 0.0 : finite[static_cast<size_t>(q * static_cast<double>(finite.size() - 1))]; };
    const double lo = pct(0.02), hi = pct(0.98);
    for (int py = 0; py < ax.height; ++py)
      for (int px = 0; px < ax.width; ++px) {
        // Pixel centre -> fractional grid index (cell centres sit at integer indices); bilinear inside.
        const double gx = std::clamp((px + 0.5) / ax.width * nx - 0.5, 0.0, static_cast<double>(nx - 1));
        const double gy = std::clamp((ax.height - py - 0.5) / ax.height * ny - 0.5, 0.0, static_cast<double>(ny - 1));
        const int64_t i0 = static_cast<int64_t>(gy), j0 = static_cast<int64_t>(gx);
        const int64_t i1 = std::min(i0 + 1, ny - 1), j1 = std::min(j0 + 1, nx - 1);
        const double fy = gy - i0, fx = gx - j0;
        const double e = (1 - fy) * ((1 - fx) * E.at(i0, j0) + fx * E.at(i0, j1)) + fy * ((1 - fx) * E.at(i1, j0) + fx * E.at(i1, j1));
        double t;
        if (std::isnan(e)) t = NAN;
        else if (opt.scale == HeatmapScale::density) t = std::exp(-(e - e_min));  // +inf energy -> 0
        else t = hi > lo ? (hi - e) / (hi - lo) : 0.5;
        img.set(ax.left + px, ax.top + py, viridis(t));
      }
    data_color = colors::white;
  }
  draw_points(img, ax, data, data_color, opt.point_radius, point_alpha(data));
  draw_points(img, ax, samples, colors::red, opt.point_radius, point_alpha(samples));
  if (opt.axes) detail::draw_axes(img, ax, xt, yt, false, opt.title, "", "");
  else draw_rect(img, ax.left - 1, ax.top - 1, ax.width + 2, ax.height + 2, colors::dark_gray);
  // A key only helps when there is something to tell apart.
  std::vector<std::pair<std::string, Rgb>> legend;
  if (data.numel() > 0 && samples.numel() > 0) legend = {{"data", data_color}, {"samples", colors::red}};
  if (energies) detail::draw_legend(img, ax, legend, true, colors::black, colors::white);
  else detail::draw_legend(img, ax, legend, true);
  return img;
}

}  // namespace

ad::Tensor<double> energy_grid(const EnergyFn& energy, const Range2D& range, int nx, int ny) {
  check_range(range, "energy_grid");
  if (nx < 1 || ny < 1) throw std::invalid_argument("energy_grid: nx and ny must be >= 1");
  ad::Tensor<double> pts(ad::Shape{static_cast<int64_t>(nx) * ny, 2});
  for (int i = 0; i < ny; ++i)
    for (int j = 0; j < nx; ++j) {
      pts.at(static_cast<int64_t>(i) * nx + j, 0) = range.x_min + (j + 0.5) * (range.x_max - range.x_min) / nx;
      pts.at(static_cast<int64_t>(i) * nx + j, 1) = range.y_min + (i + 0.5) * (range.y_max - range.y_min) / ny;
    }
  const ad::Tensor<double> e = energy(pts);
  if (e.numel() != static_cast<int64_t>(nx) * ny)
    throw std::invalid_argument("energy_grid: the energy returned shape " + e.shape().str() + " for " + std::to_string(pts.shape()[0]) + " points");
  return e.reshaped(ad::Shape{ny, nx});
}

Image energy_heatmap(const ad::Tensor<double>& energies, const Range2D& range, const ad::Tensor<double>& data, const ad::Tensor<double>& samples,
                     const HeatmapOptions& opt) {
  return plane_plot(&energies, range, data, samples, opt);
}

Image energy_heatmap(const EnergyFn& energy, const Range2D& range, const ad::Tensor<double>& data, const ad::Tensor<double>& samples,
                     const HeatmapOptions& opt, int grid) {
  if (!energy) throw std::invalid_argument("energy_heatmap: empty energy function");
  if (grid < 2) throw std::invalid_argument("energy_heatmap: grid must be >= 2, got " + std::to_string(grid));
  const ad::Tensor<double> e = energy_grid(energy, range, grid, grid);
  return plane_plot(&e, range, data, samples, opt);
}

Image scatter_plot(const Range2D& range, const ad::Tensor<double>& data, const ad::Tensor<double>& samples, const HeatmapOptions& opt) {
  return plane_plot(nullptr, range, data, samples, opt);
}

}  // namespace ebm::plot
