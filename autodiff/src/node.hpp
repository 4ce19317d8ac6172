#pragma once
// Tape internals: the node layout and the rule table entry each op defines (see ops/*.cpp).
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "arena.hpp"
#include "autodiff/tape.hpp"

namespace ad::detail {

template <class T>
struct OpNode;

/// What an op tells the engine about its derivatives; both rules are written in differentiable ops.
template <class T>
struct Rule {
  const char* name;
  /// Reverse mode: given the output adjoint g, set gin[k] for every input k with n.needs(k).
  void (*backward)(const OpNode<T>& n, const Var<T>& g, Var<T>* gin);
  /// Forward mode: given input tangents (undefined = zero, at least one defined), return the output tangent.
  Var<T> (*tangent)(const OpNode<T>& n, const Var<T>* tin);
  /// Batched forward mode (jvp_batched): each tangent has a leading axis of K directions, and every other axis
  /// of extent 1 or the value's (see ops::batched). `batch_safe`: `tangent` itself is valid for such tangents,
  /// because it only multiplies them, broadcasting, with values of the node (elementwise ops).
  bool batch_safe = false;
  /// Otherwise the op's batched rule. When it is null or returns an undefined Var, the sweep applies `tangent`
  /// to one direction at a time (correct for every op, K times the work).
  Var<T> (*batched)(const OpNode<T>& n, const Var<T>* tin) = nullptr;
};

constexpr int kMaxInputs = 3;

template <class T>
struct Node {
  const Rule<T>* rule = nullptr;  // null for leaves and constants
  std::array<uint32_t, kMaxInputs> in{};
  uint8_t nin = 0;
  bool requires_grad = false;
  T* data = nullptr;
  Shape shape;
  // Attributes an op may keep for its rules (scalar factors, axes, flags, a target shape).
  double a = 0, b = 0;
  int64_t i = 0, j = 0;
  Shape s;
};

// Note [Packed operands]: a leaf or constant never changes once recorded (its data is the tape's copy), so the
// GEMM packing of such a node as the B operand of a product (kernels::pack_b_panels) can be kept and reused by
// every later product with the same operand: the weights of a network recorded once and used by the forward
// pass, the backward pass and higher-order sweeps, and across the iterations that rewind to a mark after them
// (Langevin steps with θ held constant). Entries are keyed by node and transpose flag, made on first use, and
// dropped with their node by rewind/clear; each costs the size of the operand. A dropped entry's storage is kept
// for the next one, as the arena keeps its chunks: when θ changes every iteration (a training loop that clears
// the tape), fresh buffers would be new pages from the system, faulted in and zeroed at every step (measured:
// a third of cd_step/large).
template <class T>
struct PackedOperands {
  using Buffer = std::vector<T, AlignedAllocator<T>>;
  std::unordered_map<uint64_t, Buffer> by_node;  // key: 2 id + transposed
  std::vector<Buffer> spare;                     // storage of dropped entries

  void drop_from(uint32_t first_id) {
    for (auto it = by_node.begin(); it != by_node.end();) {
      if (it->first / 2 >= first_id) {
        spare.push_back(std::move(it->second));
        it = by_node.erase(it);
      } else {
        ++it;
      }
    }
  }
  /// Storage for n values: the smallest spare buffer that holds them, else a new one. Contents unspecified.
  Buffer take(size_t n) {
    size_t best = spare.size();
    for (size_t k = 0; k < spare.size(); ++k)
      if (spare[k].size() >= n && (best == spare.size() || spare[k].size() < spare[best].size())) best = k;
    Buffer b;
    if (best < spare.size()) {
      b = std::move(spare[best]);
      spare.erase(spare.begin() + static_cast<std::ptrdiff_t>(best));
    }
    if (b.size() < n) b.resize(n);
    return b;
  }
};

template <class T>
class TapeImpl {
 public:
  std::vector<Node<T>> nodes;
  Arena arena;
  bool recording = true;
  PackedOperands<T> packed;

  T* alloc(int64_t n) { return static_cast<T*>(arena.allocate(static_cast<size_t>(n) * sizeof(T))); }
};

/// The view a rule gets of its node: inputs and output as Vars, plus attributes.
template <class T>
struct OpNode {
  Tape<T>* tape;
  uint32_t id;
  unsigned needs_mask;  // bit k: input k needs a gradient (backward only)

  const Node<T>& node() const { return tape->impl().nodes[id]; }
  Var<T> in(int k) const { return Var<T>(tape, node().in[static_cast<size_t>(k)]); }
  Var<T> out() const { return Var<T>(tape, id); }
  bool needs(int k) const { return (needs_mask >> k) & 1u; }
  // By value: rules record nodes, which may grow (reallocate) the node table while a reference is held.
  Shape in_shape(int k) const { return tape->impl().nodes[node().in[static_cast<size_t>(k)]].shape; }
  double a() const { return node().a; }
  double b() const { return node().b; }
  int64_t i() const { return node().i; }
  int64_t j() const { return node().j; }
  Shape s() const { return node().s; }
};

/// Attributes passed to `record`.
struct Attrs {
  double a = 0, b = 0;
  int64_t i = 0, j = 0;
  Shape s;
  static Attrs scalars(double a, double b = 0) {
    Attrs r;
    r.a = a;
    r.b = b;
    return r;
  }
  static Attrs ints(int64_t i, int64_t j = 0) {
    Attrs r;
    r.i = i;
    r.j = j;
    return r;
  }
  static Attrs shape(const Shape& s) {
    Attrs r;
    r.s = s;
    return r;
  }
};

/// Allocates an output of `shape` on the tape of `inputs` and records a node for `rule` (or a constant when
/// the tape is not recording or no input requires a gradient). Returns the Var; the caller fills its data.
/// With `view`, the node reads existing memory instead (reshape and row slices copy nothing).
template <class T>
Var<T> record(const Rule<T>& rule, std::initializer_list<Var<T>> inputs, const Shape& shape, const Attrs& attrs = {},
              T* view = nullptr);

/// A new constant node of `shape` on `tape` whose data the caller fills.
template <class T>
Var<T> fresh(Tape<T>& tape, const Shape& shape);

/// A constant node sharing `data` (no copy): for reshape-like views and stop_gradient.
template <class T>
Var<T> alias(Tape<T>& tape, T* data, const Shape& shape);

template <class T>
T* mutable_data(const Var<T>& v) {
  return v.tape().impl().nodes[v.id()].data;
}

}  // namespace ad::detail
