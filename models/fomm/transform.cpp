#include "models/fomm/transform.h"

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "models/fomm/geometry.h"

namespace anima::fomm {

RandomTransform::RandomTransform(int64_t n, const TransformParams& p, Generator& gen, Device device) {
  ANIMA_CHECK(n >= 1 && p.points_tps >= 0 && p.sigma_affine >= 0 && p.sigma_tps >= 0,
              "RandomTransform: invalid parameters");
  Tensor noise = kernels::normal(Shape{n, 2, 3}, 0.f, p.sigma_affine, gen, device);
  Tensor eye = raw::view(kernels::eye(2, 3, device), Shape{1, 2, 3});  // built on the device: no sync per step
  theta = kernels::add(noise, eye);
  if (p.points_tps > 0) {
    control_points = raw::view(make_coordinate_grid(p.points_tps, p.points_tps, device),
                               Shape{int64_t(p.points_tps) * p.points_tps, 2});
    control_params = kernels::normal(Shape{n, 1, int64_t(p.points_tps) * p.points_tps}, 0.f, p.sigma_tps, gen, device);
  }
}

Tensor RandomTransform::warp_coordinates(const Tensor& c) const {
  ANIMA_CHECK(c.dim() == 3 && c.size(2) == 2 && c.size(0) == theta.size(0), "RandomTransform: coordinates must be [",
              theta.size(0), ", P, 2], got ", c.shape().str());
  int64_t n = c.size(0), pts = c.size(1);
  // A c + b, with A = theta[:, :, :2], b = theta[:, :, 2].
  Tensor a = slice(theta, 2, 0, 2), b = reshape(slice(theta, 2, 2, 3), {n, 1, 2});
  Tensor out = matmul(c, a, false, true) + b;  // [N, P, 2] = c A^T + b
  if (control_points.defined()) {
    int64_t t = control_points.size(0);
    Tensor d = sum(abs(reshape(c, {n, pts, 1, 2}) - reshape(control_points, {1, 1, t, 2})), {3});  // [N, P, T]
    Tensor u = d * d * log(d + 1e-6f) * control_params;                                            // [N, P, T]
    out = out + sum(u, {2}, true);  // the same scalar on both coordinates
  }
  return out;
}

Tensor RandomTransform::jacobian(const Tensor& c) const {
  int64_t n = c.size(0), pts = c.size(1);
  Tensor a = reshape(slice(theta, 2, 0, 2), {n, 1, 2, 2});
  Tensor jac = expand(a, Shape{n, pts, 2, 2});
  if (control_points.defined()) {
    int64_t t = control_points.size(0);
    Tensor diff = reshape(c, {n, pts, 1, 2}) - reshape(control_points, {1, 1, t, 2});  // [N, P, T, 2]
    Tensor d = sum(abs(diff), {3});                                                    // [N, P, T]
    // dU/dd = 2 d log(d + eps) + d^2 / (d + eps); dd/dx = sign(x - cx), dd/dy = sign(y - cy).
    Tensor du = (2.f * d * log(d + 1e-6f) + d * d / (d + 1e-6f)) * control_params;  // [N, P, T]
    Tensor sgn = kernels::sign(diff.detach());                                      // piecewise constant
    Tensor grad_r = sum(unsqueeze(du, 3) * sgn, {2});                               // [N, P, 2] = (dr/dx, dr/dy)
    jac = jac + unsqueeze(grad_r, 2);                                               // both rows get (dr/dx, dr/dy)
  }
  return jac;
}

Tensor RandomTransform::transform_frame(const Tensor& frame, bool align_corners) const {
  ANIMA_CHECK(frame.dim() == 4 && frame.size(0) == theta.size(0), "RandomTransform: frame must be [", theta.size(0),
              ", C, H, W], got ", frame.shape().str());
  int64_t n = frame.size(0), h = frame.size(2), w = frame.size(3);
  Tensor grid = expand(reshape(make_coordinate_grid(h, w, frame.device()), {1, h * w, 2}), Shape{n, h * w, 2});
  Tensor warped = reshape(warp_coordinates(grid), {n, h, w, 2});
  GridSampleOptions o;
  o.padding = GridPadding::Reflection;
  o.align_corners = align_corners;
  return grid_sample(frame, warped, o);
}

}  // namespace anima::fomm
