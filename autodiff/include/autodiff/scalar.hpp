#pragma once
// Scalar forms of the elementwise functions, for code that works on plain numbers (conditionals of binary
// models, enumeration, AIS weights): computed so that no argument overflows or loses its bits.
#include <algorithm>
#include <cmath>

namespace ad::scalar {

/// log(1 + e^x) = max(x, 0) + log1p(e^{−|x|}).
inline double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
/// 1 / (1 + e^{−x}), without overflow for large |x|.
inline double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
/// log σ(x) = −softplus(−x).
inline double log_sigmoid(double x) { return -softplus(-x); }

}  // namespace ad::scalar
