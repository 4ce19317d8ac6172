// Fuzz target: the IDX reader of MNIST-style files (ebm/data/idx.hpp).
//
// The input is an IDX file, plain or gzip-compressed. What must hold:
//   - decoding images and labels, in memory and from a file, throws nothing but DataError (exit 2), and the file
//     readers give what decoding the file's (gunzipped) bytes gives;
//   - a file that is not gzip reads as itself; gzip-compressing the input and reading it back gives the input;
//   - an images file that decodes loads as a Fashion-MNIST folder (with a labels file written to match it) to a data
//     set of the promised shape, or with DataError, under every pixel mode, subset and layout the input's last byte
//     picks.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/random.hpp"
#include "ebm/data/idx.hpp"
#include "fuzz_support.hpp"

namespace data = ebm::data;
namespace fs = std::filesystem;

namespace {

// Larger image sets than this are not written out as a folder, to keep every run short.
constexpr int64_t kMaxLoadedImages = 1 << 12;

void write_gzip(const fs::path& path, std::string_view bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) fuzz::fail("cannot write " + path.string());
  if (!bytes.empty() && gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
    fuzz::fail("gzwrite failed");
  if (gzclose(f) != Z_OK) fuzz::fail("gzclose failed");
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

bool same(const data::IdxImages& a, const data::IdxImages& b) {
  return a.count == b.count && a.rows == b.rows && a.cols == b.cols && a.pixels == b.pixels;
}

void check_load(const data::IdxImages& img, std::string_view images_bytes, uint8_t choice) {
  const fs::path dir = fuzz::scratch() / "fashion";
  fs::create_directories(dir);
  fuzz::write_bytes(dir / "train-images-idx3-ubyte", images_bytes);
  // Labels cycle through 0..11, so that sets of more than ten images also meet the check of labels > 9.
  std::string labels = be32(0x00000801) + be32(static_cast<uint32_t>(img.count));
  for (int64_t i = 0; i < img.count; ++i) labels += static_cast<char>(i % 12);
  fuzz::write_bytes(dir / "train-labels-idx1-ubyte", labels);

  data::ImageLoadOptions opt;
  const data::PixelMode modes[] = {data::PixelMode::raw, data::PixelMode::scaled, data::PixelMode::binarized, data::PixelMode::dequantized};
  opt.pixels = modes[choice & 3];
  opt.flatten = (choice & 4) != 0;
  const int64_t subsets[] = {-1, 0, img.count / 2, img.count + 1};
  opt.n = subsets[(choice >> 3) & 3];
  ad::Rng rng(choice);
  data::ImageDataset ds;
  if (!fuzz::only_throws<ebm::DataError>("load_fashion_mnist", [&] { ds = data::load_fashion_mnist(dir, opt, &rng); })) return;

  const int64_t n = opt.n < 0 ? img.count : std::min(opt.n, img.count);
  fuzz::check(n <= 10, "load_fashion_mnist accepts a label above 9");
  fuzz::check(static_cast<int64_t>(ds.labels.size()) == n && ds.rows == img.rows && ds.cols == img.cols, "a data set of the wrong size");
  // Two 32-bit extents can multiply past int64, and no tensor has that many elements per row.
  const uint64_t pixels = static_cast<uint64_t>(img.rows) * static_cast<uint64_t>(img.cols);
  fuzz::check(pixels <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
              "load_fashion_mnist accepts images of " + std::to_string(pixels) + " pixels each");
  const ad::Shape expected = opt.flatten ? ad::Shape{n, static_cast<int64_t>(pixels)} : ad::Shape{n, img.rows, img.cols};
  fuzz::check(ds.images.shape() == expected, "images of shape " + ds.images.shape().str() + ", expected " + expected.str());
  const double hi = opt.pixels == data::PixelMode::raw ? 255 : 1;
  for (int64_t i = 0; i < ds.images.numel(); ++i)
    fuzz::check(ds.images[i] >= 0 && ds.images[i] <= hi, "a pixel out of range: " + std::to_string(ds.images[i]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  const fs::path file = fuzz::scratch() / "input-idx", gz = fuzz::scratch() / "input-idx.gz";
  fuzz::write_bytes(file, in);

  data::IdxImages img;
  std::vector<int> labels;
  const bool img_ok = fuzz::only_throws<ebm::DataError>("decode_idx_images", [&] { img = data::decode_idx_images(in, "input"); });
  const bool labels_ok = fuzz::only_throws<ebm::DataError>("decode_idx_labels", [&] { labels = data::decode_idx_labels(in, "input"); });
  fuzz::check(!(img_ok && labels_ok), "the same bytes decode as images and as labels");
  if (img_ok) {
    fuzz::check(img.count >= 0 && img.rows >= 0 && img.cols >= 0, "negative extents");
    fuzz::check(img.pixels.size() == size - 16 && static_cast<uint64_t>(img.count) * static_cast<uint64_t>(img.rows) * static_cast<uint64_t>(img.cols) == img.pixels.size(),
                "pixels do not match the extents");
  }
  if (labels_ok) {
    fuzz::check(labels.size() == size - 8, "labels do not match the count");
    for (int l : labels) fuzz::check(l >= 0 && l <= 255, "a label outside 0..255");
  }

  // From a file: gzip is recognised by its magic, anything else is read as it is.
  std::string read;
  const bool read_ok = fuzz::only_throws<ebm::DataError>("read_maybe_gzip", [&] { read = data::read_maybe_gzip(file); });
  const bool gzipped = size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  if (!gzipped) fuzz::check(read_ok && read == in, "read_maybe_gzip changes a file that is not gzip-compressed");
  data::IdxImages img_file;
  std::vector<int> labels_file;
  const bool img_file_ok = fuzz::only_throws<ebm::DataError>("read_idx_images", [&] { img_file = data::read_idx_images(file); });
  const bool labels_file_ok = fuzz::only_throws<ebm::DataError>("read_idx_labels", [&] { labels_file = data::read_idx_labels(file); });
  if (read_ok) {
    data::IdxImages img_read;
    std::vector<int> labels_read;
    const bool a = fuzz::only_throws<ebm::DataError>("decode_idx_images", [&] { img_read = data::decode_idx_images(read, "input"); });
    const bool b = fuzz::only_throws<ebm::DataError>("decode_idx_labels", [&] { labels_read = data::decode_idx_labels(read, "input"); });
    fuzz::check(a == img_file_ok && (!a || same(img_read, img_file)), "read_idx_images differs from decoding the file's bytes");
    fuzz::check(b == labels_file_ok && (!b || labels_read == labels_file), "read_idx_labels differs from decoding the file's bytes");
  } else {
    fuzz::check(!img_file_ok && !labels_file_ok, "an unreadable file decodes");
  }

  write_gzip(gz, in);
  std::string back;
  fuzz::only_throws<>("reading a gzip-compressed file", [&] { back = data::read_maybe_gzip(gz); });
  fuzz::check(back == in, "gzip-compressing a file and reading it back changes it");

  if (img_ok && img.count <= kMaxLoadedImages) check_load(img, in, size ? bytes[size - 1] : 0);
  return 0;
}
