#pragma once
// NumPy .npy files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
// Reading accepts format versions 1.0, 2.0 and 3.0, little-endian '<f4', '<f8' and '|u1' (also spelled '<u1'),
// C order only, rank 0 to 4. uint8 values are converted as-is (0..255, not rescaled).
// Writing produces version 1.0 with '<f4' or '<f8' and the header padded so the data starts on a
// 64-byte boundary, as numpy itself does. Every problem is a DataError naming the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/tensor.hpp"
#include "ebm/data/error.hpp"

namespace ebm::data {

/// What a .npy header says.
struct NpyHeader {
  int major_version = 1, minor_version = 0;
  std::string descr;             // "<f4", "<f8" or "|u1"
  bool fortran_order = false;
  std::vector<int64_t> shape;    // empty for a scalar
  size_t data_offset = 0;        // bytes before the array data
};

/// Parses and validates the header of an in-memory .npy image; `name` is used in error messages.
NpyHeader parse_npy_header(std::string_view bytes, const std::filesystem::path& name);

/// Decodes an in-memory .npy image into a tensor of T (float or double).
template <class T>
ad::Tensor<T> decode_npy(std::string_view bytes, const std::filesystem::path& name);

/// Reads a .npy file into a tensor of T (float or double), converting the stored dtype.
template <class T>
ad::Tensor<T> read_npy_as(const std::filesystem::path& path);

inline ad::Tensor<double> read_npy(const std::filesystem::path& path) { return read_npy_as<double>(path); }

/// The bytes of a version 1.0 .npy file holding `t` ('<f4' for float, '<f8' for double).
template <class T>
std::string encode_npy(const ad::Tensor<T>& t);

/// Writes `t` atomically (path.tmp, then rename).
void write_npy(const std::filesystem::path& path, const ad::Tensor<float>& t);
void write_npy(const std::filesystem::path& path, const ad::Tensor<double>& t);

}  // namespace ebm::data
