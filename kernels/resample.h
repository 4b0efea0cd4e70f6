// Resampling ops on [N, C, H, W] float32 tensors (no autograd): average pooling, nearest and
// bilinear interpolation with PyTorch's F.interpolate semantics, constant padding.
#pragma once
#include <optional>

#include "tensor/tensor.h"

namespace anima {

enum class InterpMode { Nearest, Bilinear };

// Resize to (out_h, out_w). scale_h/scale_w: the scale factors the caller asked for, if any
// (PyTorch uses 1/scale instead of in/out for the source coordinate when a factor is given and
// align_corners is false). align_corners only applies to bilinear. In namespace anima so that
// argument-dependent lookup finds the differentiable interpolate, not the raw kernel.
struct InterpParams {
  int64_t out_h = 0, out_w = 0;
  InterpMode mode = InterpMode::Bilinear;
  bool align_corners = false;
  std::optional<double> scale_h, scale_w;
};

}  // namespace anima

namespace anima::kernels {

// avg_pool2d with kernel k, stride s, zero padding p (count_include_pad: the divisor is kh*kw),
// floor mode. Output extent (H + 2p - k) / s + 1.
Tensor avg_pool2d(const Tensor& x, int kh, int kw, int sh, int sw, int ph = 0, int pw = 0);
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& x_shape, int kh, int kw, int sh, int sw, int ph = 0,
                           int pw = 0);

// max_pool2d with kernel k, stride s, padding p (padding never wins), floor mode. Returns the
// output and, per output element, the winning offset within its input plane (int32; the first
// maximum in window order on ties, as PyTorch).
struct MaxPoolResult {
  Tensor out, indices;
};
MaxPoolResult max_pool2d(const Tensor& x, int k, int s, int p = 0);
// Gathers: each input element sums the gradients of the windows it won (no atomics).
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& x_shape, int k, int s, int p = 0);
// The CPU runs 2x2 stride-2 pools through a vectorised row kernel with the same results as the
// general window loop; on = the general loop for them too (the test's oracle). Returns the previous setting.
bool set_max_pool_general_cpu(bool on);

Tensor interpolate(const Tensor& x, const InterpParams& p);
// The adjoint: scatters the gradient back through the same taps. Deterministic on the CPU
// (each image plane summed by one thread); on the GPU it uses float atomics, or one thread per
// plane when the deterministic mode is on.
Tensor interpolate_backward(const Tensor& grad, const Shape& x_shape, const InterpParams& p);

// Pads the last two dims: (top, bottom, left, right) >= 0, filled with `value`.
Tensor pad2d(const Tensor& x, int top, int bottom, int left, int right, float value = 0.f);
// The gradient of pad2d: the central crop.
Tensor pad2d_backward(const Tensor& grad, int top, int bottom, int left, int right);

}  // namespace anima::kernels
