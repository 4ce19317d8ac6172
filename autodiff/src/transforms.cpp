// The sweeps. Note [Flat sweeps]: nodes are numbered in creation order, which is a topological order, so
// reverse mode is one backward loop over an index range and forward mode one forward loop: no recursion,
// no visited sets, and shared subexpressions are visited once.
#include "autodiff/transforms.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "autodiff/ops.hpp"
#include "node.hpp"
#include "ops/common.hpp"
#include "sweep.hpp"

namespace ad {
namespace {

template <class T>
Tape<T>& common_tape(const char* what, const std::vector<Var<T>>& a, const std::vector<Var<T>>& b) {
  if (a.empty() || b.empty()) throw std::invalid_argument(std::string(what) + ": needs at least one output and one input");
  Tape<T>& tape = a[0].tape();
  for (const auto* list : {&a, &b})
    for (const Var<T>& v : *list)
      if (!v.defined() || &v.tape() != &tape)
        throw std::invalid_argument(std::string(what) + ": all outputs and inputs must be defined and on one tape");
  return tape;
}

template <class T>
void check_like(const char* what, const char* role, size_t k, const Var<T>& v, const Shape& want) {
  if (!v.defined() || v.shape() != want)
    throw ShapeError(std::string(what) + ": " + role + " " + std::to_string(k) + " has shape " +
                     (v.defined() ? v.shape().str() : std::string("(undefined)")) + ", expected " + want.str());
}

// Note [Kept results]: without create_graph, a sweep runs unrecorded and nothing will read what it computed on
// the way (the adjoints of intermediates, the products in the rules), yet all of it sits on the tape: for a
// network's gradient, many times the size of the results. So the results are kept and the rest dropped. Their
// nodes are recorded before the sweep (slots: the shapes are known up front); afterwards each result is copied
// into its slot and the tape rewound to just after the slots: no heap tensor, no second copy. A training or
// Langevin loop that takes a gradient every step then reuses the same arena memory at every step.
template <class T>
struct Kept {
  std::vector<Var<T>> slots;
  typename Tape<T>::Mark mark;
  Kept(Tape<T>& tape, bool create_graph, const std::vector<Shape>& shapes) {
    if (!create_graph)
      for (const Shape& s : shapes) slots.push_back(detail::fresh(tape, s));
    mark = tape.mark();
  }
  std::vector<Var<T>> finish(Tape<T>& tape, const std::vector<Var<T>>& results) {
    if (slots.empty()) return results;
    for (size_t k = 0; k < results.size(); ++k)  // a parallel copy: results can be megabytes (∇θ of a wide layer)
      kernels::map(results[k].data(), detail::mutable_data(slots[k]), results[k].numel(), [](auto v) { return v; });
    tape.rewind(mark);
    return slots;
  }
};

template <class T>
std::vector<Shape> shapes_of(const std::vector<Var<T>>& vs) {
  std::vector<Shape> out;
  for (const Var<T>& v : vs) out.push_back(v.shape());
  return out;
}

// dep[i - lo]: node i depends on one of the inputs.
template <class T>
std::vector<char> dependents(const detail::TapeImpl<T>& impl, uint32_t lo, uint32_t hi, const std::vector<Var<T>>& inputs) {
  std::vector<char> dep(hi - lo + 1, 0);
  for (const Var<T>& x : inputs)
    if (x.id() <= hi) dep[x.id() - lo] = 1;  // an input recorded after every output gets no gradient
  for (uint32_t i = lo; i <= hi; ++i) {
    if (dep[i - lo]) continue;
    const auto& n = impl.nodes[i];
    for (int k = 0; k < n.nin; ++k)
      if (n.in[static_cast<size_t>(k)] >= lo && dep[n.in[static_cast<size_t>(k)] - lo]) {
        dep[i - lo] = 1;
        break;
      }
  }
  return dep;
}

template <class T>
std::pair<uint32_t, uint32_t> id_range(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs) {
  uint32_t lo = UINT32_MAX, hi = 0;
  for (const Var<T>& x : inputs) lo = std::min(lo, x.id());
  for (const Var<T>& y : outputs) hi = std::max(hi, y.id());
  return {lo, hi};
}

}  // namespace

namespace {

// Note [The reverse sweep]: reverse mode is the loop in `reverse_sweep`, as in micrograd's backward(): walk the
// nodes from the outputs down (Note [Flat sweeps]: by decreasing id), and for each node that has an adjoint and
// a rule, call the rule on the adjoint and add what it returns to the adjoints of the node's inputs. Everything
// else around it is bookkeeping (which nodes depend on the inputs, the seeds, the results) or one of two
// optimisations, each behind its own seam so that the loop reads the same with or without them:
//   - how an adjoint takes a contribution: `PlainSums` (a new sum node per contribution) or `InPlaceSums`
//     (Note [Adjoint sums in place]);
//   - what stays on the tape afterwards: everything, or the results only (`Kept`, Note [Kept results]).
// grad uses both optimisations whenever they are valid (without create_graph); detail::grad_plain runs the
// loop with neither, as the reference the tests compare grad with (tests/autodiff/test_sweeps.cpp).

// Contributions added by a new sum node each time: what the sweep must do when it is recorded (create_graph),
// since the sums are then part of a graph something may differentiate.
template <class T>
struct PlainSums {
  explicit PlainSums(size_t) {}
  void add(std::vector<Var<T>>& adj, uint32_t j, const Var<T>& g) { adj[j] = ops::acc(adj[j], g); }
};

// Note [Adjoint sums in place]: without create_graph nothing will differentiate this sweep, so a sum that the
// sweep itself made for one adjoint (owned[j]: adj[j] holds it and nothing else does) takes further contributions
// in place. A weight used in k places then costs one new buffer instead of k - 1. The values are the same bits as
// PlainSums' (a + g, one rounding, in the same order either way). Anything a rule returns may be shared (an add's
// rule hands its upstream adjoint to both inputs; a reshape's is a view of it), and so may a seed the caller
// passed, so only sums made here are owned. An owned sum is never written after its node's rule has run: its
// contributions come from consumers, which have larger ids and were swept before it.
template <class T>
struct InPlaceSums {
  std::vector<char> owned;
  explicit InPlaceSums(size_t n) : owned(n, 0) {}
  void add(std::vector<Var<T>>& adj, uint32_t j, const Var<T>& g) {
    Var<T>& a = adj[j];
    if (owned[j]) {
      T* y = detail::mutable_data(a);
      kernels::zip_flat(y, 1, g.data(), 1, y, a.numel(), [](auto u, auto v) { return u + v; });
      return;
    }
    owned[j] = a.defined() && g.defined();
    a = ops::acc(a, g);
  }
};

// The checks of grad's arguments, before anything is recorded.
template <class T>
void check_grad_args(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                     const std::vector<Var<T>>& grad_outputs) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw std::invalid_argument("grad: " + std::to_string(grad_outputs.size()) + " grad_outputs for " +
                                std::to_string(outputs.size()) + " outputs");
  for (size_t k = 0; k < inputs.size(); ++k)
    if (!inputs[k].requires_grad())
      throw std::invalid_argument("grad: input " + std::to_string(k) +
                                  " does not require a gradient (make it with Tape::variable, or record it from one)");
}

// The adjoint that output j starts with: grad_outputs[j], or 1 for a single number.
template <class T>
Var<T> seed_of(Tape<T>& tape, const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& grad_outputs, size_t j) {
  const Shape shape = outputs[j].shape();
  if (!grad_outputs.empty()) {
    check_like("grad", "grad_output", j, grad_outputs[j], shape);
    return grad_outputs[j];
  }
  if (shape.numel() != 1)
    throw std::invalid_argument("grad: output " + std::to_string(j) + " has shape " + shape.str() +
                                "; pass grad_outputs for outputs that are not single numbers");
  return tape.constant(shape, T(1));
}

// Note [The reverse sweep]. adj[i - lo] holds node i's adjoint (undefined: zero); `dep` marks the nodes that
// depend on the inputs (no other node's rule need run); sums.add(adj, j, g) adds contribution g to adj[j].
template <class T, class Sums>
void reverse_sweep(Tape<T>& tape, uint32_t lo, uint32_t hi, const std::vector<char>& dep, std::vector<Var<T>>& adj,
                   Sums& sums) {
  auto& impl = tape.impl();
  for (uint32_t i = hi + 1; i-- > lo;) {
    if (!dep[i - lo] || !adj[i - lo].defined()) continue;
    const detail::Node<T> node = impl.nodes[i];  // a copy: rules append to the node table
    if (!node.rule) continue;                   // a leaf or a constant
    unsigned mask = 0;                          // the inputs that need an adjoint
    for (int k = 0; k < node.nin; ++k) {
      const uint32_t in = node.in[static_cast<size_t>(k)];
      if (in >= lo && dep[in - lo]) mask |= 1u << k;
    }
    if (!mask) continue;
    Var<T> gin[detail::kMaxInputs];
    node.rule->backward(detail::OpNode<T>{&tape, i, mask}, adj[i - lo], gin);
    for (int k = 0; k < node.nin; ++k) {
      if (!((mask >> k) & 1u) || !gin[k].defined()) continue;
      const uint32_t in = node.in[static_cast<size_t>(k)];
      if (gin[k].shape() != impl.nodes[in].shape)
        throw std::logic_error(std::string("grad: the rule of '") + node.rule->name + "' gave an adjoint of shape " +
                               gin[k].shape().str() + " for an input of shape " + impl.nodes[in].shape.str());
      sums.add(adj, in - lo, gin[k]);
    }
  }
}

// grad's gradients: the seeds, the sweep, and each input's adjoint (zero when no output depends on it).
template <class T, class Sums>
std::vector<Var<T>> sweep_gradients(Tape<T>& tape, const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                                    const std::vector<Var<T>>& grad_outputs, bool create_graph) {
  std::optional<typename Tape<T>::NoGrad> no_grad;
  if (!create_graph) no_grad.emplace(tape);
  const auto [lo, hi] = id_range(outputs, inputs);
  std::vector<Var<T>> adj(hi >= lo ? hi - lo + 1 : 0);
  Sums sums(adj.size());
  if (hi >= lo) {
    const std::vector<char> dep = dependents(tape.impl(), lo, hi, inputs);
    for (size_t j = 0; j < outputs.size(); ++j) {
      const Var<T> seed = seed_of(tape, outputs, grad_outputs, j);
      const uint32_t id = outputs[j].id();
      if (id >= lo && dep[id - lo]) sums.add(adj, id - lo, seed);
    }
    reverse_sweep(tape, lo, hi, dep, adj, sums);
  }
  std::vector<Var<T>> results;
  for (const Var<T>& x : inputs) {
    const Var<T> g = hi >= lo && x.id() <= hi ? adj[x.id() - lo] : Var<T>();
    results.push_back(g.defined() ? g : tape.constant(x.shape(), T(0)));
  }
  return results;
}

}  // namespace

