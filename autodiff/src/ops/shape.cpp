// Layout ops: reshape, broadcast_to / sum_to (each other's adjoint), row slices / padding (likewise),
// concatenation (a sum of paddings), and gather / scatter of one column per row (likewise adjoint pairs).
#include "ops/common.hpp"

namespace ad {
using namespace ops;

template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  static const Rule<T> rule{
      "reshape", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = reshape(g, n.in_shape(0)); },
      [](const OpNode<T>& n, const Var<T>* t) { return reshape(t[0], n.s()); }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        return reshape(batch_full(t[0], n.in_shape(0)), batched(t[0].shape()[0], n.s()));
      }};
  if (shape.numel() != x.numel()) throw ShapeError("reshape", x.shape(), shape, "element counts differ");
  return record(rule, {x}, shape, Attrs::shape(shape), mutable_data(x));
}

template <class T>
Var<T> broadcast_to(const Var<T>& x, const Shape& shape) {
  static const Rule<T> rule{
      "broadcast_to", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = sum_to(g, n.in_shape(0)); },
      [](const OpNode<T>& n, const Var<T>* t) { return broadcast_to(t[0], n.s()); }, false,
      // Already stretches to [K] + s once its rank matches: no data moves.
      [](const OpNode<T>& n, const Var<T>* t) { return batch_lift(t[0], n.s().rank()); }};
  const Shape s = x.shape();
  if (kernels::broadcast_shape("broadcast_to", s, shape) != shape)
    throw ShapeError("broadcast_to", s, shape, "the first does not stretch to the second");
  Var<T> y = record(rule, {x}, shape, Attrs::shape(shape));
  kernels::broadcast_to(x.data(), s, mutable_data(y), shape);
  return y;
}

template <class T>
Var<T> sum_to(const Var<T>& x, const Shape& shape) {
  static const Rule<T> rule{
      "sum_to", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = broadcast_to(g, n.in_shape(0)); },
      [](const OpNode<T>& n, const Var<T>* t) { return sum_to(t[0], n.s()); }, false,
      [](const OpNode<T>& n, const Var<T>* t) {
        const Shape from = n.in_shape(0), to = n.s();
        const int64_t K = t[0].shape()[0];
        const Var<T> full = batch_full(t[0], from);
        // The target with the batch axis and the axes `to` lacks (extent 1), so that sum_to keeps K apart.
        int64_t dims[kMaxRank] = {K};
        const int pad = from.rank() - to.rank();
        for (int k = 0; k < pad; ++k) dims[1 + k] = 1;
        for (int k = 0; k < to.rank(); ++k) dims[1 + pad + k] = to[k];
        return reshape(sum_to(full, Shape::of_rank(from.rank() + 1, dims)), batched(K, to));
      }};
  const Shape s = x.shape();
  if (kernels::broadcast_shape("sum_to", shape, s) != s)
    throw ShapeError("sum_to", s, shape, "the second does not stretch to the first");
  Var<T> y = record(rule, {x}, shape, Attrs::shape(shape));
  kernels::sum_to(x.data(), s, mutable_data(y), shape);
  return y;
}

template <class T>
Var<T> slice_rows(const Var<T>& x, int64_t start, int64_t count) {
  static const Rule<T> rule{
      "slice_rows",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = pad_rows(g, n.i(), n.in_shape(0)[0]); },
      [](const OpNode<T>& n, const Var<T>* t) { return slice_rows(t[0], n.i(), n.j()); }};
  const Shape s = x.shape();
  if (s.rank() < 1 || start < 0 || count < 0 || start + count > s[0])
    throw ShapeError("slice_rows: rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                     ") are not within shape " + s.str());
  const int64_t row = s[0] == 0 ? 0 : s.numel() / s[0];
  return record(rule, {x}, s.with(0, count), Attrs::ints(start, count), mutable_data(x) + start * row);
}

template <class T>
Var<T> pad_rows(const Var<T>& x, int64_t start, int64_t total) {
  static const Rule<T> rule{
      "pad_rows",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = slice_rows(g, n.i(), n.in_shape(0)[0]); },
      [](const OpNode<T>& n, const Var<T>* t) { return pad_rows(t[0], n.i(), n.j()); }};
  const Shape s = x.shape();
  if (s.rank() < 1 || start < 0 || start + s[0] > total)
    throw ShapeError("pad_rows: shape " + s.str() + " at row " + std::to_string(start) + " does not fit in " +
                     std::to_string(total) + " rows");
  Var<T> y = record(rule, {x}, s.with(0, total), Attrs::ints(start, total));
  const int64_t row = s[0] == 0 ? 0 : s.numel() / s[0];
  T* out = mutable_data(y);
  std::fill(out, out + total * row, T(0));
  std::copy(x.data(), x.data() + s.numel(), out + start * row);
  return y;
}

