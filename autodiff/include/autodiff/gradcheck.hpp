#pragma once
// Checks a function's derivatives against central finite differences, in float64, along random directions.
//
// For order k the check builds D_0 = <w, f(x)> (w a fixed random cotangent when f is not a single number) and
// D_j = <∇D_{j-1}(x), u_j>, each computed by the engine with create_graph, in reverse mode, forward mode, or
// alternating (forward-over-reverse, as HVPs use). It compares D_j(x) with
// (D_{j-1}(x + h u_j) - D_{j-1}(x - h u_j)) / 2h. Since D_{j-1} was itself checked at order j - 1, order k
// covers every derivative up to k, mixed ones included when f takes several inputs (x and θ).
#include <functional>
#include <string>
#include <vector>

#include "autodiff/tape.hpp"

namespace ad {

struct GradcheckOptions {
  int order = 1;          // check derivatives of orders 1..order (at most 3)
  int directions = 2;     // random direction sets per mode
  double step = 1e-5;     // finite-difference step along unit-norm directions
  double atol = 1e-7;     // pass when |ad - fd| <= atol + rtol * max(|ad|, |fd|)
  double rtol = 1e-5;
  uint64_t seed = 0;
  bool forward_mode = true;  // also check the tangent rules (pure forward and forward-over-reverse)
};

struct GradcheckOrder {
  int order = 0;
  double max_abs_error = 0, max_rel_error = 0;
  int checks = 0;
  bool passed = true;
  std::string worst;  // which mode and direction gave the largest error
};

struct GradcheckReport {
  std::vector<GradcheckOrder> orders;
  bool passed = true;
  std::string str() const;
};

/// f records its value on the tape from the given input Vars.
using GradcheckFunction = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

GradcheckReport gradcheck(const GradcheckFunction& f, const std::vector<Tensor<double>>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace ad
