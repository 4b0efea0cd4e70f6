#include "tools/visualize.h"

#include <algorithm>
#include <cmath>

#include "data/image_io.h"
#include "kernels/elementwise.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"

namespace anima::tools {
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

namespace {

// The first n samples of a batch tensor, detached, on the CPU (one copy per tensor).
Tensor first_on_cpu(const Tensor& t, int64_t n) {
  return raw::to_device(kernels::slice(t.detach(), 0, 0, n), Device::cpu());
}

std::vector<float> keypoints_on_cpu(const fomm::Keypoints& kp) {
  return raw::to_device(kp.value.detach(), Device::cpu()).to_vector<float>();
}

}  // namespace

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

Tensor visualize_step(const Tensor& source_in, const Tensor& driving_in, const fomm::StepOutput& o,
                      const Tensor& mix_mask_in) {
  int64_t n = std::min<int64_t>(source_in.size(0), 4), H = source_in.size(2), W = source_in.size(3);
  int radius = int(std::max<int64_t>(1, H / 64));
  const fomm::DenseMotion& motion = o.generated.motion;
  auto cpu = [n](const Tensor& t) { return t.defined() ? first_on_cpu(t, n) : Tensor(); };
  Tensor source = cpu(source_in), driving = cpu(driving_in), deformed = cpu(o.generated.deformed),
         prediction = cpu(o.generated.prediction), occlusion = cpu(motion.occlusion_map),
         sparse = cpu(motion.sparse_deformed), mask = cpu(motion.mask), transformed = cpu(o.transformed_frame),
         mix_mask = cpu(mix_mask_in), unet_real = cpu(o.discriminator_pixel_real), unet_fake = cpu(o.discriminator_pixel_fake);
  int64_t k = o.kp_source.value.size(1);
  std::vector<float> ks = keypoints_on_cpu(o.kp_source), kd = keypoints_on_cpu(o.kp_driving), kt;
  if (transformed.defined()) kt = keypoints_on_cpu(o.transformed_kp);
  // Mask colours: black for the background, keypoint k's colour for mask k + 1.
  std::vector<Tensor> colours{Tensor::zeros(Shape{1, 3, 1, 1})};
  for (int64_t i = 0; i < k; ++i) {
    std::array<float, 3> c = keypoint_colour(size_t(i), size_t(k));
    colours.push_back(Tensor::from_vector<float>({c[0], c[1], c[2]}, Shape{1, 3, 1, 1}));
  }
  std::vector<Tensor> rows;
  for (int64_t s = 0; s < n; ++s) {
    auto pick = [s](const Tensor& t) { return kernels::slice(t, 0, s, s + 1); };
    auto with_kp = [&](const Tensor& frame, const std::vector<float>& xy) {
      Tensor image = image_panel(pick(frame), H, W);
      draw_keypoints(image, std::vector<float>(xy.begin() + s * k * 2, xy.begin() + (s + 1) * k * 2), radius);
      return image;
    };
    std::vector<Tensor> panels{with_kp(source, ks)};
    if (transformed.defined()) panels.push_back(with_kp(transformed, kt));
    panels.push_back(with_kp(driving, kd));
    panels.push_back(image_panel(pick(deformed), H, W));
    panels.push_back(image_panel(pick(prediction), H, W));
    if (occlusion.defined()) panels.push_back(image_panel(pick(occlusion), H, W));
    Tensor sparse_s = pick(sparse), mask_s = pick(mask), all_masks;  // [1, K+1, C, h, w], [1, K+1, h, w]
    for (int64_t i = 0; i <= k; ++i) {
      Tensor image = kernels::slice(sparse_s, 1, i, i + 1);
      panels.push_back(image_panel(raw::view(image, Shape{1, image.size(2), image.size(3), image.size(4)}), H, W));
      Tensor m = kernels::slice(mask_s, 1, i, i + 1);
      Tensor coloured = kernels::mul(m, colours[size_t(i)]);
      panels.push_back(image_panel(i == 0 ? m : coloured, H, W));
      all_masks = all_masks.defined() ? kernels::add(all_masks, coloured) : coloured;
    }
    panels.push_back(image_panel(all_masks, H, W));
    if (mix_mask.defined()) panels.push_back(image_panel(pick(mix_mask), H, W));
    if (unet_real.defined()) panels.push_back(image_panel(pick(unet_real), H, W));
    if (unet_fake.defined()) panels.push_back(image_panel(pick(unet_fake), H, W));
    rows.push_back(kernels::concat(panels, 1));
  }
  return kernels::concat(rows, 0);
}

}  // namespace anima::tools