template <class T>
std::vector<Var<T>> grad(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                         const std::vector<Var<T>>& grad_outputs, bool create_graph) {
  Tape<T>& tape = common_tape("grad", outputs, inputs);
  check_grad_args(outputs, inputs, grad_outputs);
  if (create_graph) return sweep_gradients<T, PlainSums<T>>(tape, outputs, inputs, grad_outputs, true);
  Kept<T> kept(tape, false, shapes_of(inputs));
  return kept.finish(tape, sweep_gradients<T, InPlaceSums<T>>(tape, outputs, inputs, grad_outputs, false));
}

namespace detail {
template <class T>
std::vector<Var<T>> grad_plain(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                               const std::vector<Var<T>>& grad_outputs, bool create_graph) {
  Tape<T>& tape = common_tape("grad", outputs, inputs);
  check_grad_args(outputs, inputs, grad_outputs);
  return sweep_gradients<T, PlainSums<T>>(tape, outputs, inputs, grad_outputs, create_graph);
}
template std::vector<Var<float>> grad_plain(const std::vector<Var<float>>&, const std::vector<Var<float>>&,
                                            const std::vector<Var<float>>&, bool);
template std::vector<Var<double>> grad_plain(const std::vector<Var<double>>&, const std::vector<Var<double>>&,
                                             const std::vector<Var<double>>&, bool);
}  // namespace detail

