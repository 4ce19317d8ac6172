#pragma once
// The benchmark's problem (WORKLOADS.md): sizes, the deterministic θ, X and V, and what a workload's method is.
// Included by ebm_bench.cpp only.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace bench {

using ad::Shape;
using ad::Tape;
using ad::Tensor;
using ad::Var;

// ------------------------------------------------------------------------------------------- constants
constexpr double kSigma = 0.1;  // dsm noise scale
constexpr double kEps = 0.01;   // Langevin step size
constexpr int kLangevinSteps = 100;
constexpr int kCdSteps = 20;
constexpr double kLr = 1e-4, kBeta1 = 0.9, kBeta2 = 0.999, kAdamEps = 1e-8;

struct Size {
  const char* name;
  int64_t d, h, B;
};
const Size kSizes[] = {{"small", 2, 128, 1024}, {"mid", 32, 128, 256}, {"large", 784, 512, 128}};
const char* const kWorkloads[] = {"energy_grad", "score",    "hvp",      "ssm_step",
                                  "sm_exact_step", "dsm_step", "langevin", "cd_step"};
const char* const kParamNames[] = {"W1", "b1", "W2", "b2", "w3", "b3"};

inline bool runs_at(const std::string& workload, const std::string& size) {
  if (workload == "sm_exact_step") return size == "small" || size == "mid";
  return size == "small" || size == "large";
}

// ------------------------------------------------------------------------------------------- problem
template <class T>
struct Problem {
  int64_t d, h, B;
  std::array<Tensor<T>, 6> theta;  // W1 [h,d], b1 [h], W2 [h,h], b2 [h], w3 [h], b3 []
  Tensor<T> X, V;                  // [B,d]
};

// The deterministic initialisation, in double, in exactly the written order. No FMA contraction here:
// the values must be bit-identical to the reference's Python math.sin / math.cos.
template <class T>
__attribute__((optimize("fp-contract=off"))) Problem<T> make_problem(const Size& s) {
  const int64_t d = s.d, h = s.h, B = s.B;
  const double sd = std::sqrt(static_cast<double>(d)), sh = std::sqrt(static_cast<double>(h));
  Problem<T> p{d, h, B, {}, Tensor<T>(Shape{B, d}), Tensor<T>(Shape{B, d})};
  Tensor<T> W1(Shape{h, d}), b1(Shape{h}), W2(Shape{h, h}), b2(Shape{h}), w3(Shape{h});
  for (int64_t i = 0; i < h; ++i) {
    const double di = static_cast<double>(i);
    for (int64_t j = 0; j < d; ++j)
      W1.at(i, j) = static_cast<T>(0.5 * std::sin(1.0 + 0.37 * di + 0.11 * static_cast<double>(j)) / sd);
    b1[i] = static_cast<T>(0.1 * std::cos(0.5 * di));
    for (int64_t j = 0; j < h; ++j)
      W2.at(i, j) = static_cast<T>(0.5 * std::sin(2.0 + 0.23 * di + 0.19 * static_cast<double>(j)) / sh);
    b2[i] = static_cast<T>(0.1 * std::cos(0.7 * di));
    w3[i] = static_cast<T>(0.5 * std::sin(3.0 + 0.31 * di) / sh);
  }
  for (int64_t n = 0; n < B; ++n)
    for (int64_t k = 0; k < d; ++k) {
      const double dn = static_cast<double>(n), dk = static_cast<double>(k);
      p.X.at(n, k) = static_cast<T>(std::sin(0.3 * dn + 0.7 * dk + 0.1) * 1.5);
      p.V.at(n, k) = static_cast<T>(std::cos(0.9 * dn + 0.4 * dk) * 1.2);
    }
  p.theta = {std::move(W1), std::move(b1), std::move(W2), std::move(b2), std::move(w3), Tensor<T>::scalar(T(0.05))};
  return p;
}

// ------------------------------------------------------------------------------------------- workloads
// A workload is a list of methods; run(out) performs one iteration and returns `value`. When `out` is
// given (check mode) it also collects the named outputs.
template <class T>
using Outputs = std::vector<std::pair<std::string, Tensor<T>>>;
template <class T>
struct Method {
  std::string name;
  std::function<double(Outputs<T>*)> run;
};

}  // namespace bench
