#include "models/common/picture.h"

#include <algorithm>
#include <cmath>

#include "data/image_io.h"
#include "kernels/elementwise.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"

namespace anima {

Tensor image_panel(const Tensor& x, int64_t H, int64_t W) {
  Tensor t = x.device().is_cpu() ? x : raw::to_device(x, Device::cpu());
  if (t.size(2) != H || t.size(3) != W) {
    InterpParams p;
    p.out_h = H;
    p.out_w = W;
    p.mode = InterpMode::Nearest;
    t = kernels::interpolate(t, p);
  }
  if (t.size(1) == 1) t = kernels::expand(t, Shape{1, 3, H, W});
  return chw_to_image(raw::view(kernels::clamp(t, 0.f, 1.f), Shape{3, H, W}));
}

std::array<float, 3> keypoint_colour(size_t i, size_t k) {
  float hue = float(i) / float(std::max<size_t>(k, 1)) * 6.f;
  return {std::clamp(std::fabs(hue - 3.f) - 1.f, 0.f, 1.f), std::clamp(2.f - std::fabs(hue - 2.f), 0.f, 1.f),
          std::clamp(2.f - std::fabs(hue - 4.f), 0.f, 1.f)};
}

void draw_keypoints(Tensor& image, const std::vector<float>& xy, int radius) {
  int64_t h = image.size(0), w = image.size(1);
  uint8_t* p = image.data<uint8_t>();
  size_t k = xy.size() / 2;
  for (size_t i = 0; i < k; ++i) {
    std::array<float, 3> rgb = keypoint_colour(i, k);
    double cx = (xy[2 * i] + 1) / 2 * double(w - 1), cy = (xy[2 * i + 1] + 1) / 2 * double(h - 1);
    for (int64_t y = int64_t(cy) - radius; y <= int64_t(cy) + radius; ++y)
      for (int64_t x = int64_t(cx) - radius; x <= int64_t(cx) + radius; ++x) {
        if (x < 0 || y < 0 || x >= w || y >= h || (x - cx) * (x - cx) + (y - cy) * (y - cy) > radius * radius) continue;
        uint8_t* q = p + (y * w + x) * 3;
        for (int c = 0; c < 3; ++c) q[c] = uint8_t(rgb[size_t(c)] * 255);
      }
  }
}

}  // namespace anima
