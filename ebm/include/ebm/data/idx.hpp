#pragma once
// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
// magic 0x00000803 (uint8, 3 dims: N x rows x cols) for images or 0x00000801 (uint8, 1 dim: N) for labels,
// then the dims as big-endian uint32, then the payload. Files may be gzip-compressed or plain: zlib's gz
// reader handles both transparently, so callers never need to know which they have.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/tensor.hpp"
#include "ebm/data/error.hpp"

namespace ebm::data {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, image-major then row-major
};

/// The file's bytes, gunzipped if it is gzip-compressed. DataError on a missing file or a corrupt stream.
std::string read_maybe_gzip(const std::filesystem::path& path);

/// Validate and decode in-memory (already decompressed) IDX bytes; `name` is used in error messages.
IdxImages decode_idx_images(std::string_view bytes, const std::filesystem::path& name);
std::vector<int> decode_idx_labels(std::string_view bytes, const std::filesystem::path& name);

IdxImages read_idx_images(const std::filesystem::path& path);
std::vector<int> read_idx_labels(const std::filesystem::path& path);

/// Where Debian's dataset-fashion-mnist package installs the four files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

enum class Split { train, test };

/// How uint8 pixels p become doubles.
enum class PixelMode {
  raw,          // p, in 0..255
  scaled,       // p / 255, in [0, 1]
  binarized,    // 1 if p / 255 > 0.5 else 0
  dequantized,  // (p + u) / 256 with u ~ U(0,1) from the Rng, one draw per pixel in storage order: a
                // continuous density in (0, 1) whose likelihoods are comparable to discrete bits/dim
};

struct ImageLoadOptions {
  Split split = Split::train;
  int64_t n = -1;                        // keep the first n examples; -1 keeps all
  PixelMode pixels = PixelMode::scaled;
  bool flatten = true;                   // images as [N, rows*cols]; otherwise [N, rows, cols]
};

struct ImageDataset {
  ad::Tensor<double> images;  // [N, rows*cols] or [N, rows, cols]
  std::vector<int> labels;    // N labels
  int64_t rows = 0, cols = 0;
};

/// Loads an images/labels pair of IDX files (checking they hold the same number of examples).
/// `rng` is required (std::invalid_argument otherwise) only for PixelMode::dequantized.
ImageDataset load_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels,
                              const ImageLoadOptions& opt = {}, ad::Rng* rng = nullptr);

/// Fashion-MNIST from `dir`, which holds {train,t10k}-{images-idx3,labels-idx1}-ubyte, each either
/// gzipped (".gz", as Debian ships them) or plain. Labels are checked to be in 0..9.
ImageDataset load_fashion_mnist(const std::filesystem::path& dir = kFashionMnistDir, const ImageLoadOptions& opt = {},
                                ad::Rng* rng = nullptr);

/// The class names of Fashion-MNIST, indexed by label.
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace ebm::data
