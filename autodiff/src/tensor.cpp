#include "autodiff/tensor.hpp"

#include <sstream>

namespace ad {

Shape::Shape(std::initializer_list<int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxRank))
    throw ShapeError("shape: rank " + std::to_string(dims.size()) + " exceeds the maximum of 4");
  for (int64_t d : dims) {
    if (d < 0) throw ShapeError("shape: negative extent " + std::to_string(d));
    dims_[static_cast<size_t>(rank_++)] = d;
  }
}

Shape Shape::of_rank(int rank, const int64_t* dims) {
  if (rank < 0 || rank > kMaxRank) throw ShapeError("shape: rank " + std::to_string(rank) + " is not in 0..4");
  Shape s;
  s.rank_ = rank;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) throw ShapeError("shape: negative extent " + std::to_string(dims[i]));
    s.dims_[static_cast<size_t>(i)] = dims[i];
  }
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

int64_t Shape::rows() const { return rank_ <= 1 ? 1 : dims_[0]; }
int64_t Shape::cols() const {
  if (rank_ == 0) return 1;
  if (rank_ == 1) return dims_[0];
  return dims_[0] == 0 ? 0 : numel() / dims_[0];
}

Shape Shape::with(int axis, int64_t extent) const {
  Shape s = *this;
  s.dims_[static_cast<size_t>(axis)] = extent;
  return s;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << dims_[static_cast<size_t>(i)];
  os << ']';
  return os.str();
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i)
    if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

ShapeError::ShapeError(const std::string& op, const Shape& a, const Shape& b, const std::string& why)
    : std::invalid_argument(op + ": shapes " + a.str() + " and " + b.str() + " do not fit" +
                            (why.empty() ? "" : " (" + why + ")")) {}

template <class T>
Tensor<T>::Tensor(const Shape& shape, std::initializer_list<T> values) : shape_(shape), data_(values) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw ShapeError("Tensor: " + std::to_string(values.size()) + " values given for shape " + shape.str());
}

template <class T>
T Tensor<T>::item() const {
  if (numel() != 1) throw ShapeError("item: tensor of shape " + shape_.str() + " has " + std::to_string(numel()) + " elements, not 1");
  return data_[0];
}

template <class T>
Tensor<T> Tensor<T>::reshaped(const Shape& shape) const {
  if (shape.numel() != numel()) throw ShapeError("reshape", shape_, shape, "element counts differ");
  Tensor out = *this;
  out.shape_ = shape;
  return out;
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace ad
