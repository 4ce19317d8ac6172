#pragma once
// Derivatives of recorded computations: reverse mode (grad, vjp), forward mode over the tape (jvp),
// Hessian-vector products, Hessian traces, Jacobians and dense Hessians.
//
// With create_graph = true the derivative computation is itself recorded, so its results can be
// differentiated again (to any order). With create_graph = false nothing stays on the tape but the results,
// which are constants.
//
// Batches: a batch energy f = Σ_n E(x_n) over the rows of x has a block-diagonal Hessian in x, so one HVP
// with v of shape [B, d] gives H_n v_n for every sample at once, and d of them give every trace.
#include <cstdint>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/tape.hpp"

namespace ad {

/// Like torch.autograd.grad: Σ_j grad_outputs[j]ᵀ ∂outputs[j]/∂inputs[k] for each k. grad_outputs may be
/// empty when every output is a single number (they are then seeded with 1). Inputs must require gradients.
/// An input that the outputs do not depend on gets a zero gradient.
template <class T>
std::vector<Var<T>> grad(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                         const std::vector<Var<T>>& grad_outputs = {}, bool create_graph = false);
/// ∇ of a scalar output with respect to one input.
template <class T>
Var<T> grad(const Var<T>& output, const Var<T>& input, bool create_graph = false);

/// Vector-Jacobian product: grad with explicit cotangents.
template <class T>
std::vector<Var<T>> vjp(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                        const std::vector<Var<T>>& cotangents, bool create_graph = false);

/// Jacobian-vector product by forward mode over the tape: the directional derivative of each output when
/// the inputs move along `tangents`. Each op's tangent rule is applied in creation order.
template <class T>
std::vector<Var<T>> jvp(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                        const std::vector<Var<T>>& tangents, bool create_graph = false);

/// Batched forward mode (like vmap over jvp): K directional derivatives in one sweep. tangents[k] has shape
/// [K, *inputs[k].shape()], or any shape of the same rank that stretches to it (an axis of extent 1 means the
/// directions do not vary along it: [K, 1, d] moves every row of a batch x of shape [B, d] along the same K
/// directions, and the sweep keeps that axis at 1 as long as the computation is linear in x). Returns, per
/// output, the K derivatives, shape [K, *output.shape()]. Values of rank ≤ 3 only. Ops with a batched rule
/// (elementwise, broadcasting, reductions, reshape, matmul in A) process all K at once; the others run their
/// forward rule once per direction.
template <class T>
std::vector<Var<T>> jvp_batched(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                                const std::vector<Var<T>>& tangents, bool create_graph = false);

enum class HvpMode {
  forward_over_reverse,  // jvp of the recorded gradient
  reverse_over_reverse,  // grad of <gradient, v>
};
/// The mode `hvp` uses unless told otherwise: the faster one in bench/ on this engine.
constexpr HvpMode kDefaultHvpMode = HvpMode::reverse_over_reverse;

/// H v, with H the Hessian of the scalar f with respect to x and v shaped like x.
template <class T>
Var<T> hvp(const Var<T>& f, const Var<T>& x, const Var<T>& v, bool create_graph = false,
           HvpMode mode = kDefaultHvpMode);

/// Per-sample Hessian traces of f = Σ_n E(x_n) for x of shape [B, d]: tr ∇²E(x_n), shape [B].
/// Exact: the d HVPs along the unit directions e_k (each applied to the whole batch at once) as batched forward
/// mode over the recorded gradient (jvp_batched, 32 directions per sweep), or one forward sweep per direction
/// when a value between x and ∇f has rank 4.
/// `grad_f` may pass an already recorded ∇ₓf (with create_graph) to avoid recomputing it.
template <class T>
Var<T> hessian_trace(const Var<T>& f, const Var<T>& x, bool create_graph = false, Var<T> grad_f = {});

enum class Probe { rademacher, gaussian };
/// Hutchinson's estimator of the same per-sample traces: mean over `probes` draws of vᵀ H v.
template <class T>
Var<T> hutchinson_trace(const Var<T>& f, const Var<T>& x, int probes, Rng& rng, Probe kind = Probe::rademacher,
                        bool create_graph = false, Var<T> grad_f = {});

/// Dense Jacobian of y with respect to x: shape [numel(y), numel(x)] (one reverse sweep per output element).
template <class T>
Tensor<T> jacobian(const Var<T>& y, const Var<T>& x);
/// Dense Hessian of the scalar f with respect to x: shape [numel(x), numel(x)]. For small x.
template <class T>
Tensor<T> hessian(const Var<T>& f, const Var<T>& x);

}  // namespace ad
