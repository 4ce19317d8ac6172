// File formats: .npy, IDX (gzipped and plain), CSV, and the Fashion-MNIST loader.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "ebm/data/csv.hpp"
#include "ebm/data/file.hpp"
#include "ebm/data/idx.hpp"
#include "ebm/data/npy.hpp"

namespace fs = std::filesystem;
using ebm::DataError;
using namespace ebm::data;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("ebm_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

// The DataError message thrown by f, or "" if none was thrown.
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A .npy file assembled by hand from the format spec, independent of encode_npy.
std::string npy_bytes(int major, const std::string& dict, const std::string& payload) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + payload;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void write_gz(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

}  // namespace

TEST_CASE("npy: float32 and float64 round trips, any rank, with 64-byte aligned headers") {
  TempDir dir("npy");
  for (const ad::Shape& shape : {ad::Shape{}, ad::Shape{5}, ad::Shape{3, 4}, ad::Shape{2, 3, 4}, ad::Shape{2, 1, 3, 2}, ad::Shape{0, 3}}) {
    CAPTURE(shape.str());
    ad::Tensor<double> d(shape);
    for (int64_t i = 0; i < d.numel(); ++i) d[i] = std::sin(1.0 + i) * std::pow(10.0, static_cast<double>(i % 7) - 3);
    const ad::Tensor<float> f = d.cast<float>();
    write_npy(dir / "d.npy", d);
    write_npy(dir / "f.npy", f);
    const auto d2 = read_npy(dir / "d.npy");
    const auto f2 = read_npy_as<float>(dir / "f.npy");
    REQUIRE(d2.shape() == shape);
    REQUIRE(f2.shape() == shape);
    for (int64_t i = 0; i < d.numel(); ++i) {
      CHECK(d2[i] == d[i]);
      CHECK(f2[i] == f[i]);
    }
    // float32 read as double is exact (widening); the header is padded to a multiple of 64.
    const auto fd = read_npy(dir / "f.npy");
    for (int64_t i = 0; i < d.numel(); ++i) CHECK(fd[i] == static_cast<double>(f[i]));
    for (const char* name : {"d.npy", "f.npy"}) {
      const std::string bytes = read_file_bytes(dir / name);
      const size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
      CHECK((10 + header_len) % 64 == 0);
      CHECK(bytes[10 + header_len - 1] == '\n');
      CHECK(bytes.substr(6, 2) == std::string("\x01\x00", 2));
    }
    CHECK_FALSE(fs::exists(dir / "d.npy.tmp"));
  }
  // The exact header numpy itself writes for a (3, 4) float64 array.
  const std::string bytes = encode_npy(ad::Tensor<double>(ad::Shape{3, 4}));
  const std::string numpy_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
  CHECK(bytes.substr(10, numpy_header.size()) == numpy_header);
  CHECK(encode_npy(ad::Tensor<float>(ad::Shape{7})).find("'shape': (7,)") != std::string::npos);
}

TEST_CASE("npy: a hand-built uint8 file in format versions 1.0, 2.0 and 3.0") {
  TempDir dir("npy_u1");
  const std::string payload("\x00\x01\x02\x7f\x80\xff", 6);
  for (int major : {1, 2, 3}) {
    CAPTURE(major);
    for (const char* descr : {"|u1", "<u1"}) {
      write_bytes(dir / "u.npy", npy_bytes(major, std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2, 3), }", payload));
      const auto t = read_npy(dir / "u.npy");
      REQUIRE(t.shape() == ad::Shape{2, 3});
      CHECK(t.at(0, 0) == 0);
      CHECK(t.at(0, 2) == 2);
      CHECK(t.at(1, 0) == 127);
      CHECK(t.at(1, 1) == 128);
      CHECK(t.at(1, 2) == 255);
    }
  }
  // Double quotes, no spaces, no trailing comma, keys in another order: still a valid Python dict.
  const auto t = decode_npy<float>(npy_bytes(1, "{\"shape\":(6,),\"fortran_order\":False,\"descr\":\"|u1\"}", payload), "x.npy");
  CHECK(t.shape() == ad::Shape{6});
  CHECK(t[5] == 255.0f);
}

TEST_CASE("npy: every kind of corruption is a DataError that names the file and the problem") {
  const std::string ok_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  const std::string payload(16, '\0');
  REQUIRE(decode_npy<double>(npy_bytes(1, ok_dict, payload), "data/x.npy").numel() == 2);
  struct Case {
    std::string bytes, fragment;
  };
  std::string short_header = npy_bytes(1, ok_dict, payload).substr(0, 40);
  const std::vector<Case> cases = {
      {"", "not a .npy file (expected magic"},
      {"PK\x03\x04 this is a zip", "not a .npy file"},
      {std::string("\x93NUMPY\x01", 7), "truncated header (expected at least 10 bytes, found 7)"},
      {short_header, "truncated header (header length says 118 bytes, file has 30 after the preamble)"},
      {npy_bytes(4, ok_dict, payload), "unsupported format version 4.0"},
      {npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", payload), "unsupported dtype '<i8' (expected float32"},
      {npy_bytes(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", payload), "unsupported dtype '>f8'"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", payload), "fortran_order is True"},
      {npy_bytes(1, "{'descr': '<f8', 'shape': (2,), }", payload), "bad header dict: missing key 'fortran_order'"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", payload), "unexpected key 'x'"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,), }", payload), "expected True or False"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1), }", payload), "expected a non-negative integer in 'shape'"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,) ", payload), "expected ',' or '}'"},
      {npy_bytes(1, "['descr', '<f8']", payload), "bad header dict: expected '{'"},
      {npy_bytes(1, "{'descr': '<f8, 'fortran_order': False, 'shape': (2,), }", payload), "bad header dict"},
      {npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", payload), "has rank 5 (expected at most 4)"},
      {npy_bytes(1, ok_dict, payload.substr(0, 15)), "data size mismatch: shape (2,) of '<f8' needs 16 bytes, found 15"},
      {npy_bytes(1, ok_dict, payload + "x"), "needs 16 bytes, found 17"},
      {npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", payload), "shape (3, 2) of '<f4' needs 24 bytes, found 16"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fragment);
    const std::string msg = data_error([&] { decode_npy<double>(c.bytes, "data/x.npy"); });
    CHECK(msg.rfind("data/x.npy: ", 0) == 0);
    CHECK(msg.find(c.fragment) != std::string::npos);
  }
  CHECK(data_error([] { read_npy("/nonexistent/dir/y.npy"); }) == "/nonexistent/dir/y.npy: no such file");
}

TEST_CASE("idx: gzipped and plain image/label files round trip through the loader") {
  TempDir dir("idx");
  // Three 2x2 images with pixels 0, 10, ..., 110, and labels 7, 0, 9.
  std::string pixels;
  for (int i = 0; i < 12; ++i) pixels += static_cast<char>(i * 10);
  pixels[11] = static_cast<char>(255);
  const std::string images = be32(0x803) + be32(3) + be32(2) + be32(2) + pixels;
  const std::string labels = be32(0x801) + be32(3) + std::string("\x07\x00\x09", 3);
  write_gz(dir / "img.gz", images);
  write_gz(dir / "lab.gz", labels);
  write_bytes(dir / "img", images);
  write_bytes(dir / "lab", labels);
  for (const std::string suffix : {".gz", ""}) {
    CAPTURE(suffix);
    const IdxImages im = read_idx_images(dir / ("img" + suffix));
    CHECK(im.count == 3);
    CHECK(im.rows == 2);
    CHECK(im.cols == 2);
    REQUIRE(im.pixels.size() == 12);
    CHECK(im.pixels[5] == 50);
    CHECK(read_idx_labels(dir / ("lab" + suffix)) == std::vector<int>{7, 0, 9});
  }
  ImageLoadOptions opt;
  auto ds = load_idx_dataset(dir / "img.gz", dir / "lab.gz", opt);
  REQUIRE(ds.images.shape() == ad::Shape{3, 4});
  CHECK(ds.images.at(1, 1) == doctest::Approx(50.0 / 255));
  CHECK(ds.images.at(2, 3) == 1.0);
  CHECK(ds.labels == std::vector<int>{7, 0, 9});
  opt.pixels = PixelMode::raw;
  opt.flatten = false;
  opt.n = 2;
  ds = load_idx_dataset(dir / "img", dir / "lab.gz", opt);
  REQUIRE(ds.images.shape() == ad::Shape{2, 2, 2});
  CHECK(ds.images[7] == 70);
  CHECK(ds.labels == std::vector<int>{7, 0});
  opt = {};
  opt.pixels = PixelMode::binarized;
  ds = load_idx_dataset(dir / "img", dir / "lab", opt);
  for (int64_t i = 0; i < 12; ++i) CHECK(ds.images[i] == (i * 10 > 127.5 || i == 11 ? 1.0 : 0.0));
  opt.pixels = PixelMode::dequantized;
  CHECK_THROWS_AS(load_idx_dataset(dir / "img", dir / "lab", opt), std::invalid_argument);
  ad::Rng rng(3), rng2(3);
  ds = load_idx_dataset(dir / "img", dir / "lab", opt, &rng);
  const auto again = load_idx_dataset(dir / "img", dir / "lab", opt, &rng2);
  for (int64_t i = 0; i < 12; ++i) {
    const double p = static_cast<unsigned char>(pixels[static_cast<size_t>(i)]);
    CHECK(ds.images[i] >= p / 256);
    CHECK(ds.images[i] < (p + 1) / 256);
    CHECK(ds.images[i] == again.images[i]);
  }
}

TEST_CASE("idx: bad magic, wrong payload length, truncated gzip and count mismatches are DataErrors") {
  TempDir dir("idx_bad");
  const std::string images = be32(0x803) + be32(2) + be32(2) + be32(2) + std::string(8, '\x05');
  const std::string labels = be32(0x801) + be32(3) + std::string(3, '\x01');
  write_bytes(dir / "labels", labels);
  CHECK(data_error([&] { read_idx_images(dir / "labels"); }).find("bad IDX magic 0x00000801 (expected 0x00000803") != std::string::npos);
  CHECK(data_error([&] { read_idx_images(dir / "labels"); }).find("this is a labels file") != std::string::npos);
  write_bytes(dir / "short", images.substr(0, images.size() - 1));
  CHECK(data_error([&] { read_idx_images(dir / "short"); }).find("payload length mismatch: dims 2 x 2 x 2 need 8 bytes, found 7") != std::string::npos);
  write_bytes(dir / "hdr", images.substr(0, 10));
  CHECK(data_error([&] { read_idx_images(dir / "hdr"); }).find("truncated IDX header") != std::string::npos);
  // A gzip stream cut short must not pass for a short file.
  write_gz(dir / "full.gz", images + std::string(4000, '\x07'));
  std::string gz;
  {
    std::ifstream in(dir / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write_bytes(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  CHECK(data_error([&] { read_maybe_gzip(dir / "cut.gz"); }).find("cut.gz: corrupt gzip stream") != std::string::npos);
  write_bytes(dir / "images", images);
  CHECK(data_error([&] { load_idx_dataset(dir / "images", dir / "labels"); }).find("has 3 labels but") != std::string::npos);
  CHECK(data_error([&] { read_idx_labels(dir / "missing.gz"); }).find("missing.gz: no such file") != std::string::npos);
  CHECK(data_error([&] { load_fashion_mnist(dir.path); }).find("train-images-idx3-ubyte.gz: no such file") != std::string::npos);
}

TEST_CASE("idx: Fashion-MNIST from Debian's dataset-fashion-mnist") {
  if (!fs::exists(fs::path(kFashionMnistDir) / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed; skipping (apt-get install dataset-fashion-mnist)");
    return;
  }
  ImageLoadOptions opt;
  opt.split = Split::test;
  opt.n = 100;
  const ImageDataset ds = load_fashion_mnist(kFashionMnistDir, opt);
  REQUIRE(ds.images.shape() == ad::Shape{100, 784});
  CHECK(ds.rows == 28);
  CHECK(ds.cols == 28);
  REQUIRE(ds.labels.size() == 100);
  double lo = 1, hi = 0;
  for (double v : ds.images) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo == 0.0);
  CHECK(hi == 1.0);
  std::vector<int> seen(10, 0);
  for (int l : ds.labels) {
    REQUIRE((l >= 0 && l <= 9));
    ++seen[static_cast<size_t>(l)];
  }
  for (int k = 0; k < 10; ++k) CHECK(seen[static_cast<size_t>(k)] > 0);  // 100 test images cover every class
  CHECK(ds.labels[0] == 9);  // the first test image is an ankle boot
  CHECK(fashion_mnist_classes()[9] == "Ankle boot");
}

TEST_CASE("csv: header detection, comments, blank lines, CRLF and signs") {
  auto d = parse_csv("x, y ,\"z\"\r\n# a comment\r\n1, 2.5, -3\r\n\r\n+4,5e-1,  6  \r\n", "a.csv");
  CHECK(d.header == std::vector<std::string>{"x", "y", "z"});
  REQUIRE(d.values.shape() == ad::Shape{2, 3});
  CHECK(d.values.at(0, 1) == 2.5);
  CHECK(d.values.at(0, 2) == -3);
  CHECK(d.values.at(1, 0) == 4);
  CHECK(d.values.at(1, 1) == 0.5);
  d = parse_csv("1\n2\n3", "b.csv");  // no header, one column, no final newline
  CHECK(d.header.empty());
  CHECK(d.values.shape() == ad::Shape{3, 1});
  TempDir dir("csv");
  ad::Tensor<double> t(ad::Shape{2, 2}, {0.1, -1e-300, 1.0 / 3, 12345678901234567.0});
  write_csv(dir / "t.csv", t, {"a", "b"});
  const auto back = read_csv_table(dir / "t.csv");
  CHECK(back.header == std::vector<std::string>{"a", "b"});
  for (int64_t i = 0; i < 4; ++i) CHECK(back.values[i] == t[i]);  // shortest round-trip formatting is exact
}

TEST_CASE("csv: errors name the file, line and column") {
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,nan\n", "d.csv: line 7, column 2: NaN is not allowed"},
      {"1,2\n3,inf\n", "d.csv: line 2, column 2: infinite value 'inf' is not allowed"},
      {"1,2\n-Infinity,2\n", "d.csv: line 2, column 1: infinite value '-Infinity' is not allowed"},
      {"x,y,z\n1,2,3\n4,5\n", "d.csv: line 3: expected 3 columns (as on line 1), found 2"},
      {"1,2,3\n4,5,6,7\n", "d.csv: line 2: expected 3 columns (as on line 1), found 4"},
      {"1,2\nabc,4\n", "d.csv: line 2, column 1: expected a number, found 'abc'"},
      {"1,2\n3,4x\n", "d.csv: line 2, column 2: expected a number, found '4x'"},
      {"x,2\n", "d.csv: line 1, column 1: expected a number, found 'x'"},
      {"1,,3\n", "d.csv: line 1, column 2: empty cell (expected a number)"},
      {"1,2\n3,1e999\n", "d.csv: line 2, column 2: '1e999' is out of range for a double"},
      {"", "d.csv: file is empty"},
      {"  \n\n", "d.csv: file is empty"},
      {"x,y\n# only a header\n", "d.csv: no data rows"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const std::string msg = data_error([&] { parse_csv(c.text, "d.csv"); });
    CHECK(msg.find(c.message) == 0);
  }
  CHECK(data_error([] { read_csv("/nonexistent.csv"); }) == "/nonexistent.csv: no such file");
}
