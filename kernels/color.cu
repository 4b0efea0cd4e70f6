#include <algorithm>

#include "kernels/color.h"
#include "kernels/color_ops.h"
#include "kernels/launch.h"
#include "kernels/reduce.h"

namespace anima::kernels {
namespace detail {

// Mean grey level of each image [N] (torchvision's contrast reference).
Tensor mean_gray(const Tensor& img) {
  int64_t n = img.size(0), hw = img.size(2) * img.size(3);
  Tensor g = Tensor::empty(Shape{n, hw}, DType::F32, img.device());
  const float* pi = img.data<float>();
  float* pg = g.data<float>();
  parallel_for(img.device(), n * hw, [=] ANIMA_HD(int64_t i) {
    int64_t s = i / hw, p = i % hw;
    const float* base = pi + s * 3 * hw;
    pg[i] = ops::gray(base[p], base[hw + p], base[2 * hw + p]);
  });
  return mean(g, {1});
}

// Applies per-sample (op, factor) to every pixel.
void apply_stage(const Tensor& img, const Tensor& ops_and_factors, const Tensor& means) {
  int64_t n = img.size(0), hw = img.size(2) * img.size(3);
  float* pi = img.data<float>();
  const float* pf = ops_and_factors.data<float>();
  const float* pm = means.data<float>();
  parallel_for(img.device(), n * hw, [=] ANIMA_HD(int64_t i) {
    int64_t s = i / hw, p = i % hw;
    float* base = pi + s * 3 * hw;
    float r = base[p], g = base[hw + p], b = base[2 * hw + p];
    ops::color_op(int(pf[2 * s]), pf[2 * s + 1], pm[s], &r, &g, &b);
    base[p] = r, base[hw + p] = g, base[2 * hw + p] = b;
  });
}

void check_images(const char* op, const Tensor& img) {
  check_dtype(op, img, DType::F32);
  ANIMA_CHECK(img.dim() == 4 && img.size(1) == 3, op, ": expected RGB images [N, 3, H, W], got ", img.shape().str());
}

}  // namespace detail

ColorJitterParams draw_color_jitter(int64_t n, float brightness, float contrast, float saturation, float hue,
                                    Generator& gen) {
  ANIMA_CHECK(brightness >= 0 && contrast >= 0 && saturation >= 0 && hue >= 0 && hue <= 0.5f,
              "color_jitter: need non-negative strengths and hue <= 0.5, got ", brightness, ", ", contrast, ", ",
              saturation, ", ", hue);
  uint64_t seed = gen.seed(), stream = gen.take_stream();
  uint64_t next = 0;
  auto uniform = [&] {
    PhiloxWords w = philox_group(seed, stream, next / 4);
    return double(philox_uniform01(w.w[next++ % 4]));
  };
  auto range = [&](double lo, double hi) { return float(lo + (hi - lo) * uniform()); };
  ColorJitterParams p;
  for (int64_t s = 0; s < n; ++s) {
    std::array<ColorOp, 4> order = {ColorOp::Brightness, ColorOp::Contrast, ColorOp::Saturation, ColorOp::Hue};
    for (int i = 3; i > 0; --i)
      std::swap(order[size_t(i)], order[size_t(std::min<int64_t>(i, int64_t(uniform() * (i + 1))))]);
    p.order.push_back(order);
    p.factor.push_back({range(std::max(0.0, 1.0 - brightness), 1.0 + brightness),
                        range(std::max(0.0, 1.0 - contrast), 1.0 + contrast),
                        range(std::max(0.0, 1.0 - saturation), 1.0 + saturation), range(-hue, hue)});
  }
  return p;
}

Tensor color_jitter(const Tensor& images, const ColorJitterParams& params) {
  detail::check_images("color_jitter", images);
  int64_t n = images.size(0);
  ANIMA_CHECK(int64_t(params.order.size()) == n && int64_t(params.factor.size()) == n,
              "color_jitter: ", params.order.size(), " parameter sets for ", n, " images");
  Tensor out = raw::to_device(images, images.device());
  for (int stage = 0; stage < 4; ++stage) {
    std::vector<float> of;
    for (int64_t s = 0; s < n; ++s) {
      ColorOp op = params.order[size_t(s)][size_t(stage)];
      of.push_back(float(int(op)));
      of.push_back(params.factor[size_t(s)][size_t(int(op))]);
    }
    Tensor table = raw::to_device(Tensor::from_vector(of, Shape{n, 2}), images.device());
    detail::apply_stage(out, table, detail::mean_gray(out));
  }
  return out;
}

Tensor adjust_color(const Tensor& images, ColorOp op, float factor) {
  detail::check_images("adjust_color", images);
  int64_t n = images.size(0);
  std::vector<float> of;
  for (int64_t s = 0; s < n; ++s) of.insert(of.end(), {float(int(op)), factor});
  Tensor out = raw::to_device(images, images.device());
  detail::apply_stage(out, raw::to_device(Tensor::from_vector(of, Shape{n, 2}), images.device()),
                      detail::mean_gray(out));
  return out;
}

}  // namespace anima::kernels