template <class T>
Var<T> concat_rows(const std::vector<Var<T>>& xs) {
  if (xs.empty()) throw ShapeError("concat_rows: nothing to concatenate");
  int64_t total = 0;
  const Shape first = xs[0].shape();
  for (const Var<T>& x : xs) {
    const Shape s = x.shape();
    if (s.rank() < 1 || s.with(0, 1) != first.with(0, 1)) throw ShapeError("concat_rows", first, s, "trailing dimensions differ");
    total += s[0];
  }
  Var<T> out;
  int64_t at = 0;
  for (const Var<T>& x : xs) {
    out = acc(out, pad_rows(x, at, total));
    at += x.shape()[0];
  }
  return out;
}

namespace {
template <class T>
void check_gather(const char* op, const Shape& rows_shape, const Var<T>& index, int64_t cols) {
  const Shape si = index.shape();
  if (si.rank() != 1 || si[0] != rows_shape[0]) throw ShapeError(op, rows_shape, si, "index needs one entry per row");
  for (int64_t n = 0; n < si[0]; ++n) {
    const T v = index.data()[n];
    if (!(v >= 0 && v < static_cast<T>(cols)) || v != static_cast<T>(static_cast<int64_t>(v)))
      throw std::out_of_range(std::string(op) + ": index " + std::to_string(v) + " at row " + std::to_string(n) +
                              " is not a column in [0, " + std::to_string(cols) + ")");
  }
}
}  // namespace

template <class T>
Var<T> gather_cols(const Var<T>& x, const Var<T>& index) {
  static const Rule<T> rule{
      "gather_cols",
      [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = scatter_cols(g, n.in(1), n.in_shape(0)[1]); },
      [](const OpNode<T>& n, const Var<T>* t) { return gather_cols(t[0], n.in(1)); }};
  const Shape s = x.shape();
  if (s.rank() != 2) throw ShapeError("gather_cols: expected a 2-D value, got shape " + s.str());
  check_gather("gather_cols", s, index, s[1]);
  Var<T> y = record(rule, {x, index}, Shape{s[0]});
  T* out = mutable_data(y);
  for (int64_t n = 0; n < s[0]; ++n) out[n] = x.data()[n * s[1] + static_cast<int64_t>(index.data()[n])];
  return y;
}

template <class T>
Var<T> gather_cols(const Var<T>& x, const std::vector<int64_t>& index) {
  Tensor<T> idx(Shape{static_cast<int64_t>(index.size())});
  for (size_t k = 0; k < index.size(); ++k) idx[static_cast<int64_t>(k)] = static_cast<T>(index[k]);
  return gather_cols(x, x.tape().constant(idx));
}

template <class T>
Var<T> scatter_cols(const Var<T>& x, const Var<T>& index, int64_t cols) {
  static const Rule<T> rule{
      "scatter_cols", [](const OpNode<T>& n, const Var<T>& g, Var<T>* gin) { gin[0] = gather_cols(g, n.in(1)); },
      [](const OpNode<T>& n, const Var<T>* t) { return scatter_cols(t[0], n.in(1), n.i()); }};
  const Shape s = x.shape();
  if (s.rank() != 1) throw ShapeError("scatter_cols: expected a 1-D value, got shape " + s.str());
  check_gather("scatter_cols", s, index, cols);
  Var<T> y = record(rule, {x, index}, Shape{s[0], cols}, Attrs::ints(cols));
  T* out = mutable_data(y);
  std::fill(out, out + s[0] * cols, T(0));
  for (int64_t n = 0; n < s[0]; ++n) out[n * cols + static_cast<int64_t>(index.data()[n])] = x.data()[n];
  return y;
}

#define AD_INSTANTIATE(T)                                                        \
  template Var<T> reshape(const Var<T>&, const Shape&);                          \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                     \
  template Var<T> sum_to(const Var<T>&, const Shape&);                           \
  template Var<T> slice_rows(const Var<T>&, int64_t, int64_t);                   \
  template Var<T> pad_rows(const Var<T>&, int64_t, int64_t);                     \
  template Var<T> concat_rows(const std::vector<Var<T>>&);                       \
  template Var<T> gather_cols(const Var<T>&, const Var<T>&);                     \
  template Var<T> gather_cols(const Var<T>&, const std::vector<int64_t>&);       \
  template Var<T> scatter_cols(const Var<T>&, const Var<T>&, int64_t);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE

}  // namespace ad
