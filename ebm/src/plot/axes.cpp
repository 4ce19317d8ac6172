#include "axes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ebm/plot/draw.hpp"

namespace ebm::plot::detail {

double Axes::py(double y) const {
  if (log_y) y = y > 0 ? std::log10(y) : NAN;
  if (!std::isfinite(y)) return NAN;
  return top + (height - 1) - (y - y0) / (y1 - y0) * (height - 1);
}

std::string format_number(double v, double step) {
  if (std::abs(v) < step * 1e-6) return "0";  // avoid "-0" and 1e-17 for a tick that should be zero
  char buf[32];
  const double a = std::abs(v);
  if (a >= 1e5 || a < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
    // "1.5e+05" -> "1.5e5", "1e-05" -> "1e-5": tick labels must be short.
    std::string s = buf, out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == 'e') {
        out += 'e';
        size_t j = i + 1;
        if (s[j] == '+') ++j;
        else if (s[j] == '-') out += s[j++];
        while (j + 1 < s.size() && s[j] == '0') ++j;
        out += s.substr(j);
        break;
      }
      out += s[i];
    }
    return out;
  }
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::vector<Tick> linear_ticks(double lo, double hi, int target) {
  std::vector<Tick> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1) ticks.push_back({k * step, format_number(k * step, step)});
  return ticks;
}

std::vector<Tick> log_ticks(double lo, double hi, int target) {
  std::vector<Tick> ticks;
  if (!(hi > lo)) return ticks;
  if (hi - lo < 1.5) {
    // Less than a decade and a half: decade ticks would leave the axis nearly bare, so place nice linear
    // values at their logarithmic positions.
    for (const Tick& t : linear_ticks(std::pow(10.0, lo), std::pow(10.0, hi), target))
      if (t.pos > 0) ticks.push_back({std::log10(t.pos), t.label});
    return ticks;
  }
  if (hi - lo < 3.5) {
    // A few decades: 1, 2 and 5 in each, so the eye can still read values between the decade lines.
    for (int e = static_cast<int>(std::floor(lo)); e <= static_cast<int>(std::ceil(hi)); ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        const double p = e + std::log10(m);
        if (p < lo - 1e-9 || p > hi + 1e-9) continue;
        const double v = m * std::pow(10.0, e);
        ticks.push_back({p, e >= -2 && e <= 4 ? format_number(v, std::pow(10.0, std::min(e, 0))) : format_number(v, v)});
      }
    return ticks;
  }
  const int every = std::max(1, static_cast<int>(std::ceil((hi - lo) / std::max(target, 1))));
  for (int e = static_cast<int>(std::ceil(lo - 1e-9)); e <= hi + 1e-9; ++e) {
    if (e % every) continue;
    const std::string label = e >= -2 && e <= 4 ? format_number(std::pow(10.0, e), std::pow(10.0, std::min(e, 0))) : "1e" + std::to_string(e);
    ticks.push_back({static_cast<double>(e), label});
  }
  return ticks;
}

Axes layout(int width, int height, const std::vector<Tick>& y_ticks, bool title, bool x_label, bool y_label) {
  int label_w = 0;
  for (const Tick& t : y_ticks) label_w = std::max(label_w, text_width(t.label));
  Axes ax;
  ax.left = 6 + label_w + 5;
  ax.top = title || y_label ? 26 : 10;
  const int bottom = 6 + kGlyphHeight + 6 + (x_label ? kGlyphHeight + 6 : 0);
  ax.width = std::max(2, width - ax.left - 14);
  ax.height = std::max(2, height - ax.top - bottom);
  return ax;
}

void draw_axes(Image& img, const Axes& ax, const std::vector<Tick>& x_ticks, const std::vector<Tick>& y_ticks, bool grid,
               const std::string& title, const std::string& x_label, const std::string& y_label, Rgb ink) {
  const int right = ax.left + ax.width - 1, bottom = ax.top + ax.height - 1;
  for (const Tick& t : x_ticks) {
    const int X = static_cast<int>(std::lround(ax.px(t.pos)));
    if (X < ax.left || X > right) continue;
    if (grid) fill_rect(img, X, ax.top + 1, 1, ax.height - 2, colors::light_gray);
    fill_rect(img, X, bottom + 1, 1, 4, ink);
    const int w = text_width(t.label);
    draw_text(img, std::clamp(X - w / 2, 0, img.width - w), bottom + 7, t.label, ink);
  }
  for (const Tick& t : y_ticks) {
    const double yy = ax.top + (ax.height - 1) - (t.pos - ax.y0) / (ax.y1 - ax.y0) * (ax.height - 1);
    const int Y = static_cast<int>(std::lround(yy));
    if (Y < ax.top || Y > bottom) continue;
    if (grid) fill_rect(img, ax.left + 1, Y, ax.width - 2, 1, colors::light_gray);
    fill_rect(img, ax.left - 4, Y, 4, 1, ink);
    draw_text(img, ax.left - 6 - text_width(t.label), Y - kGlyphHeight / 2, t.label, ink);
  }
  draw_rect(img, ax.left - 1, ax.top - 1, ax.width + 2, ax.height + 2, ink);
  if (!title.empty()) draw_text(img, ax.left + (ax.width - text_width(title, 2)) / 2, 4, title, ink, 2);
  // No rotated text in a bitmap font: the y label sits above the axis, left-aligned with the tick labels.
  if (!y_label.empty()) draw_text(img, 4, ax.top - kGlyphHeight - 5, y_label, ink);
  if (!x_label.empty()) draw_text(img, ax.left + (ax.width - text_width(x_label)) / 2, bottom + 7 + kGlyphHeight + 5, x_label, ink);
}

void draw_legend(Image& img, const Axes& ax, const std::vector<std::pair<std::string, Rgb>>& entries, bool dots, Rgb box, Rgb ink) {
  if (entries.empty()) return;
  int w = 0;
  for (const auto& e : entries) w = std::max(w, text_width(e.first));
  const int row = kGlyphHeight + 5, swatch = 16;
  const int bw = 6 + swatch + 5 + w + 6, bh = 4 + row * static_cast<int>(entries.size()) + 1;
  const int x = ax.left + ax.width - bw - 6, y = ax.top + 6;
  fill_rect(img, x, y, bw, bh, box, 0.85);
  draw_rect(img, x, y, bw, bh, colors::gray);
  for (size_t i = 0; i < entries.size(); ++i) {
    const int ty = y + 5 + row * static_cast<int>(i);
    const double cy = ty + (kGlyphHeight - 1) / 2.0;
    if (dots) draw_dot(img, x + 6 + swatch / 2.0, cy, 2.5, entries[i].second);
    else draw_line(img, x + 6, cy, x + 6 + swatch, cy, entries[i].second, 2.0);
    draw_text(img, x + 6 + swatch + 5, ty, entries[i].first, ink);
  }
}

bool finite_range(const std::vector<double>& v, double& lo, double& hi) {
  lo = INFINITY;
  hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (lo > hi) return false;
  if (lo == hi) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return true;
}

}  // namespace ebm::plot::detail
