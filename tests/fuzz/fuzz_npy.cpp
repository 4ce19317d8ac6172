// Fuzz target: the NumPy .npy reader (ebm/data/npy.hpp).
//
// The input is a .npy file. What must hold:
//   - decoding (as float64 and as float32, in memory and from a file) throws nothing but DataError (exit 2), and
//     the four agree on whether the file is readable and on its values;
//   - a readable file's shape has rank <= 4 and its header what the reader promises;
//   - an array round-trips: encode_npy / write_npy then reading gives the same shape and the same bits, and the
//     written header is padded so that the data start on a 64-byte boundary.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "ebm/data/npy.hpp"
#include "fuzz_support.hpp"

namespace data = ebm::data;

namespace {

template <class T>
bool same_bits(const ad::Tensor<T>& a, const ad::Tensor<T>& b) {
  if (a.shape() != b.shape()) return false;
  return a.numel() == 0 || std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(T)) == 0;
}

template <class T>
void check_round_trip(const ad::Tensor<T>& t, const char* type) {
  const std::string encoded = data::encode_npy(t);
  const data::NpyHeader h = data::parse_npy_header(encoded, "encoded.npy");
  fuzz::check(h.data_offset % 64 == 0, std::string("encode_npy<") + type + ">: the data start at byte " + std::to_string(h.data_offset));
  fuzz::check(h.descr == (sizeof(T) == 8 ? "<f8" : "<f4"), std::string("encode_npy<") + type + ">: dtype " + h.descr);
  fuzz::check(same_bits(data::decode_npy<T>(encoded, "encoded.npy"), t), std::string("encode_npy<") + type + "> then decode_npy changes the array");
  const std::filesystem::path file = fuzz::scratch() / "written.npy";
  data::write_npy(file, t);
  fuzz::check(same_bits(data::read_npy_as<T>(file), t), std::string("write_npy<") + type + "> then read_npy_as changes the array");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  const std::filesystem::path file = fuzz::scratch() / "input.npy";
  fuzz::write_bytes(file, in);

  data::NpyHeader h;
  ad::Tensor<double> d, d_file;
  ad::Tensor<float> f, f_file;
  const bool header_ok = fuzz::only_throws<ebm::DataError>("parse_npy_header", [&] { h = data::parse_npy_header(in, "input.npy"); });
  const bool d_ok = fuzz::only_throws<ebm::DataError>("decode_npy<double>", [&] { d = data::decode_npy<double>(in, "input.npy"); });
  const bool f_ok = fuzz::only_throws<ebm::DataError>("decode_npy<float>", [&] { f = data::decode_npy<float>(in, "input.npy"); });
  const bool d_file_ok = fuzz::only_throws<ebm::DataError>("read_npy", [&] { d_file = data::read_npy(file); });
  const bool f_file_ok = fuzz::only_throws<ebm::DataError>("read_npy_as<float>", [&] { f_file = data::read_npy_as<float>(file); });
  fuzz::check(d_ok == f_ok && d_ok == d_file_ok && d_ok == f_file_ok, "the float64 and float32 readers, in memory and from a file, disagree");
  if (!d_ok) return 0;

  fuzz::check(header_ok, "decode_npy accepts a file whose header parse_npy_header refuses");
  fuzz::check(h.descr == "<f4" || h.descr == "<f8" || h.descr == "|u1", "an accepted dtype outside <f4, <f8, |u1: " + h.descr);
  fuzz::check(!h.fortran_order && h.shape.size() <= 4 && d.rank() == static_cast<int>(h.shape.size()), "an accepted header the reader should refuse");
  for (int i = 0; i < d.rank(); ++i) fuzz::check(d.shape()[i] == h.shape[static_cast<size_t>(i)], "the array's shape is not the header's");
  fuzz::check(same_bits(d, d_file) && same_bits(f, f_file), "read_npy and decode_npy give different arrays");
  fuzz::check(d.shape() == f.shape(), "decode_npy<float> and decode_npy<double> give different shapes");
  for (int64_t i = 0; i < d.numel(); ++i) {
    // A float32 signalling NaN comes back quiet from its trip through double, so NaNs only need to stay NaNs.
    const float narrowed = static_cast<float>(d[i]);
    fuzz::check(std::memcmp(&narrowed, &f[i], sizeof(float)) == 0 || (std::isnan(narrowed) && std::isnan(f[i])),
                "decode_npy<float> is not decode_npy<double> narrowed, at element " + std::to_string(i));
  }

  fuzz::only_throws<>("the float64 round trip", [&] { check_round_trip(d, "double"); });
  fuzz::only_throws<>("the float32 round trip", [&] { check_round_trip(f, "float"); });
  return 0;
}
