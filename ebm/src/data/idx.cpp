#include "ebm/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <stdexcept>

namespace ebm::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;

uint32_t be32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// The magic and dims shared by both kinds of file; returns the dims after checking the payload length.
std::vector<int64_t> check_idx(std::string_view bytes, const std::filesystem::path& name, uint32_t magic, const char* kind) {
  if (bytes.size() < 4) throw DataError(name, "truncated IDX header (expected at least 4 bytes, found " + std::to_string(bytes.size()) + ")");
  const uint32_t found = be32(bytes, 0);
  if (found != magic) {
    std::string detail = "bad IDX magic " + hex(found) + " (expected " + hex(magic) + " for " + kind + ")";
    if (found == kImagesMagic || found == kLabelsMagic)
      detail += found == kImagesMagic ? "; this is an images file" : "; this is a labels file";
    throw DataError(name, detail);
  }
  const size_t ndim = magic & 0xff;
  if (bytes.size() < 4 + 4 * ndim)
    throw DataError(name, "truncated IDX header (expected " + std::to_string(4 + 4 * ndim) + " bytes, found " + std::to_string(bytes.size()) + ")");
  std::vector<int64_t> dims;
  uint64_t payload = 1;
  bool overflow = false;  // three 32-bit extents can exceed 64 bits; such a file cannot match any real length
  for (size_t i = 0; i < ndim; ++i) {
    dims.push_back(be32(bytes, 4 + 4 * i));
    const auto d = static_cast<uint64_t>(dims.back());
    if (d != 0 && payload > std::numeric_limits<uint64_t>::max() / d) overflow = true;
    payload *= d;
  }
  const uint64_t have = bytes.size() - 4 - 4 * ndim;
  if (overflow || have != payload) {
    std::string d;
    for (size_t i = 0; i < dims.size(); ++i) d += (i ? " x " : "") + std::to_string(dims[i]);
    throw DataError(name, "payload length mismatch: dims " + d + " need " + (overflow ? std::string("more than 2^64") : std::to_string(payload)) + " bytes, found " + std::to_string(have));
  }
  return dims;
}

std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& stem) {
  const std::filesystem::path gz = dir / (stem + ".gz"), plain = dir / stem;
  if (std::filesystem::exists(gz)) return gz;
  if (std::filesystem::exists(plain)) return plain;
  throw DataError(gz, "no such file (nor '" + plain.filename().string() +
                          "'); expected Fashion-MNIST IDX files here (Debian: apt-get install dataset-fashion-mnist)");
}

}  // namespace

std::string read_maybe_gzip(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError(path, "no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(path, "cannot open for reading");
  gzbuffer(f, 1 << 17);
  std::string out;
  constexpr size_t kChunk = 1 << 20;
  const auto chunk = std::make_unique_for_overwrite<char[]>(kChunk);  // filled by gzread, never read before
  while (true) {
    const int got = gzread(f, chunk.get(), static_cast<unsigned>(kChunk));
    if (got < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw DataError(path, "corrupt gzip stream after " + std::to_string(out.size()) + " bytes: " + msg);
    }
    if (got == 0) break;
    out.append(chunk.get(), static_cast<size_t>(got));
  }
  // A truncated member ends with a short read and an error flagged only on the handle, so ask once more.
  int code = 0;
  const char* msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    const std::string m = msg;
    gzclose(f);
    throw DataError(path, "corrupt gzip stream after " + std::to_string(out.size()) + " bytes: " + m);
  }
  gzclose(f);
  return out;
}

IdxImages decode_idx_images(std::string_view bytes, const std::filesystem::path& name) {
  const auto dims = check_idx(bytes, name, kImagesMagic, "uint8 images N x rows x cols");
  // With no images the payload matches any extents, but rows x cols is still the width of every row of the data set.
  const uint64_t pixels = static_cast<uint64_t>(dims[1]) * static_cast<uint64_t>(dims[2]);  // < 2^64: 32-bit extents
  if (pixels > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw DataError(name, "images of " + std::to_string(dims[1]) + " x " + std::to_string(dims[2]) + " = " + std::to_string(pixels) +
                              " pixels (expected at most 2^63 - 1 pixels per image)");
  IdxImages img;
  img.count = dims[0];
  img.rows = dims[1];
  img.cols = dims[2];
  img.pixels.assign(reinterpret_cast<const uint8_t*>(bytes.data()) + 16, reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size());
  return img;
}

std::vector<int> decode_idx_labels(std::string_view bytes, const std::filesystem::path& name) {
  check_idx(bytes, name, kLabelsMagic, "uint8 labels N");
  std::vector<int> labels;
  labels.reserve(bytes.size() - 8);
  for (size_t i = 8; i < bytes.size(); ++i) labels.push_back(static_cast<unsigned char>(bytes[i]));
  return labels;
}

IdxImages read_idx_images(const std::filesystem::path& path) { return decode_idx_images(read_maybe_gzip(path), path); }
std::vector<int> read_idx_labels(const std::filesystem::path& path) { return decode_idx_labels(read_maybe_gzip(path), path); }

ImageDataset load_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels, const ImageLoadOptions& opt,
                              ad::Rng* rng) {
  if (opt.pixels == PixelMode::dequantized && rng == nullptr)
    throw std::invalid_argument("load_idx_dataset: PixelMode::dequantized needs an Rng");
  if (opt.n < -1) throw std::invalid_argument("load_idx_dataset: n must be -1 (all) or >= 0, got " + std::to_string(opt.n));
  const IdxImages img = read_idx_images(images);
  std::vector<int> lab = read_idx_labels(labels);
  if (static_cast<int64_t>(lab.size()) != img.count)
    throw DataError(labels, "has " + std::to_string(lab.size()) + " labels but '" + images.string() + "' has " +
                                std::to_string(img.count) + " images (expected the same count)");
  const int64_t n = opt.n < 0 ? img.count : std::min(opt.n, img.count);
  const int64_t d = img.rows * img.cols;
  ImageDataset out;
  out.rows = img.rows;
  out.cols = img.cols;
  out.labels.assign(lab.begin(), lab.begin() + n);
  out.images = ad::Tensor<double>(opt.flatten ? ad::Shape{n, d} : ad::Shape{n, img.rows, img.cols});
  double* dst = out.images.data();
  for (int64_t i = 0; i < n * d; ++i) {
    const double p = img.pixels[static_cast<size_t>(i)];
    switch (opt.pixels) {
      case PixelMode::raw: dst[i] = p; break;
      case PixelMode::scaled: dst[i] = p / 255.0; break;
      case PixelMode::binarized: dst[i] = p / 255.0 > 0.5 ? 1.0 : 0.0; break;
      case PixelMode::dequantized: dst[i] = (p + rng->uniform()) / 256.0; break;
    }
  }
  return out;
}

ImageDataset load_fashion_mnist(const std::filesystem::path& dir, const ImageLoadOptions& opt, ad::Rng* rng) {
  const std::string prefix = opt.split == Split::train ? "train" : "t10k";
  const auto images = find_file(dir, prefix + "-images-idx3-ubyte");
  const auto labels = find_file(dir, prefix + "-labels-idx1-ubyte");
  ImageDataset ds = load_idx_dataset(images, labels, opt, rng);
  for (size_t i = 0; i < ds.labels.size(); ++i)
    if (ds.labels[i] > 9) throw DataError(labels, "label " + std::to_string(ds.labels[i]) + " at index " + std::to_string(i) + " (expected 0..9)");
  return ds;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace ebm::data
