#include "models/fomm/visualize.h"

#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"
#include "models/common/picture.h"

namespace anima::fomm {
namespace {

// The first n samples of a batch tensor, detached, on the CPU (one copy per tensor).
Tensor first_on_cpu(const Tensor& t, int64_t n) {
  return raw::to_device(kernels::slice(t.detach(), 0, 0, n), Device::cpu());
}

std::vector<float> keypoints_on_cpu(const Keypoints& kp) {
  return raw::to_device(kp.value.detach(), Device::cpu()).to_vector<float>();
}

}  // namespace

Tensor visualize_step(const Tensor& source_in, const Tensor& driving_in, const StepOutput& o,
                      const Tensor& mix_mask_in) {
  int64_t n = std::min<int64_t>(source_in.size(0), 4), H = source_in.size(2), W = source_in.size(3);
  int radius = int(std::max<int64_t>(1, H / 64));
  const DenseMotion& motion = o.generated.motion;
  auto cpu = [n](const Tensor& t) { return t.defined() ? first_on_cpu(t, n) : Tensor(); };
  Tensor source = cpu(source_in), driving = cpu(driving_in), deformed = cpu(o.generated.deformed),
         prediction = cpu(o.generated.prediction), occlusion = cpu(motion.occlusion_map),
         sparse = cpu(motion.sparse_deformed), mask = cpu(motion.mask), transformed = cpu(o.transformed_frame),
         mix_mask = cpu(mix_mask_in), unet_real = cpu(o.discriminator_pixel_real),
         unet_fake = cpu(o.discriminator_pixel_fake);
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

}  // namespace anima::fomm
