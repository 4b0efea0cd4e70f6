// Softmax and log-softmax over one dimension (no autograd), numerically stable (the row maximum
// is subtracted first). Built from the reduction and broadcast kernels, so it runs on both devices
// with the GPU tree reductions.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// Given y = softmax(x): dx = y * (g - sum(g * y)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int dim);
// Given y = log_softmax(x): dx = g - exp(y) * sum(g).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int dim);

}  // namespace anima::kernels
