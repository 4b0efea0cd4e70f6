// Differentiable neural-network ops: convolution, normalisation, pooling, resampling, padding,
// losses. Semantics are PyTorch's (torch.nn.functional) unless stated.
#pragma once
#include <string>

#include "kernels/conv.h"
#include "kernels/resample.h"
#include "tensor/tensor.h"

namespace anima {

// bias may be undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p);

// y = x W^T + b (W: [out, in], b: [out] or undefined), x: [..., in].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// Batch norm over N, H, W. In training mode the running statistics (when defined) are updated in
// place; weight/bias may be undefined (not affine).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// Instance norm over H, W of each sample and channel (biased variance), optional affine.
Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

Tensor avg_pool2d(const Tensor& x, int kernel, int stride = 0, int padding = 0);  // stride 0: = kernel
Tensor max_pool2d(const Tensor& x, int kernel, int stride = 0, int padding = 0);
Tensor interpolate(const Tensor& x, const InterpParams& p);
// F.interpolate(x, scale_factor=s, mode=...) (output extent floor(in * s)).
Tensor interpolate_scale(const Tensor& x, double scale, InterpMode mode, bool align_corners = false);
Tensor upsample_nearest(const Tensor& x, int factor);
Tensor pad2d(const Tensor& x, int top, int bottom, int left, int right, float value = 0.f);

enum class Reduction { Mean, Sum };
Tensor l1_loss(const Tensor& prediction, const Tensor& target, Reduction r = Reduction::Mean);
Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction r = Reduction::Mean);

}  // namespace anima

#include "kernels/grid_sample.h"

namespace anima {

// CutMix (PriorityCut paper, section 3.2): mask * a + (1 - mask) * b, the mask [N, 1, H, W]
// broadcast over channels; differentiable in a and b (and the mask).
Tensor cutmix(const Tensor& a, const Tensor& b, const Tensor& mask);

// F.grid_sample for 4-D inputs; differentiable in input and grid.
Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleOptions& o = {});

}  // namespace anima