template <class T>
Var<T> grad(const Var<T>& output, const Var<T>& input, bool create_graph) {
  return grad<T>({output}, {input}, {}, create_graph)[0];
}

template <class T>
std::vector<Var<T>> vjp(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                        const std::vector<Var<T>>& cotangents, bool create_graph) {
  if (cotangents.size() != outputs.size()) throw std::invalid_argument("vjp: one cotangent per output is needed");
  return grad(outputs, inputs, cotangents, create_graph);
}

namespace {
// needed[i - lo]: the outputs depend on node i (forward sweeps skip the tangents nothing reads).
template <class T>
std::vector<char> needed_by(const detail::TapeImpl<T>& impl, uint32_t lo, uint32_t hi, const std::vector<Var<T>>& outputs) {
  std::vector<char> need(hi - lo + 1, 0);
  for (const Var<T>& y : outputs)
    if (y.id() >= lo) need[y.id() - lo] = 1;
  for (uint32_t i = hi + 1; i-- > lo;) {
    if (!need[i - lo]) continue;
    const auto& n = impl.nodes[i];
    for (int k = 0; k < n.nin; ++k)
      if (n.in[static_cast<size_t>(k)] >= lo) need[n.in[static_cast<size_t>(k)] - lo] = 1;
  }
  return need;
}

// The batched tangent of one node by its unbatched rule, one direction at a time (ops without a batched rule).
template <class T>
Var<T> batched_by_slices(const detail::Node<T>& node, const detail::OpNode<T>& n, const Var<T>* tin, int64_t K) {
  const Shape out = n.out().shape();
  Var<T> full[detail::kMaxInputs];
  for (int k = 0; k < node.nin; ++k)
    if (tin[k].defined()) full[k] = ops::batch_full(tin[k], n.in_shape(k));
  Var<T> result;
  for (int64_t j = 0; j < K; ++j) {
    Var<T> slice[detail::kMaxInputs];
    for (int k = 0; k < node.nin; ++k)
      if (full[k].defined()) slice[k] = reshape(slice_rows(full[k], j, 1), n.in_shape(k));
    const Var<T> r = ops::expand(node.rule->tangent(n, slice), out);
    result = ops::acc(result, pad_rows(reshape(r, ops::batched(1, out)), j, K));
  }
  return result;
}

// The forward sweep of jvp (K = 0) and jvp_batched (K directions).
template <class T>
std::vector<Var<T>> forward_sweep(const char* what, const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                                  const std::vector<Var<T>>& tangents, bool create_graph, int64_t K) {
  Tape<T>& tape = common_tape(what, outputs, inputs);
  auto& impl = tape.impl();
  if (tangents.size() != inputs.size()) throw std::invalid_argument(std::string(what) + ": one tangent per input is needed");
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (K == 0) {
      check_like(what, "tangent", k, tangents[k], inputs[k].shape());
      continue;
    }
    const Shape want = ops::batched(K, inputs[k].shape());
    if (!tangents[k].defined() || tangents[k].rank() != want.rank() ||
        kernels::broadcast_shape(what, tangents[k].shape(), want) != want)
      throw ShapeError(std::string(what) + ": tangent " + std::to_string(k) + " has shape " +
                       (tangents[k].defined() ? tangents[k].shape().str() : std::string("(undefined)")) +
                       ", expected " + want.str() + " or a shape that stretches to it");
  }
  std::vector<Shape> out_shapes;
  for (const Var<T>& y : outputs) out_shapes.push_back(K ? ops::batched(K, y.shape()) : y.shape());
  Kept<T> kept(tape, create_graph, out_shapes);
  std::vector<Var<T>> results;
  {
    std::optional<typename Tape<T>::NoGrad> no_grad;
    if (!create_graph) no_grad.emplace(tape);
    const auto [lo, hi] = id_range(outputs, inputs);
    std::vector<Var<T>> tan(hi >= lo ? hi - lo + 1 : 0);
    if (hi >= lo) {
      const std::vector<char> need = needed_by(impl, lo, hi, outputs);
      for (size_t k = 0; k < inputs.size(); ++k) {
        Var<T> t = tangents[k];
        if (K && t.shape()[0] != K) t = broadcast_to(t, t.shape().with(0, K));  // one direction shared by all K
        tan[inputs[k].id() - lo] = ops::acc(tan[inputs[k].id() - lo], t);
      }
      for (uint32_t i = lo; i <= hi; ++i) {
        if (!need[i - lo]) continue;
        const detail::Node<T> node = impl.nodes[i];
        if (!node.rule) continue;
        Var<T> tin[detail::kMaxInputs];
        bool any = false;
        // nin <= kMaxInputs always; the min only tells GCC so (-Wstringop-overflow false positive).
        const int nin = std::min<int>(node.nin, detail::kMaxInputs);
        for (int k = 0; k < nin; ++k) {
          const uint32_t in = node.in[static_cast<size_t>(k)];
          if (in >= lo && tan[in - lo].defined()) {
            tin[k] = tan[in - lo];
            any = true;
          }
        }
        if (!any) continue;
        const detail::OpNode<T> n{&tape, i, 0};
        if (K == 0 || node.rule->batch_safe) {
          tan[i - lo] = node.rule->tangent(n, tin);
          continue;
        }
        ops::batched(K, node.shape);  // throws for rank-4 values
        Var<T> r = node.rule->batched ? node.rule->batched(n, tin) : Var<T>();
        tan[i - lo] = r.defined() ? r : batched_by_slices(node, n, tin, K);
      }
    }
    for (size_t j = 0; j < outputs.size(); ++j) {
      const Var<T>& y = outputs[j];
      Var<T> t = (hi >= lo && y.id() >= lo) ? tan[y.id() - lo] : Var<T>();
      results.push_back(!t.defined() ? tape.constant(out_shapes[j], T(0)) : (K ? ops::expand(t, out_shapes[j]) : t));
    }
  }
  return kept.finish(tape, results);
}
}  // namespace

