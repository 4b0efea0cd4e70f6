#include "autograd/nn_functions.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"

namespace anima {
namespace K = kernels;
using Grads = std::vector<Tensor>;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  Tensor y = K::conv2d(x, weight, bias, p);
  Tensor sx = x.detach(), sw = weight.detach();
  return record("conv2d", y, {x, weight, bias}, [sx, sw, p](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(3);
    if (needs[0]) r[0] = K::conv2d_backward_input(g, sw, sx.shape(), p);
    if (needs[1]) r[1] = K::conv2d_backward_weight(g, sx, sw.shape(), p);
    if (needs[2]) r[2] = K::conv2d_backward_bias(g);
    return r;
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor y = matmul(x, weight, false, true);
  return bias.defined() ? y + bias : y;
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  ANIMA_CHECK(x.dim() == 4, "batch_norm: expected [N, C, H, W], got ", x.shape().str());
  int64_t C = x.size(1);
  Tensor w = weight.defined() ? weight : K::full(Shape{C}, 1.0, DType::F32, x.device());
  Tensor b = bias.defined() ? bias : K::full(Shape{C}, 0.0, DType::F32, x.device());
  if (!training) {
    ANIMA_CHECK(running_mean.defined() && running_var.defined(),
                "batch_norm: evaluation mode needs running statistics");
    // y = (x - mean) * (w / sqrt(var + eps)) + b, per channel; composed so autograd differentiates
    // it in x, w and b.
    Shape per{1, C, 1, 1};
    Tensor invstd = K::pow_scalar(K::add_scalar(running_var, float(eps)), -0.5f);
    Tensor scale = reshape(w, {1, C, 1, 1}) * raw::view(invstd, per);
    return (x - raw::view(running_mean, per)) * scale + reshape(b, {1, C, 1, 1});
  }
  // Running statistics are optional (track_running_stats=False): update scratch copies then.
  Tensor rm = running_mean.defined() ? running_mean : K::full(Shape{C}, 0.0, DType::F32, x.device());
  Tensor rv = running_var.defined() ? running_var : K::full(Shape{C}, 1.0, DType::F32, x.device());
  K::BatchNormForward f = K::batch_norm_train(x, w, b, rm, rv, momentum, eps);
  Tensor sx = x.detach(), sw = w.detach(), mean = f.save_mean, invstd = f.save_invstd;
  return record(
      "batch_norm", f.y, {x, weight, bias},
      [sx, sw, mean, invstd, eps](const Tensor& g, const std::vector<bool>& needs) -> Grads {
        K::BatchNormGrads bg = K::batch_norm_backward(g, sx, sw, mean, invstd, eps);
        return {needs[0] ? bg.dx : Tensor(), needs[1] ? bg.dweight : Tensor(), needs[2] ? bg.dbias : Tensor()};
      });
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  ANIMA_CHECK(x.dim() == 4, "instance_norm: expected [N, C, H, W], got ", x.shape().str());
  Tensor centered = x - mean(x, {2, 3}, true);
  Tensor var = mean(centered * centered, {2, 3}, true);
  Tensor y = centered * pow(var + float(eps), -0.5f);
  int64_t C = x.size(1);
  if (weight.defined()) y = y * reshape(weight, {1, C, 1, 1});
  if (bias.defined()) y = y + reshape(bias, {1, C, 1, 1});
  return y;
}

Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  int s = stride > 0 ? stride : kernel;
  Shape xs = x.shape();
  return record("avg_pool2d", K::avg_pool2d(x, kernel, kernel, s, s, padding, padding), {x},
                [xs, kernel, s, padding](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {K::avg_pool2d_backward(g, xs, kernel, kernel, s, s, padding, padding)};
                });
}

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  int s = stride > 0 ? stride : kernel;
  K::MaxPoolResult r = K::max_pool2d(x, kernel, s, padding);
  Shape xs = x.shape();
  Tensor idx = r.indices;
  return record("max_pool2d", r.out, {x},
                [xs, idx, kernel, s, padding](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {K::max_pool2d_backward(g, idx, xs, kernel, s, padding)};
                });
}

Tensor interpolate(const Tensor& x, const InterpParams& p) {
  Shape xs = x.shape();
  return record("interpolate", K::interpolate(x, p), {x}, [xs, p](const Tensor& g, const std::vector<bool>&) -> Grads {
    return {K::interpolate_backward(g, xs, p)};
  });
}

Tensor interpolate_scale(const Tensor& x, double scale, InterpMode mode, bool align_corners) {
  ANIMA_CHECK(x.dim() == 4 && scale > 0, "interpolate: need [N, C, H, W] and a positive scale, got ", x.shape().str(),
              " and ", scale);
  InterpParams p;
  p.out_h = int64_t(std::floor(double(x.size(2)) * scale));
  p.out_w = int64_t(std::floor(double(x.size(3)) * scale));
  p.mode = mode;
  p.align_corners = align_corners;
  p.scale_h = scale;
  p.scale_w = scale;
  return interpolate(x, p);
}

Tensor upsample_nearest(const Tensor& x, int factor) {
  ANIMA_CHECK(factor >= 1, "upsample_nearest: factor must be at least 1, got ", factor);
  return interpolate_scale(x, double(factor), InterpMode::Nearest);
}

Tensor pad2d(const Tensor& x, int top, int bottom, int left, int right, float value) {
  return record("pad2d", K::pad2d(x, top, bottom, left, right, value), {x},
                [top, bottom, left, right](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {K::pad2d_backward(g, top, bottom, left, right)};
                });
}

namespace {
Tensor reduce_loss(const Tensor& per_element, Reduction r) {
  return r == Reduction::Mean ? mean(per_element) : sum(per_element);
}
void check_loss(const char* op, const Tensor& a, const Tensor& b) {
  ANIMA_CHECK(a.shape() == b.shape(), op, ": prediction ", a.shape().str(), " and target ", b.shape().str(), " differ");
}
}  // namespace

Tensor l1_loss(const Tensor& prediction, const Tensor& target, Reduction r) {
  check_loss("l1_loss", prediction, target);
  return reduce_loss(abs(prediction - target), r);
}

Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction r) {
  check_loss("mse_loss", prediction, target);
  Tensor d = prediction - target;
  return reduce_loss(d * d, r);
}

}  // namespace anima

namespace anima {

Tensor cutmix(const Tensor& a, const Tensor& b, const Tensor& mask) {
  ANIMA_CHECK(a.shape() == b.shape() && mask.dim() == 4 && mask.size(1) == 1 && mask.size(0) == a.size(0) &&
                  mask.size(2) == a.size(2) && mask.size(3) == a.size(3),
              "cutmix: images ", a.shape().str(), " and ", b.shape().str(), " with mask ", mask.shape().str(),
              " (expected equal images and a mask [N, 1, H, W])");
  return mask * a + (1.f - mask) * b;
}

Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleOptions& o) {
  Tensor si = input.detach(), sg = grid.detach();
  return record("grid_sample", kernels::grid_sample(input, grid, o), {input, grid},
                [si, sg, o](const Tensor& g, const std::vector<bool>& needs) -> Grads {
                  kernels::GridSampleGrads r = kernels::grid_sample_backward(g, si, sg, o, needs[0], needs[1]);
                  return {r.input, r.grid};
                });
}

}  // namespace anima
