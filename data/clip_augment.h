// The First Order Motion Model's geometric clip augmentations (its augmentation.py, taken from
// torch_videovision): RandomResize (resize_param: ratio) followed by RandomCrop (crop_param: size).
// One draw serves every frame of a clip, so a training pair's source and driving frames get the
// same geometry.
//
//   RandomResize: a factor f ~ U[ratio_lo, ratio_hi]; the clip of H x W frames becomes
//     int(H f) x int(W f), resampled with nearest neighbours at pixel centres (the official
//     default interpolation; skimage's order-0 resize). skimage's anti-aliasing blur before a
//     down-scale (Gaussian sigma = (1/f - 1) / 2) is left out: for the official ratio 0.9 that is
//     sigma 0.06 pixel, whose weight on a neighbour is below 1e-30.
//   RandomCrop: a crop_h x crop_w window at a random offset (uniform over all offsets, ends
//     included, as random.randint); a side shorter than the crop is first padded symmetrically
//     by repeating its edge pixels (numpy pad mode 'edge'; the extra pixel goes after).
//     The official code tests the height to decide the x offset and the width for y, which only
//     differs for non-square crops; here each axis decides its own offset.
// Resize, pad and crop are one gather: an output pixel reads the source pixel its position maps
// to, so the clip is read once. The result keeps the crop size (the caller resamples it to the
// frame shape when they differ).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace anima {

struct ResizeCropParams {
  bool resize = false;
  float ratio_lo = 1, ratio_hi = 1;
  int64_t crop_h = 0, crop_w = 0;  // 0: no crop
};

// The geometry one draw gives for H x W frames.
struct ResizeCropGeometry {
  int64_t resized_h = 0, resized_w = 0;  // after RandomResize
  int64_t pad_top = 0, pad_left = 0;     // edge padding before the crop
  int64_t y0 = 0, x0 = 0;                // crop offset in the padded image
  int64_t out_h = 0, out_w = 0;          // the crop size (or the resized size without a crop)
};

// u_ratio, u_y, u_x: uniform numbers in [0, 1) (the caller's seeded draws).
ResizeCropGeometry draw_resize_crop(int64_t h, int64_t w, const ResizeCropParams& p, double u_ratio, double u_y,
                                    double u_x);

// clip: [T, C, H, W] float32 on the CPU -> [T, C, out_h, out_w].
Tensor apply_resize_crop(const Tensor& clip, const ResizeCropGeometry& g);

}  // namespace anima