template <class T>
std::vector<Var<T>> jvp(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                        const std::vector<Var<T>>& tangents, bool create_graph) {
  return forward_sweep("jvp", outputs, inputs, tangents, create_graph, 0);
}

template <class T>
std::vector<Var<T>> jvp_batched(const std::vector<Var<T>>& outputs, const std::vector<Var<T>>& inputs,
                                const std::vector<Var<T>>& tangents, bool create_graph) {
  if (tangents.empty() || !tangents[0].defined() || tangents[0].rank() < 1)
    throw std::invalid_argument("jvp_batched: tangents need a leading axis of directions");
  return forward_sweep("jvp_batched", outputs, inputs, tangents, create_graph, tangents[0].shape()[0]);
}

template <class T>
Var<T> hvp(const Var<T>& f, const Var<T>& x, const Var<T>& v, bool create_graph, HvpMode mode) {
  Tape<T>& tape = f.tape();
  Kept<T> kept(tape, create_graph, {x.shape()});
  const Var<T> g = grad(f, x, true);
  const Var<T> hv = mode == HvpMode::forward_over_reverse ? jvp<T>({g}, {x}, {v}, true)[0]
                                                          : grad<T>({g}, {x}, {v}, true)[0];
  return kept.finish(tape, {hv})[0];
}

