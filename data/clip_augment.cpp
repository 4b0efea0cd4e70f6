#include "data/clip_augment.h"

#include <algorithm>
#include <cmath>

namespace anima {
namespace {

// A uniform integer in [0, n] (both ends included) from u in [0, 1).
int64_t offset_in(int64_t n, double u) { return std::min<int64_t>(n, int64_t(u * double(n + 1))); }

// Source row (or column) of output position `o` on one axis: into the padded image, clamped to
// the resized extent (edge padding repeats the border), then to the nearest source pixel centre.
int64_t source_index(int64_t o, int64_t offset, int64_t pad, int64_t resized, int64_t in) {
  int64_t r = std::clamp<int64_t>(o + offset - pad, 0, resized - 1);
  return std::min<int64_t>(in - 1, int64_t(std::floor((double(r) + 0.5) * double(in) / double(resized))));
}

}  // namespace

ResizeCropGeometry draw_resize_crop(int64_t h, int64_t w, const ResizeCropParams& p, double u_ratio, double u_y,
                                    double u_x) {
  ResizeCropGeometry g;
  g.resized_h = h;
  g.resized_w = w;
  if (p.resize) {
    double f = double(p.ratio_lo) + u_ratio * double(p.ratio_hi - p.ratio_lo);
    g.resized_h = std::max<int64_t>(1, int64_t(double(h) * f));
    g.resized_w = std::max<int64_t>(1, int64_t(double(w) * f));
  }
  g.out_h = g.resized_h;
  g.out_w = g.resized_w;
  if (p.crop_h > 0 && p.crop_w > 0) {
    g.out_h = p.crop_h;
    g.out_w = p.crop_w;
    g.pad_top = std::max<int64_t>(0, p.crop_h - g.resized_h) / 2;
    g.pad_left = std::max<int64_t>(0, p.crop_w - g.resized_w) / 2;
    g.y0 = offset_in(std::max(g.resized_h, p.crop_h) - p.crop_h, u_y);
    g.x0 = offset_in(std::max(g.resized_w, p.crop_w) - p.crop_w, u_x);
  }
  return g;
}

Tensor apply_resize_crop(const Tensor& clip, const ResizeCropGeometry& g) {
  ANIMA_CHECK(clip.dim() == 4 && clip.dtype() == DType::F32 && clip.device().is_cpu(),
              "apply_resize_crop: expected a float32 [T, C, H, W] clip on the CPU, got ", clip.shape().str());
  int64_t planes = clip.size(0) * clip.size(1), h = clip.size(2), w = clip.size(3);
  std::vector<int64_t> rows(size_t(g.out_h)), cols(size_t(g.out_w));
  for (int64_t y = 0; y < g.out_h; ++y) rows[size_t(y)] = source_index(y, g.y0, g.pad_top, g.resized_h, h);
  for (int64_t x = 0; x < g.out_w; ++x) cols[size_t(x)] = source_index(x, g.x0, g.pad_left, g.resized_w, w);
  Tensor out = Tensor::empty(Shape{clip.size(0), clip.size(1), g.out_h, g.out_w});
  const float* src = clip.data<float>();
  float* dst = out.data<float>();
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < g.out_h; ++y)
      for (int64_t x = 0; x < g.out_w; ++x)
        dst[(p * g.out_h + y) * g.out_w + x] = src[(p * h + rows[size_t(y)]) * w + cols[size_t(x)]];
  return out;
}

}  // namespace anima
