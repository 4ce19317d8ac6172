#pragma once
// Grids of grayscale images (image_grid.cpp): image samples, and the clean / corrupted / restored rows of the
// restoration demos. The Image it returns is written with .write_png(path); invalid arguments throw
// std::invalid_argument.
#include "autodiff/tensor.hpp"
#include "ebm/plot/png.hpp"

namespace ebm::plot {

/// Images [N, H*W] (or [N, H, W], [N, 1, H, W]) as grayscale tiles, `cols` per row, each pixel drawn as a
/// scale x scale block, values clamped to [0, 1] (NaN shows magenta), 1-pixel gray separators around tiles.
Image image_grid(const ad::Tensor<double>& images, int H, int W, int cols = 10, int scale = 2);

}  // namespace ebm::plot
