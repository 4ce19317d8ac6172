#include "ebm/data/npy.hpp"

#include <bit>
#include <cctype>
#include <cstring>
#include <limits>

#include "ebm/data/file.hpp"

namespace ebm::data {
namespace {

// Both the reader and the writer memcpy little-endian payloads straight into tensors.
static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

constexpr std::string_view kMagic = "\x93NUMPY";

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// A recursive-descent parser for the only Python literal numpy writes here: a dict of string keys whose
// values are strings, True/False, or tuples of non-negative integers.
class DictParser {
 public:
  DictParser(std::string_view text, const std::filesystem::path& name) : s_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        h.shape = parse_tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' (expected only 'descr', 'fortran_order' and 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != '}') fail(std::string("expected ',' or '}' at offset ") + std::to_string(pos_) + ", found " + found());
    }
    ++pos_;
    if (!have_descr) fail("missing key 'descr'");
    if (!have_order) fail("missing key 'fortran_order'");
    if (!have_shape) fail("missing key 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw DataError(name_, "bad header dict: " + what); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  std::string found() const {
    if (pos_ >= s_.size()) return "end of header";
    // Appended piecewise: "'" + std::string(...) trips GCC 12's bogus -Wrestrict at -O3 (GCC bug 105651).
    std::string q(1, '\'');
    q += s_[pos_];
    q += '\'';
    return q;
  }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_) + ", found " + found());
    ++pos_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string at offset " + std::to_string(pos_) + ", found " + found());
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string at offset " + std::to_string(pos_));
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (s_.substr(pos_, 5) == "False") return pos_ += 5, false;
    fail("expected True or False at offset " + std::to_string(pos_) + ", found " + found());
  }
  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        fail("expected a non-negative integer in 'shape' at offset " + std::to_string(pos_) + ", found " + found());
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("extent in 'shape' is too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      // Python longs written by old numpy versions carry an 'L' suffix.
      if (peek() == 'L') ++pos_;
      dims.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      if (peek() != ')') fail("expected ',' or ')' in 'shape' at offset " + std::to_string(pos_) + ", found " + found());
    }
    ++pos_;
    return dims;
  }

  std::string_view s_;
  const std::filesystem::path& name_;
  size_t pos_ = 0;
};

size_t item_size(const std::string& descr) { return descr == "<f8" ? 8 : descr == "<f4" ? 4 : 1; }

template <class T>
void decode_payload(const NpyHeader& h, const char* src, T* dst, int64_t n) {
  if (n == 0) return;  // an empty tensor's data() may be null, and memcpy(null, ..., 0) is undefined
  if (h.descr == "<f8") {
    if constexpr (std::is_same_v<T, double>) {
      std::memcpy(dst, src, static_cast<size_t>(n) * 8);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<T>(v);
      }
    }
  } else if (h.descr == "<f4") {
    if constexpr (std::is_same_v<T, float>) {
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, src + 4 * i, 4);
        dst[i] = static_cast<T>(v);
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(static_cast<unsigned char>(src[i]));
  }
}

}  // namespace

