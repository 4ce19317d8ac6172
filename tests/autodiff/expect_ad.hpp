#pragma once
// expect_ad: one call checks an op's derivatives of orders 1 to 3, in reverse, forward and
// forward-over-reverse mode, against central finite differences in float64 (in the spirit of Stan's expect_ad).
// The op's output y is checked as is and cubed (sum w·y³), so that linear ops also see nonzero higher
// derivatives flow through their rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <autodiff/autodiff.hpp>

#include "node.hpp"   // tape.impl().nodes (autodiff/src; the autodiff tests see it)
#include "sweep.hpp"  // detail::grad_plain

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

/// max |a − b| ≤ tol · max(1, max |b|) over every element (same shapes required).
inline void check_close(const std::string& what, const Tensor<double>& a, const Tensor<double>& b, double tol) {
  INFO(what);
  REQUIRE(a.shape() == b.shape());
  double err = 0, scale = 1;
  for (int64_t i = 0; i < a.numel(); ++i) err = std::max(err, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(b[i]));
  CHECK(err <= tol * scale);
}

/// The scalar chain gradcheck differentiates, recorded: D_0 = <w, f(x)>, D_j = Σ_k <∇_k D_{j−1}, u_jk>, with fixed
/// random w and directions (seeded by j).
template <class F>
Var<double> directional_chain(ad::Tape<double>& tape, F f, const std::vector<Var<double>>& x, int order) {
  Var<double> y = f(tape, x);
  Var<double> d = ad::sum(y * tape.constant(uniform(y.shape(), -1, 1, 1000)));
  for (int j = 1; j <= order; ++j) {
    const std::vector<Var<double>> g = ad::grad<double>({d}, x, {}, true);
    Var<double> next;
    for (size_t k = 0; k < x.size(); ++k) {
      const Var<double> term = ad::sum(g[k] * tape.constant(uniform(x[k].shape(), -1, 1, 2000 + 10 * uint64_t(j) + k)));
      next = next.defined() ? next + term : term;
    }
    d = next;
  }
  return d;
}

/// Note [Batched rules]: gradcheck checks every op's plain reverse and tangent rules against finite differences.
/// The batched tangents (jvp_batched, K = 3 directions, full [K, *s] and stretched [K, 1, ...] shapes) are checked
/// here against one jvp per direction, so against finite differences too, for the function's output and for its
/// recorded derivatives of orders 1 and 2 (the tangents of those are derivatives of orders 2 and 3).
/// A function with a value of rank 4 has no batched tangents (jvp_batched's documented limit): not called for it.
template <class F>
void expect_batched(const char* name, F f, const Inputs& inputs) {
  constexpr int64_t K = 3;
  for (int order = 0; order <= 2; ++order) {
    CAPTURE(name);
    CAPTURE(order);
    ad::Tape<double> tape;
    std::vector<Var<double>> x;
    for (const auto& t : inputs) x.push_back(tape.variable(t));
    // The quantity whose tangents are compared: the output (order 0), or a recorded gradient of the chain.
    std::vector<Var<double>> outs;
    if (order == 0) outs = {f(tape, x)};
    else outs = ad::grad<double>({directional_chain(tape, f, x, order - 1)}, x, {}, true);
    for (const bool stretched : {false, true}) {
      std::vector<Var<double>> tangents;
      std::vector<Tensor<double>> dirs;  // per input: the K directions, [K, *shape] with the first axis maybe 1
      for (size_t k = 0; k < x.size(); ++k) {
        int64_t dims[4] = {K, 1, 1, 1};
        for (int r = 0; r < x[k].rank(); ++r) dims[r + 1] = x[k].shape()[r];
        if (stretched && x[k].rank() >= 1) dims[1] = 1;  // one direction shared along the first axis
        dirs.push_back(uniform(ad::Shape::of_rank(x[k].rank() + 1, dims), -1, 1, 3000 + k));
        tangents.push_back(tape.constant(dirs.back()));
      }
      const std::vector<Var<double>> tb = ad::jvp_batched<double>(outs, x, tangents);
      for (int64_t j = 0; j < K; ++j) {
        std::vector<Var<double>> one;
        for (size_t k = 0; k < x.size(); ++k) {
          const Shape ds = dirs[k].shape();
          int64_t dims[4] = {1, 1, 1, 1};
          for (int r = 1; r < ds.rank(); ++r) dims[r - 1] = ds[r];
          const Tensor<double> dj(ad::Shape::of_rank(ds.rank() - 1, dims), dirs[k].data() + j * (dirs[k].numel() / K));
          one.push_back(ad::broadcast_to(tape.constant(dj), x[k].shape()));
        }
        const std::vector<Var<double>> tj = ad::jvp<double>(outs, x, one);
        for (size_t m = 0; m < outs.size(); ++m) {
          const Tensor<double> slice(outs[m].shape(), tb[m].value().data() + j * outs[m].numel());
          check_close(std::string("jvp_batched direction ") + std::to_string(j) + (stretched ? " (stretched)" : "") +
                          " of output " + std::to_string(m), slice, tj[m].value(), 1e-11);
        }
      }
    }
  }
}

/// grad against the plain reverse sweep (detail::grad_plain: Note [The reverse sweep]) on D_0, D_1 and D_2 of
/// directional_chain, bit for bit: the optimisations grad adds may change where values are kept, never a value
/// (tests/autodiff/test_sweeps.cpp).
template <class F>
void expect_plain_sweep(const char* name, F f, const Inputs& inputs) {
  for (int order = 0; order <= 2; ++order) {
    CAPTURE(name);
    CAPTURE(order);
    ad::Tape<double> tape;
    std::vector<Var<double>> x;
    for (const auto& t : inputs) x.push_back(tape.variable(t));
    const Var<double> d = directional_chain(tape, f, x, order);
    const std::vector<Var<double>> fast = ad::grad<double>({d}, x);
    const std::vector<Var<double>> plain = ad::detail::grad_plain<double>({d}, x);
    for (size_t k = 0; k < x.size(); ++k) {
      CAPTURE(k);
      int64_t differ = 0;
      for (int64_t i = 0; i < x[k].numel(); ++i) differ += fast[k].data()[i] != plain[k].data()[i];
      CHECK(differ == 0);
    }
  }
}

/// Whether recording f (and its derivatives up to order 2) makes a value of rank 4, which jvp_batched cannot batch.
template <class F>
bool has_rank4_value(F f, const Inputs& inputs) {
  ad::Tape<double> tape;
  std::vector<Var<double>> x;
  for (const auto& t : inputs) x.push_back(tape.variable(t));
  ad::grad<double>({directional_chain(tape, f, x, 1)}, x, {}, true);
  for (const auto& n : tape.impl().nodes)
    if (n.shape.rank() >= 4) return true;
  return false;
}

/// expect_ad: gradcheck to `order` (reverse, forward and mixed modes, the output as is and cubed), then the batched
/// tangent rules against the plain rules (Note [Batched rules]) and grad against the plain reverse sweep.
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
  const bool rank4 = has_rank4_value(f, inputs);
  if (rank4) MESSAGE(name << ": records a value of rank 4; batched tangents (jvp_batched, ranks up to 3) not compared");
  if (!rank4) expect_batched(name, f, inputs);
  expect_plain_sweep(name, f, inputs);
}

}  // namespace test
