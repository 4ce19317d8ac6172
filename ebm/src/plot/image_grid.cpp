// Grids of grayscale images, one tile per image.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ebm/plot/draw.hpp"
#include "ebm/plot/image_grid.hpp"

namespace ebm::plot {

Image image_grid(const ad::Tensor<double>& images, int H, int W, int cols, int scale) {
  if (H < 1 || W < 1 || cols < 1 || scale < 1) throw std::invalid_argument("image_grid: H, W, cols and scale must be >= 1");
  if (images.rank() < 1 || images.numel() == 0) throw std::invalid_argument("image_grid: no images (shape " + images.shape().str() + ")");
  const int64_t n = images.shape()[0];
  if (images.numel() != n * H * W)
    throw std::invalid_argument("image_grid: shape " + images.shape().str() + " is not N images of " + std::to_string(H) + "x" + std::to_string(W));
  const int c = static_cast<int>(std::min<int64_t>(cols, n));
  const int r = static_cast<int>((n + c - 1) / c);
  const int tw = W * scale, th = H * scale;
  const Rgb sep{128, 128, 128};
  Image img(c * (tw + 1) + 1, r * (th + 1) + 1, sep);
  for (int64_t k = 0; k < n; ++k) {
    const int ox = 1 + static_cast<int>(k % c) * (tw + 1), oy = 1 + static_cast<int>(k / c) * (th + 1);
    const double* px = images.data() + k * H * W;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const double v = px[y * W + x];
        const auto g = static_cast<uint8_t>(std::lround(255.0 * std::clamp(v, 0.0, 1.0)));
        fill_rect(img, ox + x * scale, oy + y * scale, scale, scale, std::isnan(v) ? Rgb{255, 0, 255} : Rgb{g, g, g});
      }
  }
  return img;
}

}  // namespace ebm::plot
