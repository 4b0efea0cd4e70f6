// 2-D convolution (cross-correlation, as PyTorch's conv2d), no autograd.
//   x: [N, C, H, W], weight: [Co, C / groups, kh, kw], bias: [Co] or undefined
//   out: [N, Co, Ho, Wo], Ho = (H + 2 pad_h - dil_h (kh - 1) - 1) / stride_h + 1 (likewise Wo)
// GPU: cuDNN, with the algorithm for each (shape, direction, math mode) chosen once by cuDNN's
// heuristics and cached, and the workspace taken from the caching allocator.
// CPU: im2col (row bodies in kernels/conv_ops.h) + OpenBLAS sgemm per image and group; the
// input gradient (col2im) adds the kernel rows of one channel in a fixed order, channels in
// parallel, so it needs no atomics and repeats bit for bit.
#pragma once
#include "tensor/tensor.h"

namespace anima {

// In namespace anima (not kernels) so that a call with these parameters finds the
// differentiable op by argument-dependent lookup, never the raw kernel.
struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  int groups = 1;
};

}  // namespace anima

namespace anima::kernels {

// Output shape; throws naming the shapes if they do not fit together.
Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dParams& p);

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p);
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& x_shape,
                             const Conv2dParams& p);
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape,
                              const Conv2dParams& p);
// Sum of grad_out over N, H, W.
Tensor conv2d_backward_bias(const Tensor& grad_out);

// Direct seven-loop convolution with double accumulation: the specification (CPU only).
Tensor conv2d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Conv2dParams& p);

}  // namespace anima::kernels
