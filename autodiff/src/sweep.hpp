#pragma once
// The reverse sweep without its optimisations, for the tests that compare grad with it.
#include <vector>

#include "autodiff/tape.hpp"

namespace ad::detail {

/// grad computed by the plain loop of Note [The reverse sweep] (transforms.cpp): a new sum node for every
/// contribution to an adjoint, and every value the sweep makes left on the tape. The same values as grad, bit
/// for bit; grad is the one to use.
template <class T>
std::vector<Var<T>> grad_plain(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                               const std::vector<Var<T>>& grad_outputs = {}, bool create_graph = false);

}  // namespace ad::detail
