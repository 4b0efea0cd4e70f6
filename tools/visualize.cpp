#include "tools/visualize.h"

#include <algorithm>
#include <cmath>

#include "data/image_io.h"
#include "kernels/elementwise.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"

namespace anima::tools {
Tensor image_panel(const Tensor& x, int64_t H, int64_t W) {
  Tensor t = raw::to_device(x, Device::cpu());
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

namespace {
Tensor panel(const Tensor& x, int64_t H, int64_t W) { return image_panel(x, H, W); }
}  // namespace

void draw_keypoints(Tensor& image, const std::vector<float>& xy, int radius) {
  int64_t h = image.size(0), w = image.size(1);
  uint8_t* p = image.data<uint8_t>();
  size_t k = xy.size() / 2;
  for (size_t i = 0; i < k; ++i) {
    // A rainbow: hue i / k.
    float hue = float(i) / float(std::max<size_t>(k, 1)) * 6.f;
    float r = std::clamp(std::fabs(hue - 3.f) - 1.f, 0.f, 1.f), g = std::clamp(2.f - std::fabs(hue - 2.f), 0.f, 1.f),
          b = std::clamp(2.f - std::fabs(hue - 4.f), 0.f, 1.f);
    double cx = (xy[2 * i] + 1) / 2 * double(w - 1), cy = (xy[2 * i + 1] + 1) / 2 * double(h - 1);
    for (int64_t y = int64_t(cy) - radius; y <= int64_t(cy) + radius; ++y)
      for (int64_t x = int64_t(cx) - radius; x <= int64_t(cx) + radius; ++x) {
        if (x < 0 || y < 0 || x >= w || y >= h || (x - cx) * (x - cx) + (y - cy) * (y - cy) > radius * radius) continue;
        uint8_t* q = p + (y * w + x) * 3;
        q[0] = uint8_t(r * 255), q[1] = uint8_t(g * 255), q[2] = uint8_t(b * 255);
      }
  }
}

Tensor visualize_step(const Tensor& source, const Tensor& driving, const fomm::StepOutput& o, const Tensor& mix_mask) {
  int64_t n = std::min<int64_t>(source.size(0), 4), H = source.size(2), W = source.size(3);
  int radius = int(std::max<int64_t>(1, H / 64));
  std::vector<float> ks = raw::to_device(o.kp_source.value.detach(), Device::cpu()).to_vector<float>();
  std::vector<float> kd = raw::to_device(o.kp_driving.value.detach(), Device::cpu()).to_vector<float>();
  int64_t k = o.kp_source.value.size(1);
  std::vector<Tensor> rows;
  for (int64_t s = 0; s < n; ++s) {
    auto pick = [&](const Tensor& t) { return kernels::slice(t.detach(), 0, s, s + 1); };
    Tensor src = panel(pick(source), H, W), drv = panel(pick(driving), H, W);
    draw_keypoints(src, std::vector<float>(ks.begin() + s * k * 2, ks.begin() + (s + 1) * k * 2), radius);
    draw_keypoints(drv, std::vector<float>(kd.begin() + s * k * 2, kd.begin() + (s + 1) * k * 2), radius);
    std::vector<Tensor> panels{src, drv, panel(pick(o.generated.deformed), H, W), panel(pick(o.generated.prediction), H, W)};
    if (o.generated.motion.occlusion_map.defined()) panels.push_back(panel(pick(o.generated.motion.occlusion_map), H, W));
    panels.push_back(panel(kernels::slice(pick(o.generated.motion.mask), 1, 0, 1), H, W));
    if (mix_mask.defined()) panels.push_back(panel(pick(mix_mask), H, W));
    rows.push_back(kernels::concat(panels, 1));
  }
  return kernels::concat(rows, 0);
}

}  // namespace anima::tools