namespace {
template <class T>
void check_batch(const char* what, const Var<T>& x) {
  if (x.rank() != 2) throw ShapeError(std::string(what) + ": x must be a batch of shape [B, d], got " + x.shape().str());
}
}  // namespace

template <class T>
Var<T> hessian_trace(const Var<T>& f, const Var<T>& x, bool create_graph, Var<T> grad_f) {
  check_batch("hessian_trace", x);
  Tape<T>& tape = f.tape();
  const Shape s = x.shape();
  Kept<T> kept(tape, create_graph, {Shape{s[0]}});
  const int64_t d = s[1];
  const Var<T> g = grad_f.defined() ? grad_f : grad(f, x, true);
  // Batched when every value between x and ∇f has rank ≤ 3 (their batched tangents have rank 4 at most).
  bool batchable = true;
  for (uint32_t i = x.id(); i <= g.id() && batchable; ++i) batchable = tape.impl().nodes[i].shape.rank() <= 3;
  Var<T> trace;
  if (batchable) {
    // Note [Batched unit tangents]: directions k0 .. k0 + K - 1 at once, as the tangent E[j, 0, :] = e_{k0+j} of
    // shape [K, 1, d]: one direction per slice, shared by every row (the axis of extent 1). Forward mode keeps
    // that axis at 1 through everything linear in x, so the first layer's tangent product is [K, d] x W1ᵀ,
    // not [K B, d] x W1ᵀ; the first nonlinearity stretches it to [K, B, h], and every product after that is one
    // GEMM with K B rows instead of K products with B rows. Chunks of 32 directions bound the memory for wide x.
    constexpr int64_t kChunk = 32;
    for (int64_t k0 = 0; k0 < d; k0 += kChunk) {
      const int64_t K = std::min(kChunk, d - k0);
      Tensor<T> units(Shape{K, 1, d});
      for (int64_t j = 0; j < K; ++j) units[j * d + k0 + j] = 1;
      const Var<T> E = tape.constant(units);
      const Var<T> HE = jvp_batched<T>({g}, {x}, {E}, create_graph)[0];  // [K, B, d]: columns k0.. of each H_n
      trace = ops::acc(trace, sum(sum(HE * E, 2), 0));                      // Σ_j (H_n e_{k0+j})_{k0+j}
    }
  } else {
    for (int64_t k = 0; k < d; ++k) {
      Tensor<T> unit(Shape{1, d});
      unit[k] = 1;
      const Var<T> e = tape.constant(unit);
      const Var<T> hk = jvp<T>({g}, {x}, {broadcast_to(e, s)}, create_graph)[0];  // column k of each H_n
      trace = ops::acc(trace, reshape(slice_rows(transpose(hk), k, 1), Shape{s[0]}));
    }
  }
  return kept.finish(tape, {trace})[0];
}

