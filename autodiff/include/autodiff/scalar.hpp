#pragma once
// Scalar forms of the elementwise functions, for code that works on plain numbers (conditionals of binary
// models, enumeration, AIS weights): computed so that no argument overflows or loses its bits.
#include <algorithm>
#include <cmath>
#include <limits>

namespace ad::scalar {

/// log(1 + e^x) = max(x, 0) + log1p(e^{−|x|}).
inline double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
/// 1 / (1 + e^{−x}), without overflow for large |x|.
inline double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
/// log σ(x) = −softplus(−x).
inline double log_sigmoid(double x) { return -softplus(-x); }

/// log Σ_i e^{a_i}, accumulated one term at a time in a fixed order: the sum is kept scaled by e^{−max} so that
/// neither large nor very negative terms overflow or vanish; −∞ for no terms (or only −∞ ones).
struct LogSumExp {
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;  // Σ e^{a_i − max}
  void add(double a) {
    if (a == -std::numeric_limits<double>::infinity()) return;
    if (a > max) {
      sum = sum * std::exp(max - a) + 1.0;
      max = a;
    } else {
      sum += std::exp(a - max);
    }
  }
  double value() const { return sum > 0 ? max + std::log(sum) : -std::numeric_limits<double>::infinity(); }
};

/// log Σ e^{a} over a range of doubles, shifted by its largest term (two passes: the same sum as a loop that
/// finds the maximum first).
template <class Range>
double log_sum_exp(const Range& a) {
  double best = -std::numeric_limits<double>::infinity();
  for (double v : a) best = std::max(best, v);
  if (best == -std::numeric_limits<double>::infinity()) return best;
  double s = 0;
  for (double v : a) s += std::exp(v - best);
  return best + std::log(s);
}

}  // namespace ad::scalar
