// Elementwise ops (no autograd). Contract for all of them:
// - inputs are contiguous tensors on one device; arithmetic takes float32 and throws naming the
//   op otherwise;
// - binary ops broadcast like NumPy/PyTorch (trailing-aligned, extents equal or 1);
// - the result is a new tensor on the inputs' device; comparisons return uint8 0/1.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

// unary
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float slope);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);
Tensor add_scalar(const Tensor& x, float s);
Tensor mul_scalar(const Tensor& x, float s);
Tensor div_scalar(const Tensor& x, float s);
Tensor rsub_scalar(const Tensor& x, float s);  // s - x
Tensor pow_scalar(const Tensor& x, float p);

// binary with broadcasting
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// cond (uint8 or float32, nonzero = true) ? a : b, all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// fused backward bodies (same-shape inputs: grad and the saved x or y)
Tensor relu_backward(const Tensor& grad, const Tensor& x);
Tensor leaky_relu_backward(const Tensor& grad, const Tensor& x, float slope);
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y);
Tensor tanh_backward(const Tensor& grad, const Tensor& y);
Tensor clamp_backward(const Tensor& grad, const Tensor& x, float lo, float hi);
Tensor abs_backward(const Tensor& grad, const Tensor& x);
Tensor pow_scalar_backward(const Tensor& grad, const Tensor& x, float p);

// x broadcast (copied) to `shape`.
Tensor expand(const Tensor& x, const Shape& shape);
// Converts between dtypes (float -> integer truncates toward zero, like a C cast).
Tensor cast(const Tensor& x, DType dtype);

// In place: dst += alpha * src (same shape and device). Used for gradient accumulation.
void add_inplace(const Tensor& dst, const Tensor& src, float alpha = 1.f);
// In place: t += s, any dtype (s converted to t's type).
void add_scalar_(const Tensor& t, double s);
// In place: every element of t set to value (any dtype).
void fill(const Tensor& t, double value);
// The rows x cols identity (ones on the diagonal), built on its device (no host round trip).
Tensor eye(int64_t rows, int64_t cols, Device device = Device::cpu());
// A new tensor filled on its device (no host round trip).
Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());

Tensor arange(double start, double end, double step, DType dtype = DType::F32, Device device = Device::cpu());
// `steps` values from start to end inclusive (PyTorch's linspace).
Tensor linspace(float start, float end, int64_t steps, Device device = Device::cpu());

}  // namespace anima::kernels
