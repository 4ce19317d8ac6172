#include "autodiff/tape.hpp"

#include <algorithm>
#include <cstring>

#include "node.hpp"

namespace ad {
using detail::Node;

template <class T>
Shape Var<T>::shape() const {
  return tape_->impl().nodes[id_].shape;
}
template <class T>
const T* Var<T>::data() const {
  return tape_->impl().nodes[id_].data;
}
template <class T>
Tensor<T> Var<T>::value() const {
  return Tensor<T>(shape(), data());
}
template <class T>
T Var<T>::item() const {
  if (numel() != 1) throw ShapeError("item: value of shape " + shape().str() + " is not a single number");
  return data()[0];
}
template <class T>
bool Var<T>::requires_grad() const {
  return tape_->impl().nodes[id_].requires_grad;
}

template <class T>
Tape<T>::Tape() : impl_(std::make_unique<detail::TapeImpl<T>>()) {
  impl_->nodes.reserve(1024);
}
template <class T>
Tape<T>::~Tape() = default;

namespace {
template <class T>
Var<T> leaf(Tape<T>& tape, const Tensor<T>& value, bool requires_grad) {
  Var<T> v = detail::fresh(tape, value.shape());
  std::copy(value.data(), value.data() + value.numel(), detail::mutable_data(v));
  tape.impl().nodes.back().requires_grad = requires_grad;
  return v;
}
}  // namespace

template <class T>
Var<T> Tape<T>::variable(const Tensor<T>& value) {
  return leaf(*this, value, true);
}
template <class T>
Var<T> Tape<T>::constant(const Tensor<T>& value) {
  return leaf(*this, value, false);
}
template <class T>
Var<T> Tape<T>::constant(const Shape& shape, T fill) {
  Var<T> v = detail::fresh(*this, shape);
  std::fill_n(detail::mutable_data(v), shape.numel(), fill);
  return v;
}

template <class T>
typename Tape<T>::Mark Tape<T>::mark() const {
  const auto m = impl_->arena.mark();
  return {static_cast<uint32_t>(impl_->nodes.size()), m.chunk, m.offset};
}
template <class T>
void Tape<T>::rewind(const Mark& m) {
  impl_->packed.drop_from(m.nodes);
  impl_->nodes.resize(m.nodes);
  impl_->arena.rewind({m.chunk, m.offset});
}
template <class T>
size_t Tape<T>::size() const {
  return impl_->nodes.size();
}
template <class T>
size_t Tape<T>::arena_bytes() const {
  return impl_->arena.capacity();
}
template <class T>
bool Tape<T>::recording() const {
  return impl_->recording;
}
template <class T>
Tape<T>::NoGrad::NoGrad(Tape& t) : tape_(t), previous_(t.impl().recording) {
  t.impl().recording = false;
}
template <class T>
Tape<T>::NoGrad::~NoGrad() {
  tape_.impl().recording = previous_;
}

namespace detail {

template <class T>
Var<T> fresh(Tape<T>& tape, const Shape& shape) {
  auto& impl = tape.impl();
  Node<T> n;
  n.shape = shape;
  n.data = impl.alloc(shape.numel());
  impl.nodes.push_back(n);
  return Var<T>(&tape, static_cast<uint32_t>(impl.nodes.size() - 1));
}

template <class T>
Var<T> alias(Tape<T>& tape, T* data, const Shape& shape) {
  auto& impl = tape.impl();
  Node<T> n;
  n.shape = shape;
  n.data = data;
  impl.nodes.push_back(n);
  return Var<T>(&tape, static_cast<uint32_t>(impl.nodes.size() - 1));
}

template <class T>
Var<T> record(const Rule<T>& rule, std::initializer_list<Var<T>> inputs, const Shape& shape, const Attrs& attrs,
              T* view) {
  Tape<T>& tape = inputs.begin()->tape();
  auto& impl = tape.impl();
  Node<T> n;
  n.shape = shape;
  n.data = view ? view : impl.alloc(shape.numel());
  n.a = attrs.a;
  n.b = attrs.b;
  n.i = attrs.i;
  n.j = attrs.j;
  n.s = attrs.s;
  bool any = false;
  for (const Var<T>& v : inputs) {
    if (&v.tape() != &tape) throw std::invalid_argument(std::string(rule.name) + ": operands live on different tapes");
    any = any || impl.nodes[v.id()].requires_grad;
  }
  if (impl.recording && any) {
    n.rule = &rule;
    n.requires_grad = true;
    for (const Var<T>& v : inputs) n.in[n.nin++] = v.id();
  }
  impl.nodes.push_back(n);
  return Var<T>(&tape, static_cast<uint32_t>(impl.nodes.size() - 1));
}

#define AD_INSTANTIATE(T)                                                                          \
  template Var<T> fresh(Tape<T>&, const Shape&);                                                   \
  template Var<T> alias(Tape<T>&, T*, const Shape&);                                               \
  template Var<T> record(const Rule<T>&, std::initializer_list<Var<T>>, const Shape&, const Attrs&, T*);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE
}  // namespace detail

template class Var<float>;
template class Var<double>;
template class Tape<float>;
template class Tape<double>;

}  // namespace ad
