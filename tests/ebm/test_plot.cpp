// PNG encoding (checked by decoding the file with zlib and the PNG filter rules) and the plots.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "ebm/data/error.hpp"
#include "ebm/data/file.hpp"
#include "ebm/data/toy.hpp"
#include "ebm/plot/draw.hpp"
#include "ebm/plot/charts.hpp"
#include "ebm/plot/heatmap.hpp"
#include "ebm/plot/image_grid.hpp"

namespace fs = std::filesystem;
using namespace ebm::plot;

namespace {

uint32_t be32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// A minimal PNG reader for 8-bit RGB, non-interlaced files: checks the signature, every chunk's CRC and the
// IHDR fields, inflates the IDAT stream with zlib and undoes the per-row filters (PNG spec section 9).
Image decode_png(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  size_t at = 8;
  int w = 0, h = 0;
  std::string idat;
  bool end = false;
  while (!end) {
    REQUIRE(at + 12 <= png.size());
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    REQUIRE(at + 12 + len <= png.size());
    const auto* crc_data = reinterpret_cast<const Bytef*>(png.data() + at + 4);
    CHECK(crc32(0, crc_data, len + 4) == be32(png, at + 8 + len));
    if (type == "IHDR") {
      REQUIRE(len == 13);
      w = static_cast<int>(be32(png, at + 8));
      h = static_cast<int>(be32(png, at + 12));
      CHECK(png[at + 16] == 8);   // bit depth
      CHECK(png[at + 17] == 2);   // colour type RGB
      CHECK(png[at + 20] == 0);   // not interlaced
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, len);
    } else if (type == "IEND") {
      end = true;
    }
    at += 12 + len;
  }
  REQUIRE(w > 0);
  const size_t stride = 1 + 3 * static_cast<size_t>(w);
  std::string raw(stride * static_cast<size_t>(h), '\0');
  uLongf raw_len = raw.size();
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(raw_len == raw.size());
  Image img(w, h);
  std::vector<int> prev(3 * static_cast<size_t>(w), 0), cur(3 * static_cast<size_t>(w));
  for (int y = 0; y < h; ++y) {
    const int filter = static_cast<unsigned char>(raw[y * stride]);
    REQUIRE((filter >= 0 && filter <= 4));
    for (size_t i = 0; i < cur.size(); ++i) {
      const int x = static_cast<unsigned char>(raw[y * stride + 1 + i]);
      const int a = i >= 3 ? cur[i - 3] : 0, b = prev[i], c = i >= 3 ? prev[i - 3] : 0;
      int pred = 0;
      if (filter == 1) pred = a;
      else if (filter == 2) pred = b;
      else if (filter == 3) pred = (a + b) / 2;
      else if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = (x + pred) & 0xff;
    }
    for (int x = 0; x < w; ++x) img.set(x, y, {static_cast<uint8_t>(cur[3 * x]), static_cast<uint8_t>(cur[3 * x + 1]), static_cast<uint8_t>(cur[3 * x + 2])});
    prev = cur;
  }
  return img;
}

size_t distinct_colours(const Image& img) {
  std::set<uint32_t> seen;
  for (size_t i = 0; i < img.pixels.size(); i += 3) seen.insert(img.pixels[i] << 16 | img.pixels[i + 1] << 8 | img.pixels[i + 2]);
  return seen.size();
}

// Writes through write_png, reads the file back and checks it decodes to exactly the same pixels.
void check_png_file(const Image& img, const std::string& name, size_t min_colours = 3) {
  const fs::path path = fs::temp_directory_path() / ("ebm_test_plot_" + std::to_string(::getpid()) + "_" + name + ".png");
  img.write_png(path);
  CHECK_FALSE(fs::exists(fs::path(path.string() + ".tmp")));
  const Image back = decode_png(ebm::data::read_file_bytes(path));
  fs::remove(path);
  CHECK(back.width == img.width);
  CHECK(back.height == img.height);
  CHECK(back.pixels == img.pixels);
  CHECK(distinct_colours(back) >= min_colours);  // a plot that came out blank fails here
}

bool near(Rgb a, Rgb b, int tol) { return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol; }

}  // namespace

