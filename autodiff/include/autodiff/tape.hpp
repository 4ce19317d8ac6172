#pragma once
// The tape: one node per tensor operation, values in an arena, swept backwards as a flat loop.
//
// A `Var<T>` is a handle (tape, index) to a recorded value. Operations on Vars (ops.hpp) compute their
// value at once and record a node that knows its inputs and its derivative rules. Rules are written in the
// same operations, so a backward pass run with `create_graph` is itself recorded and can be differentiated
// again, to any order (transforms.hpp).
//
// Note [No global tape]: every Var names its tape, and operations record on the tape of their inputs.
// There is no process-wide or thread-local "current tape", hence nothing to race on: two threads with two
// tapes never interfere. A tape itself is not thread-safe; use one per thread.
#include <cstdint>
#include <memory>

#include "autodiff/tensor.hpp"

namespace ad {

template <class T>
class Tape;
namespace detail {
template <class T>
class TapeImpl;
}

template <class T>
class Var {
 public:
  Var() = default;
  Var(Tape<T>* tape, uint32_t id) : tape_(tape), id_(id) {}

  /// False for a default-constructed Var (used for "no gradient / zero tangent").
  bool defined() const { return tape_ != nullptr; }
  Tape<T>& tape() const { return *tape_; }
  uint32_t id() const { return id_; }

  Shape shape() const;  // by value: the node table may grow while the caller holds it
  int64_t numel() const { return shape().numel(); }
  int rank() const { return shape().rank(); }
  /// The value, read in place (valid until the tape is rewound past this Var).
  const T* data() const;
  /// A copy of the value.
  Tensor<T> value() const;
  /// The only element of a one-element value.
  T item() const;
  /// True when gradients can flow to this value from a variable.
  bool requires_grad() const;

 private:
  Tape<T>* tape_ = nullptr;
  uint32_t id_ = 0;
};

template <class T>
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// A leaf that gradients flow to. The value is copied onto the tape.
  Var<T> variable(const Tensor<T>& value);
  /// A leaf that never needs a gradient (data, noise, probes).
  Var<T> constant(const Tensor<T>& value);
  Var<T> constant(const Shape& shape, T fill);
  Var<T> scalar(T value) { return constant(Shape{}, value); }

  /// A position on the tape. Rewinding to it frees everything recorded since, in O(1), keeping the memory.
  struct Mark {
    uint32_t nodes = 0;
    size_t chunk = 0, offset = 0;
  };
  Mark mark() const;
  void rewind(const Mark& m);
  /// Forget everything, keep the memory: the way to reuse one tape across iterations.
  void clear() { rewind(Mark{}); }

  /// Number of recorded nodes, and bytes of arena memory held.
  size_t size() const;
  size_t arena_bytes() const;

  /// While a NoGrad guard lives, operations record values only: their results are constants.
  class NoGrad {
   public:
    explicit NoGrad(Tape& t);
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

   private:
    Tape& tape_;
    bool previous_;
  };
  bool recording() const;

  detail::TapeImpl<T>& impl() { return *impl_; }
  const detail::TapeImpl<T>& impl() const { return *impl_; }

 private:
  std::unique_ptr<detail::TapeImpl<T>> impl_;
};

extern template class Var<float>;
extern template class Var<double>;
extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace ad
