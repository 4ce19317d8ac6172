#pragma once
// An 8-bit RGB raster, PNG encoding (stb_image_write, with zlib doing the deflate) and the colour maps
// the plots share. Coordinates are pixels from the top-left corner, x to the right, y down.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ebm::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

namespace colors {
inline constexpr Rgb white{255, 255, 255}, black{0, 0, 0}, red{228, 26, 28}, gray{128, 128, 128}, light_gray{225, 225, 225},
    dark_gray{64, 64, 64};
}  // namespace colors

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3 bytes, row-major from the top-left

  Image() = default;
  /// std::invalid_argument unless 1 <= width, height <= 16384 (a sanity bound: plots, not panoramas).
  Image(int width, int height, Rgb fill = colors::white);

  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  Rgb get(int x, int y) const;
  /// Out-of-bounds writes are ignored, so drawing code can clip by simply not caring.
  void set(int x, int y, Rgb c);
  /// Mixes `c` over the pixel with opacity alpha in [0, 1] (used for anti-aliasing and translucent fills).
  void blend(int x, int y, Rgb c, double alpha);

  /// The PNG file's bytes.
  std::string encode_png() const;
  /// Writes the PNG atomically: "<path>.tmp" first, then renamed over `path`. DataError on failure.
  void write_png(const std::filesystem::path& path) const;
};

/// Viridis (van der Walt & Smith, matplotlib's default), interpolated from 11 samples of the
/// published table; t is clamped to [0, 1]; NaN maps to mid gray so holes stay visible.
Rgb viridis(double t);

/// A categorical palette (Tableau 10) for series, cycling after 10.
Rgb series_color(size_t i);

}  // namespace ebm::plot
