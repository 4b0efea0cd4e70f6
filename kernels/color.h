// Colour jitter with torchvision's formulas (augmentation A of the refined-masking paper, and the
// First Order Motion Model's jitter). Images: float32 RGB [N, 3, H, W] in [0, 1].
//   brightness f: clamp(f * img)
//   contrast   f: clamp(f * img + (1 - f) * mean(gray(img)))      (mean over the whole image)
//   saturation f: clamp(f * img + (1 - f) * gray(img))             (per pixel)
//   hue        h: RGB -> HSV, hue += h (mod 1), HSV -> RGB
// with gray = 0.2989 R + 0.587 G + 0.114 B. Each sample has its own factors and its own order
// of the four operations.
#pragma once
#include <array>
#include <vector>

#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace anima::kernels {

enum class ColorOp : int { Brightness = 0, Contrast = 1, Saturation = 2, Hue = 3 };

struct ColorJitterParams {
  // Per sample: the order of the four operations, and the factor of each operation (indexed by
  // ColorOp): brightness, contrast, saturation factors and the hue shift.
  std::vector<std::array<ColorOp, 4>> order;
  std::vector<std::array<float, 4>> factor;
};

// Factors uniform in [max(0, 1 - b), 1 + b] etc. and hue shift in [-hue, hue] (hue <= 0.5), and a
// uniformly random order per sample, from gen.
ColorJitterParams draw_color_jitter(int64_t n, float brightness, float contrast, float saturation, float hue,
                                    Generator& gen);

Tensor color_jitter(const Tensor& images, const ColorJitterParams& params);

// One operation with one factor for every sample (the torchvision functional ops).
Tensor adjust_color(const Tensor& images, ColorOp op, float factor);

}  // namespace anima::kernels