TEST_CASE("png: written files have a correct IHDR and IDAT that decodes to the same pixels") {
  Image img(37, 23, colors::white);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) img.set(x, y, {static_cast<uint8_t>(7 * x), static_cast<uint8_t>(11 * y), static_cast<uint8_t>(x * y)});
  check_png_file(img, "gradient");
  const std::string png = img.encode_png();
  CHECK(be32(png, 16) == 37);  // IHDR width and height at their fixed offsets
  CHECK(be32(png, 20) == 23);
  // Overwriting an existing file goes through the temporary too.
  check_png_file(Image(5, 4, colors::red), "gradient", 1);
  CHECK_THROWS_AS(Image(0, 10), std::invalid_argument);
  CHECK_THROWS_AS(Image(5, 5).write_png("/nonexistent/dir/x.png"), ebm::DataError);
}

TEST_CASE("plot: viridis, palette, text and primitives") {
  CHECK(viridis(0) == Rgb{68, 1, 84});
  CHECK(viridis(1) == Rgb{253, 231, 37});
  CHECK(viridis(-5) == viridis(0));
  CHECK(viridis(NAN) == colors::gray);
  CHECK(series_color(0) != series_color(1));
  CHECK(series_color(10) == series_color(0));
  CHECK(text_width("1e-3") == 23);
  Image img(40, 12, colors::white);
  draw_text(img, 1, 1, "0.5e", colors::black);
  CHECK(distinct_colours(img) == 2);
  draw_line(img, -100, -100, 100, 100, colors::red, 3);  // clips without crashing
  draw_dot(img, 1e9, NAN, 2, colors::red);
}

TEST_CASE("plot: energy_grid orders rows bottom-up and columns left-right") {
  const Range2D r{-1, 1, 0, 4};
  int calls = 0;
  const auto e = energy_grid(
      [&](const ad::Tensor<double>& p) {
        ++calls;
        ad::Tensor<double> out(ad::Shape{p.shape()[0]});
        for (int64_t i = 0; i < p.shape()[0]; ++i) out[i] = 10 * p.at(i, 0) + p.at(i, 1);
        return out;
      },
      r, 4, 2);
  CHECK(calls == 1);  // one batched call
  REQUIRE(e.shape() == ad::Shape{2, 4});
  CHECK(e.at(0, 0) == doctest::Approx(10 * -0.75 + 1));
  CHECK(e.at(1, 3) == doctest::Approx(10 * 0.75 + 3));
}

TEST_CASE("plot: energy_heatmap shows high density bright, data white, samples red") {
  ad::Rng rng(1);
  const auto data = ebm::data::eight_gaussians(500, rng);
  const auto samples = ebm::data::eight_gaussians(100, rng);
  // A single well at (2, 0): the bright spot must be there, the far corner dark.
  const EnergyFn well = [](const ad::Tensor<double>& p) {
    ad::Tensor<double> e(ad::Shape{p.shape()[0]});
    for (int64_t i = 0; i < p.shape()[0]; ++i) e[i] = 2 * ((p.at(i, 0) - 2) * (p.at(i, 0) - 2) + p.at(i, 1) * p.at(i, 1));
    return e;
  };
  HeatmapOptions opt;
  opt.axes = false;
  opt.width = opt.height = 202;  // 200x200 map inside the 1-pixel frame: pixel = (x + 4) * 25
  const Image plain = energy_heatmap(well, Range2D{}, ad::Tensor<double>(ad::Shape{0, 2}), ad::Tensor<double>(ad::Shape{0, 2}), opt);
  CHECK(near(plain.get(1 + 150, 1 + 100), viridis(1), 20));
  CHECK(near(plain.get(3, 3), viridis(0), 2));
  opt.scale = HeatmapScale::energy;
  const Image en = energy_heatmap(well, Range2D{}, data, samples, opt);
  CHECK(near(en.get(1 + 150, 1 + 100), viridis(1), 40));
  opt = {};
  opt.title = "eight gaussians";
  const Image img = energy_heatmap(well, Range2D{}, data, samples, opt);
  CHECK(img.width == 480);
  CHECK(img.height == 480);
  size_t red = 0, white = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      red += img.get(x, y) == colors::red;
      white += img.get(x, y) == colors::white;
    }
  CHECK(red > 50);
  CHECK(white > 200);
  check_png_file(img, "heatmap");
  check_png_file(scatter_plot(Range2D{}, data, samples), "scatter");
  // NaN energies show gray instead of failing.
  ad::Tensor<double> grid(ad::Shape{3, 3}, 1.0);
  grid[4] = NAN;
  CHECK_NOTHROW(energy_heatmap(grid, Range2D{}, data, samples));
  CHECK_THROWS_AS(energy_heatmap(grid, Range2D{0, 0, 0, 1}, data, samples), std::invalid_argument);
  CHECK_THROWS_AS(energy_heatmap(grid, Range2D{}, ad::Tensor<double>(ad::Shape{4, 3}), samples), std::invalid_argument);
}

