// The cuDNN side of convolution and batch normalisation (GPU tensors only). Called by the op
// dispatchers in conv.cpp and batch_norm.cpp; shapes are checked there.
#pragma once
#include "kernels/conv.h"
#include "tensor/tensor.h"

namespace anima::kernels::cudnn {

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                      const Shape& out_shape);
Tensor conv2d_backward_data(const Tensor& gout, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
Tensor conv2d_backward_filter(const Tensor& gout, const Tensor& x, const Shape& w_shape, const Conv2dParams& p);

// Training-mode batch norm: y, and the batch mean and inverse std saved for backward; updates the
// running statistics in place (momentum as PyTorch's: new = (1 - m) old + m batch, unbiased var).
void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                      const Tensor& running_var, double momentum, double eps, const Tensor& y, const Tensor& save_mean,
                      const Tensor& save_invstd);
void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd, double eps, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias);

// Number of (shape, direction, math mode) entries in the convolution algorithm cache.
size_t conv_algorithm_cache_size();

}  // namespace anima::kernels::cudnn