NpyHeader parse_npy_header(std::string_view bytes, const std::filesystem::path& name) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    throw DataError(name, "not a .npy file (expected magic \\x93NUMPY at byte 0)");
  if (bytes.size() < 10) throw DataError(name, "truncated header (expected at least 10 bytes, found " + std::to_string(bytes.size()) + ")");
  NpyHeader h;
  h.major_version = static_cast<unsigned char>(bytes[6]);
  h.minor_version = static_cast<unsigned char>(bytes[7]);
  size_t header_len = 0, prefix = 0;
  if (h.major_version == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    prefix = 10;
  } else if (h.major_version == 2 || h.major_version == 3) {
    if (bytes.size() < 12) throw DataError(name, "truncated header (expected at least 12 bytes, found " + std::to_string(bytes.size()) + ")");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    prefix = 12;
  } else {
    throw DataError(name, "unsupported format version " + std::to_string(h.major_version) + "." + std::to_string(h.minor_version) +
                              " (expected 1.0, 2.0 or 3.0)");
  }
  if (bytes.size() < prefix + header_len)
    throw DataError(name, "truncated header (header length says " + std::to_string(header_len) + " bytes, file has " +
                              std::to_string(bytes.size() - prefix) + " after the preamble)");
  h.data_offset = prefix + header_len;
  // Parse as text; version 3.0 allows UTF-8, which only matters inside field names we reject anyway.
  const NpyHeader parsed = DictParser(bytes.substr(prefix, header_len), name).parse();
  h.descr = parsed.descr;
  h.fortran_order = parsed.fortran_order;
  h.shape = parsed.shape;
  if (h.descr == "<u1") h.descr = "|u1";  // same dtype, alternative spelling
  if (h.descr != "<f4" && h.descr != "<f8" && h.descr != "|u1")
    throw DataError(name, "unsupported dtype '" + h.descr + "' (expected float32 '<f4', float64 '<f8' or uint8 '|u1')");
  if (h.fortran_order)
    throw DataError(name, "fortran_order is True (expected C order; re-save with np.ascontiguousarray)");
  if (h.shape.size() > static_cast<size_t>(ad::kMaxRank))
    throw DataError(name, "shape " + shape_str(h.shape) + " has rank " + std::to_string(h.shape.size()) + " (expected at most 4)");
  return h;
}

template <class T>
ad::Tensor<T> decode_npy(std::string_view bytes, const std::filesystem::path& name) {
  const NpyHeader h = parse_npy_header(bytes, name);
  int64_t numel = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && numel > std::numeric_limits<int64_t>::max() / 16 / d) throw DataError(name, "shape " + shape_str(h.shape) + " is too large");
    numel *= d;
  }
  const size_t expected = static_cast<size_t>(numel) * item_size(h.descr);
  const size_t found = bytes.size() - h.data_offset;
  if (found != expected)
    throw DataError(name, "data size mismatch: shape " + shape_str(h.shape) + " of '" + h.descr + "' needs " + std::to_string(expected) +
                              " bytes, found " + std::to_string(found));
  ad::Tensor<T> t(ad::Shape::of_rank(static_cast<int>(h.shape.size()), h.shape.data()));
  decode_payload(h, bytes.data() + h.data_offset, t.data(), numel);
  return t;
}

template <class T>
ad::Tensor<T> read_npy_as(const std::filesystem::path& path) {
  return decode_npy<T>(read_file_bytes(path), path);
}

template <class T>
std::string encode_npy(const ad::Tensor<T>& t) {
  std::vector<int64_t> shape;
  for (int i = 0; i < t.rank(); ++i) shape.push_back(t.shape()[i]);
  std::string dict = std::string("{'descr': '") + (sizeof(T) == 8 ? "<f8" : "<f4") + "', 'fortran_order': False, 'shape': " + shape_str(shape) + ", }";
  // Pad with spaces and end with '\n' so that magic(6) + version(2) + length(2) + header is a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  out += dict;
  if (t.numel() > 0) out.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * sizeof(T));
  return out;
}

void write_npy(const std::filesystem::path& path, const ad::Tensor<float>& t) { write_file_atomic(path, encode_npy(t)); }
void write_npy(const std::filesystem::path& path, const ad::Tensor<double>& t) { write_file_atomic(path, encode_npy(t)); }

template ad::Tensor<float> decode_npy<float>(std::string_view, const std::filesystem::path&);
template ad::Tensor<double> decode_npy<double>(std::string_view, const std::filesystem::path&);
template ad::Tensor<float> read_npy_as<float>(const std::filesystem::path&);
template ad::Tensor<double> read_npy_as<double>(const std::filesystem::path&);
template std::string encode_npy<float>(const ad::Tensor<float>&);
template std::string encode_npy<double>(const ad::Tensor<double>&);

}  // namespace ebm::data