TEST_CASE("plot: image_grid lays out tiles with 1-pixel separators and clamps values") {
  ad::Tensor<double> imgs(ad::Shape{5, 6});  // five 2x3 images
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 6; ++j) imgs.at(i, j) = i == 0 ? 2.0 : i == 1 ? -1.0 : 0.5;
  imgs.at(4, 0) = NAN;
  const Image g = image_grid(imgs, 2, 3, 3, 2);
  CHECK(g.width == 3 * (3 * 2 + 1) + 1);
  CHECK(g.height == 2 * (2 * 2 + 1) + 1);
  const Rgb sep{128, 128, 128};
  CHECK(g.get(0, 0) == sep);
  CHECK(g.get(7, 2) == sep);          // vertical separator between tiles 0 and 1
  CHECK(g.get(1, 1) == colors::white);  // 2.0 clamps to white
  CHECK(g.get(8, 1) == colors::black);  // -1.0 clamps to black
  CHECK(g.get(15, 1) == Rgb{128, 128, 128});
  CHECK(g.get(8, 6) == Rgb{255, 0, 255});  // NaN in image 4, first pixel
  check_png_file(g, "grid");
  CHECK_THROWS_AS(image_grid(imgs, 2, 2, 3, 2), std::invalid_argument);
  CHECK(image_grid(imgs.reshaped(ad::Shape{5, 2, 3}), 2, 3, 10, 1).width == 5 * 4 + 1);
}

TEST_CASE("plot: line_plot draws every series, skips NaN, and supports log y") {
  std::vector<Series> s(2);
  s[0].name = "train";
  s[1].name = "valid";
  for (int t = 0; t < 100; ++t) {
    s[0].x.push_back(t);
    s[0].y.push_back(std::exp(-t / 30.0));
    s[1].x.push_back(t);
    s[1].y.push_back(t % 17 == 5 ? NAN : t == 50 ? 0.0 : 1.2 * std::exp(-t / 40.0));
  }
  for (bool log_y : {false, true}) {
    LinePlotOptions opt;
    opt.log_y = log_y;
    opt.title = "loss";
    opt.x_label = "step";
    const Image img = line_plot(s, 500, 300, opt);
    CHECK(img.width == 500);
    size_t c0 = 0, c1 = 0;
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        c0 += img.get(x, y) == series_color(0);
        c1 += img.get(x, y) == series_color(1);
      }
    CHECK(c0 > 100);
    CHECK(c1 > 100);
    check_png_file(img, log_y ? "line_log" : "line");
  }
  CHECK_NOTHROW(line_plot({}, 200, 100));
  CHECK_NOTHROW(line_plot({Series{"nan", {1, 2}, {NAN, NAN}}}, 200, 100));
  CHECK_THROWS_AS(line_plot({Series{"bad", {1, 2}, {1}}}), std::invalid_argument);
}

TEST_CASE("plot: histogram_plot overlays sets on shared bins") {
  ad::Rng rng(2);
  std::vector<NamedValues> sets = {{"data", {}}, {"samples", {}}, {"noise", {}}};
  for (int i = 0; i < 1000; ++i) {
    sets[0].values.push_back(rng.normal());
    sets[1].values.push_back(1 + rng.normal());
    sets[2].values.push_back(i % 100 == 0 ? INFINITY : 5 + 0.5 * rng.normal());
  }
  HistogramOptions opt;
  opt.title = "energies";
  const Image img = histogram_plot(sets, 40, 500, 300, opt);
  size_t outline[3] = {0, 0, 0};
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (size_t k = 0; k < 3; ++k) outline[k] += img.get(x, y) == series_color(k);
  for (size_t k = 0; k < 3; ++k) CHECK(outline[k] > 50);
  check_png_file(img, "hist");
  CHECK_NOTHROW(histogram_plot({{"empty", {}}, {"one", {3.0}}}, 10, 200, 100));
  CHECK_THROWS_AS(histogram_plot(sets, 0), std::invalid_argument);
}
