// Element bodies of grid_sample (PyTorch's F.grid_sample): from a normalised grid coordinate
// in [-1, 1] to a source pixel coordinate, with the padding rules and the derivative of that map.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace anima::kernels::ops {

enum class GridPadding : int { Zeros = 0, Border = 1, Reflection = 2 };

// Pixel coordinate of normalised `c` along an axis of `size`, and d(pixel)/d(c) in *grad.
ANIMA_HD inline float grid_unnormalize(float c, int64_t size, bool align_corners, float* grad) {
  if (align_corners) {
    *grad = float(size - 1) / 2.f;
    return ((c + 1.f) / 2.f) * float(size - 1);
  }
  *grad = float(size) / 2.f;
  return ((c + 1.f) * float(size) - 1.f) / 2.f;
}

ANIMA_HD inline float grid_clip(float in, int64_t size, float* grad) {
  if (in <= 0.f) {
    *grad = 0.f;
    return 0.f;
  }
  float hi = float(size - 1);
  if (in >= hi) {
    *grad = 0.f;
    return hi;
  }
  *grad = 1.f;
  return in;
}

// Reflects `in` into [twice_low / 2, twice_high / 2]; *grad is +-1 (the direction after folding).
ANIMA_HD inline float grid_reflect(float in, int64_t twice_low, int64_t twice_high, float* grad) {
  if (twice_low == twice_high) {
    *grad = 0.f;
    return 0.f;
  }
  float lo = float(twice_low) / 2.f, span = float(twice_high - twice_low) / 2.f;
  in = in - lo;
  float sign = 1.f;
  if (in < 0.f) {
    sign = -1.f;
    in = -in;
  }
  float extra = ::fmodf(in, span);
  int64_t flips = int64_t(::floorf(in / span));
  if (flips % 2 == 0) {
    *grad = sign;
    return extra + lo;
  }
  *grad = -sign;
  return span - extra + lo;
}

// The source coordinate used for sampling, and its derivative with respect to the grid value.
ANIMA_HD inline float grid_source_index(float c, int64_t size, GridPadding pad, bool align_corners, float* grad) {
  float g1, g2 = 1.f, g3 = 1.f;
  float x = grid_unnormalize(c, size, align_corners, &g1);
  if (pad == GridPadding::Border) {
    x = grid_clip(x, size, &g2);
  } else if (pad == GridPadding::Reflection) {
    x = align_corners ? grid_reflect(x, 0, 2 * (size - 1), &g2) : grid_reflect(x, -1, 2 * size - 1, &g2);
    x = grid_clip(x, size, &g3);
  }
  *grad = g1 * g2 * g3;
  return x;
}

ANIMA_HD inline bool grid_in_bounds(int64_t x, int64_t y, int64_t W, int64_t H) {
  return x >= 0 && x < W && y >= 0 && y < H;
}

// Bilinear taps around (ix, iy): corner coordinates and weights, in PyTorch's nw, ne, sw, se order.
struct BilinearTaps {
  int64_t x0, y0;  // north-west corner; the others are +1
  float nw, ne, sw, se;
};

ANIMA_HD inline BilinearTaps grid_bilinear_taps(float ix, float iy) {
  float fx = ::floorf(ix), fy = ::floorf(iy);
  BilinearTaps t;
  t.x0 = int64_t(fx);
  t.y0 = int64_t(fy);
  float ex = fx + 1.f, ey = fy + 1.f;
  t.nw = (ex - ix) * (ey - iy);
  t.ne = (ix - fx) * (ey - iy);
  t.sw = (ex - ix) * (iy - fy);
  t.se = (ix - fx) * (iy - fy);
  return t;
}

}  // namespace anima::kernels::ops
