#pragma once
// Dense, contiguous, row-major tensors of rank 0 to 4 in float or double.
// `Tensor<T>` owns its (64-byte aligned) storage; it is what users hold: data, parameters, results.
// Values recorded on a tape live in the tape's arena instead and are read through `Var<T>::value()`.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ad {

constexpr int kMaxRank = 4;

/// The extent of each dimension; rank 0 is a scalar.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape of_rank(int rank, const int64_t* dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[static_cast<size_t>(axis)]; }
  int64_t numel() const;
  /// Rows and columns of the 2-D view used by matrix kernels: rank 0 is 1x1, rank 1 is 1xn.
  int64_t rows() const;
  int64_t cols() const;
  /// A copy with dimension `axis` set to `extent` (used for keep-dims reductions).
  Shape with(int axis, int64_t extent) const;
  std::string str() const;  // "[3, 4]"

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  int rank_ = 0;
  std::array<int64_t, kMaxRank> dims_{};
};

/// Thrown when operand shapes do not fit; the message names the operation and every shape involved.
class ShapeError : public std::invalid_argument {
 public:
  ShapeError(const std::string& op, const Shape& a, const Shape& b, const std::string& why = "");
  explicit ShapeError(const std::string& message) : std::invalid_argument(message) {}
};

namespace detail {
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};
// Tensor storage: aligned, and a vector of it grown without values (vector(n), resize(n)) leaves them
// uninitialised instead of zeroing them, for Tensor(shape, uninitialized). Every other constructor fills.
template <class T>
struct TensorAllocator : AlignedAllocator<T> {
  template <class U>
  struct rebind {
    using other = TensorAllocator<U>;
  };
  TensorAllocator() = default;
  template <class U>
  TensorAllocator(const TensorAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
}  // namespace detail

/// Tag for Tensor(shape, uninitialized): storage whose values the caller overwrites before reading them (a
/// batch-sized zero fill costs as much as the copy that follows it).
struct Uninitialized {};
inline constexpr Uninitialized uninitialized{};

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Tensor<T>: T is float or double");

 public:
  using value_type = T;
  Tensor() : data_(1, T(0)) {}  // a scalar zero
  explicit Tensor(const Shape& shape, T fill = T(0)) : shape_(shape), data_(static_cast<size_t>(shape.numel()), fill) {}
  Tensor(const Shape& shape, Uninitialized) : shape_(shape), data_(static_cast<size_t>(shape.numel())) {}
  Tensor(const Shape& shape, std::initializer_list<T> values);
  Tensor(const Shape& shape, const T* values) : shape_(shape), data_(values, values + shape.numel()) {}
  static Tensor scalar(T v) { return Tensor(Shape{}, v); }

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t numel() const { return shape_.numel(); }
  int64_t rows() const { return shape_.rows(); }
  int64_t cols() const { return shape_.cols(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* begin() { return data(); }
  T* end() { return data() + numel(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + numel(); }
  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  /// Element (r, c) of the 2-D view.
  T& at(int64_t r, int64_t c) { return data_[static_cast<size_t>(r * cols() + c)]; }
  const T& at(int64_t r, int64_t c) const { return data_[static_cast<size_t>(r * cols() + c)]; }
  /// The only element of a one-element tensor.
  T item() const;

  /// Same data, new shape with the same number of elements.
  Tensor reshaped(const Shape& shape) const;
  template <class U>
  Tensor<U> cast() const {
    Tensor<U> out(shape_);
    for (int64_t i = 0; i < numel(); ++i) out[i] = static_cast<U>((*this)[i]);
    return out;
  }

 private:
  Shape shape_;
  std::vector<T, detail::TensorAllocator<T>> data_;
};

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace ad