template <class T>
Var<T> hutchinson_trace(const Var<T>& f, const Var<T>& x, int probes, Rng& rng, Probe kind, bool create_graph,
                        Var<T> grad_f) {
  check_batch("hutchinson_trace", x);
  if (probes < 1) throw std::invalid_argument("hutchinson_trace: probes must be at least 1");
  Tape<T>& tape = f.tape();
  Kept<T> kept(tape, create_graph, {Shape{x.shape()[0]}});
  const Var<T> g = grad_f.defined() ? grad_f : grad(f, x, true);
  Var<T> total;
  for (int m = 0; m < probes; ++m) {
    Tensor<T> probe(x.shape());
    kind == Probe::rademacher ? fill_rademacher(probe, rng) : fill_normal(probe, rng);
    const Var<T> v = tape.constant(probe);
    const Var<T> hv = grad<T>({g}, {x}, {v}, create_graph)[0];
    total = ops::acc(total, sum(v * hv, 1));
  }
  const Var<T> est = total / static_cast<double>(probes);
  return kept.finish(tape, {est})[0];
}

template <class T>
Tensor<T> jacobian(const Var<T>& y, const Var<T>& x) {
  Tape<T>& tape = y.tape();
  const int64_t m = y.numel(), n = x.numel();
  Tensor<T> J(Shape{m, n});
  for (int64_t i = 0; i < m; ++i) {
    const auto mark = tape.mark();
    Tensor<T> e(y.shape());
    e[i] = 1;
    const Var<T> row = grad<T>({y}, {x}, {tape.constant(e)}, false)[0];
    std::copy(row.data(), row.data() + n, J.data() + i * n);
    tape.rewind(mark);
  }
  return J;
}

template <class T>
Tensor<T> hessian(const Var<T>& f, const Var<T>& x) {
  if (f.numel() != 1) throw ShapeError("hessian: f must be a single number, got shape " + f.shape().str());
  Tape<T>& tape = f.tape();
  const auto mark = tape.mark();
  const Tensor<T> H = jacobian(grad(f, x, true), x);
  tape.rewind(mark);
  return H;
}

#define AD_INSTANTIATE(T)                                                                                          \
  template std::vector<Var<T>> grad(const std::vector<Var<T>>&, const std::vector<Var<T>>&,                        \
                                    const std::vector<Var<T>>&, bool);                                             \
  template Var<T> grad(const Var<T>&, const Var<T>&, bool);                                                        \
  template std::vector<Var<T>> vjp(const std::vector<Var<T>>&, const std::vector<Var<T>>&,                         \
                                   const std::vector<Var<T>>&, bool);                                              \
  template std::vector<Var<T>> jvp(const std::vector<Var<T>>&, const std::vector<Var<T>>&,                         \
                                   const std::vector<Var<T>>&, bool);                                              \
  template std::vector<Var<T>> jvp_batched(const std::vector<Var<T>>&, const std::vector<Var<T>>&,                 \
                                           const std::vector<Var<T>>&, bool);                                      \
  template Var<T> hvp(const Var<T>&, const Var<T>&, const Var<T>&, bool, HvpMode);                                 \
  template Var<T> hessian_trace(const Var<T>&, const Var<T>&, bool, Var<T>);                                       \
  template Var<T> hutchinson_trace(const Var<T>&, const Var<T>&, int, Rng&, Probe, bool, Var<T>);                  \
  template Tensor<T> jacobian(const Var<T>&, const Var<T>&);                                                       \
  template Tensor<T> hessian(const Var<T>&, const Var<T>&);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
