#pragma once
// expect_ad: one call checks an op's derivatives of orders 1 to 3, in reverse, forward and
// forward-over-reverse mode, against central finite differences in float64 (in the spirit of Stan's expect_ad).
// The op's output y is checked as is and cubed (sum w·y³), so that linear ops also see nonzero higher
// derivatives flow through their rules.
#include <doctest/doctest.h>

#include <autodiff/autodiff.hpp>

namespace test {

using ad::Shape;
using ad::Tensor;
using ad::Var;
using Inputs = std::vector<Tensor<double>>;

/// A tensor of `shape` with values uniform in [lo, hi], reproducible from `seed`.
inline Tensor<double> uniform(const Shape& shape, double lo, double hi, uint64_t seed) {
  ad::Rng rng(seed, 99);
  Tensor<double> t(shape);
  ad::fill_uniform(t, rng, lo, hi);
  return t;
}

template <class F>
void expect_ad(const char* name, F f, const Inputs& inputs, int order = 3) {
  ad::GradcheckOptions opt;
  opt.order = order;
  for (bool cube : {false, true}) {
    auto g = [&](ad::Tape<double>& tape, const std::vector<Var<double>>& x) -> Var<double> {
      Var<double> y = f(tape, x);
      return cube ? y * y * y : y;
    };
    const ad::GradcheckReport r = ad::gradcheck(g, inputs, opt);
    const std::string what = std::string(name) + (cube ? " (cubed)" : "") + "\n" + r.str();
    INFO(what);
    CHECK(r.passed);
  }
}

}  // namespace test
