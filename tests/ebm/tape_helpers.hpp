#pragma once
// Small helpers of the objective tests that evaluate a function on a fresh tape.
#include <functional>
#include <vector>

#include <autodiff/autodiff.hpp>
#include <ebm/models/energy.hpp>

namespace tape_helpers {

using V = std::vector<ad::Var<double>>;

/// The tensors as constants on `tape`.
inline V constants(ad::Tape<double>& tape, const std::vector<ad::Tensor<double>>& ts) {
  V v;
  for (const auto& t : ts) v.push_back(tape.constant(t));
  return v;
}

/// The parameters' current values.
inline std::vector<ad::Tensor<double>> values(const std::vector<ebm::Param<double>>& ps) {
  std::vector<ad::Tensor<double>> v;
  for (const auto& p : ps) v.push_back(p.value);
  return v;
}

/// The gradient of f with respect to `inputs`, bound as variables on a fresh tape.
inline std::vector<ad::Tensor<double>> gradient(const std::function<ad::Var<double>(ad::Tape<double>&, const V&)>& f,
                                                const std::vector<ad::Tensor<double>>& inputs) {
  ad::Tape<double> tape;
  V in;
  for (const auto& t : inputs) in.push_back(tape.variable(t));
  std::vector<ad::Tensor<double>> out;
  for (const auto& g : ad::grad<double>({f(tape, in)}, in)) out.push_back(g.value());
  return out;
}

}  // namespace tape_helpers
