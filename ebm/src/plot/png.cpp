#include "ebm/plot/png.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "ebm/data/error.hpp"
#include "ebm/data/file.hpp"

namespace {
// stb's built-in deflate is simple but produces files ~2x larger than zlib's; zlib is linked anyway.
unsigned char* ebm_zlib_compress(unsigned char* data, int data_len, int* out_len, int quality) {
  uLongf cap = compressBound(static_cast<uLong>(data_len));
  auto* out = static_cast<unsigned char*>(std::malloc(cap));  // stb frees it with free()
  if (!out) return nullptr;
  if (compress2(out, &cap, data, static_cast<uLong>(data_len), std::clamp(quality, 1, 9)) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_len = static_cast<int>(cap);
  return out;
}
}  // namespace

// The single translation unit holding stb_image_write's implementation; static so it cannot clash with
// another copy linked into an application.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBIW_ZLIB_COMPRESS ebm_zlib_compress
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace ebm::plot {

Image::Image(int w, int h, Rgb fill) : width(w), height(h) {
  if (w < 1 || h < 1 || w > 16384 || h > 16384)
    throw std::invalid_argument("Image: size " + std::to_string(w) + "x" + std::to_string(h) + " is not in 1..16384");
  pixels.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  for (size_t i = 0; i < pixels.size(); i += 3) {
    pixels[i] = fill.r;
    pixels[i + 1] = fill.g;
    pixels[i + 2] = fill.b;
  }
}

Rgb Image::get(int x, int y) const {
  if (!contains(x, y)) return {};
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  return {pixels[i], pixels[i + 1], pixels[i + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (!contains(x, y)) return;
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  pixels[i] = c.r;
  pixels[i + 1] = c.g;
  pixels[i + 2] = c.b;
}

void Image::blend(int x, int y, Rgb c, double alpha) {
  if (!contains(x, y) || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  const Rgb o = get(x, y);
  auto mix = [alpha](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + (b - a) * alpha)); };
  set(x, y, {mix(o.r, c.r), mix(o.g, c.g), mix(o.b, c.b)});
}

std::string Image::encode_png() const {
  if (pixels.size() != static_cast<size_t>(width) * static_cast<size_t>(height) * 3 || width < 1 || height < 1)
    throw std::invalid_argument("Image::encode_png: " + std::to_string(pixels.size()) + " bytes for " + std::to_string(width) + "x" +
                                std::to_string(height) + " RGB");
  std::string out;
  auto sink = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size)); };
  if (!stbi_write_png_to_func(sink, &out, width, height, 3, pixels.data(), width * 3))
    throw std::runtime_error("Image::encode_png: stb_image_write failed (out of memory?)");
  return out;
}

void Image::write_png(const std::filesystem::path& path) const { data::write_file_atomic(path, encode_png()); }

Rgb viridis(double t) {
  // matplotlib's viridis sampled at t = 0, 0.1, ..., 1 (#440154, #482475, ..., #FDE725); linear
  // interpolation between them is visually indistinguishable from the full 256-entry table.
  static constexpr double table[11][3] = {
      {0.267004, 0.004874, 0.329415}, {0.282623, 0.140926, 0.457517}, {0.253935, 0.265254, 0.529983}, {0.206756, 0.371758, 0.553117},
      {0.163625, 0.471133, 0.558148}, {0.127568, 0.566949, 0.550556}, {0.134692, 0.658636, 0.517649}, {0.266941, 0.748751, 0.440573},
      {0.477504, 0.821444, 0.318195}, {0.741388, 0.873449, 0.149561}, {0.993248, 0.906157, 0.143936}};
  if (std::isnan(t)) return colors::gray;
  t = std::clamp(t, 0.0, 1.0) * 10.0;
  const int i = std::min(static_cast<int>(t), 9);
  const double f = t - i;
  auto ch = [&](int c) { return static_cast<uint8_t>(std::lround(255.0 * (table[i][c] + (table[i + 1][c] - table[i][c]) * f))); };
  return {ch(0), ch(1), ch(2)};
}

Rgb series_color(size_t i) {
  static constexpr Rgb tableau[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return tableau[i % 10];
}

}  // namespace ebm::plot
