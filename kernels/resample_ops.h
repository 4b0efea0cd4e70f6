// Element bodies of the resampling ops.
#pragma once
#include <cstdint>

#include "tensor/hd.h"
#include "tensor/philox.h"

namespace anima::kernels::ops {

// Source coordinate scale for one axis, as PyTorch's area_pixel_compute_scale.
ANIMA_HD inline float interp_scale(int64_t in, int64_t out, bool align_corners, double given_scale) {
  if (align_corners) return out > 1 ? float(in - 1) / float(out - 1) : 0.f;
  return given_scale > 0 ? float(1.0 / given_scale) : float(in) / float(out);
}

// The two taps (i0, i1) and the weight of i1 along one axis for output index `dst`.
struct Taps {
  int64_t i0, i1;
  float w1;
};

ANIMA_HD inline Taps bilinear_taps(int64_t dst, int64_t in, float scale, bool align_corners) {
  // No fused multiply-add, so the CPU and the GPU pick the same taps at integer boundaries.
  float src = align_corners ? mul_rn(scale, float(dst)) : add_rn(mul_rn(scale, float(dst) + 0.5f), -0.5f);
  if (src < 0.f) src = 0.f;
  int64_t i0 = int64_t(src);
  if (i0 > in - 1) i0 = in - 1;
  int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
  return {i0, i1, src - float(i0)};
}

// PyTorch's legacy 'nearest': floor(dst * scale), clamped.
ANIMA_HD inline int64_t nearest_tap(int64_t dst, int64_t in, float scale) {
  int64_t s = int64_t(mul_rn(float(dst), scale));
  return s < in - 1 ? s : in - 1;
}

}  // namespace anima::kernels::ops
