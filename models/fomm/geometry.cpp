#include "models/fomm/geometry.h"

#include "autograd/functions.h"
#include "kernels/elementwise.h"

namespace anima::fomm {

Tensor make_coordinate_grid(int64_t h, int64_t w, Device device) {
  ANIMA_CHECK(h >= 2 && w >= 2, "make_coordinate_grid: need at least 2x2, got ", h, "x", w);
  Tensor x = kernels::linspace(-1.f, 1.f, w, device), y = kernels::linspace(-1.f, 1.f, h, device);
  Tensor xx = kernels::expand(raw::view(x, Shape{1, w, 1}), Shape{h, w, 1});
  Tensor yy = kernels::expand(raw::view(y, Shape{h, 1, 1}), Shape{h, w, 1});
  return concat({xx, yy}, 2);
}

Tensor kp2gaussian(const Tensor& kp, int64_t h, int64_t w, float variance) {
  ANIMA_CHECK(kp.dim() == 3 && kp.size(2) == 2, "kp2gaussian: keypoints must be [N, K, 2], got ", kp.shape().str());
  Tensor grid = reshape(make_coordinate_grid(h, w, kp.device()), {1, 1, h, w, 2});
  Tensor mean = reshape(kp, {kp.size(0), kp.size(1), 1, 1, 2});
  Tensor d = grid - mean;
  return exp(sum(d * d, {4}) * (-0.5f / variance));
}

SpatialKeypoints heatmap_to_keypoints(const Tensor& prediction, float temperature) {
  ANIMA_CHECK(prediction.dim() == 4, "heatmap_to_keypoints: expected [N, K, H, W], got ", prediction.shape().str());
  int64_t n = prediction.size(0), k = prediction.size(1), h = prediction.size(2), w = prediction.size(3);
  Tensor rows = softmax(reshape(prediction * (1.f / temperature), {n * k, h * w}), 1);
  // sum(heat[..., None] * grid, {2, 3}) without the [N, K, H, W, 2] product, with its bits
  Tensor grid = reshape(make_coordinate_grid(h, w, prediction.device()), {h * w, 2});
  Tensor value = reshape(weighted_sum(rows, grid), {n, k, 2});
  return {value, reshape(rows, {n, k, h, w})};
}

namespace {
Tensor entry(const Tensor& m, int i, int j) {
  return squeeze(slice(squeeze(slice(m, -2, i, i + 1), -2), -1, j, j + 1), -1);
}
void check_2x2(const char* op, const Tensor& m) {
  ANIMA_CHECK(m.dim() >= 2 && m.size(-1) == 2 && m.size(-2) == 2, op, ": expected [..., 2, 2], got ", m.shape().str());
}
Tensor assemble(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& d) {
  Tensor row0 = concat({unsqueeze(a, -1), unsqueeze(b, -1)}, -1);
  Tensor row1 = concat({unsqueeze(c, -1), unsqueeze(d, -1)}, -1);
  return concat({unsqueeze(row0, -2), unsqueeze(row1, -2)}, -2);
}
}  // namespace

Tensor matmul2x2(const Tensor& a, const Tensor& b) {
  check_2x2("matmul2x2", a);
  check_2x2("matmul2x2", b);
  Tensor a00 = entry(a, 0, 0), a01 = entry(a, 0, 1), a10 = entry(a, 1, 0), a11 = entry(a, 1, 1);
  Tensor b00 = entry(b, 0, 0), b01 = entry(b, 0, 1), b10 = entry(b, 1, 0), b11 = entry(b, 1, 1);
  return assemble(a00 * b00 + a01 * b10, a00 * b01 + a01 * b11, a10 * b00 + a11 * b10, a10 * b01 + a11 * b11);
}

Tensor det2x2(const Tensor& m) {
  check_2x2("det2x2", m);
  return entry(m, 0, 0) * entry(m, 1, 1) - entry(m, 0, 1) * entry(m, 1, 0);
}

Tensor inverse2x2(const Tensor& m) {
  check_2x2("inverse2x2", m);
  Tensor inv_det = 1.f / det2x2(m);
  Tensor a = entry(m, 0, 0), b = entry(m, 0, 1), c = entry(m, 1, 0), d = entry(m, 1, 1);
  return assemble(d * inv_det, -b * inv_det, -c * inv_det, a * inv_det);
}

}  // namespace anima::fomm
