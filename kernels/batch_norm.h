// Batch normalisation over N, H, W per channel of an [N, C, H, W] tensor (no autograd).
// Training: normalise with the batch statistics (biased variance), and update the running
// statistics in place as PyTorch does: running = (1 - momentum) running + momentum batch, with
// the unbiased batch variance. Evaluation uses the running statistics (autograd composes it from
// elementwise ops). weight/bias: [C] (pass ones/zeros when the layer is not affine).
// GPU: cuDNN (CUDNN_BATCHNORM_SPATIAL). CPU: one pass per channel with double accumulation.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

struct BatchNormForward {
  Tensor y;
  Tensor save_mean;    // [C] batch mean
  Tensor save_invstd;  // [C] 1 / sqrt(batch var + eps)
};

BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                                  const Tensor& running_var, double momentum, double eps);

struct BatchNormGrads {
  Tensor dx, dweight, dbias;
};

BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, double eps);

}  // namespace anima::kernels
