// The differentiable ops: what layers and models call. Each computes its result with the raw
// kernels (kernels/) and, when grad mode is on and an input requires grad, records a node whose
// backward rule is written beside the forward in functions.cpp.
//
// Shapes, broadcasting and dtypes follow the kernels' contracts (kernels/*.h).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/tensor.h"

namespace anima {

// ---- elementwise ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float slope = 0.01f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);
Tensor pow(const Tensor& x, float p);
Tensor pow(const Tensor& a, const Tensor& b);  // a > 0 where b's gradient is wanted

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient evenly
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& x, float s);
Tensor mul(const Tensor& x, float s);
Tensor div(const Tensor& x, float s);
Tensor rsub(const Tensor& x, float s);  // s - x

// Comparisons (not differentiable): uint8 0/1.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// cond ? a : b (broadcast); differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// Not differentiable.
Tensor cast(const Tensor& x, DType dtype);

Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& x, float s);
Tensor operator-(const Tensor& x, float s);
Tensor operator*(const Tensor& x, float s);
Tensor operator/(const Tensor& x, float s);
Tensor operator+(float s, const Tensor& x);
Tensor operator-(float s, const Tensor& x);
Tensor operator*(float s, const Tensor& x);
Tensor operator/(float s, const Tensor& x);

// ---- reductions (dims empty = all) ----
Tensor sum(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
// The total of named scalar loss terms, added in name order (((a + b) + c) ...); undefined when
// there are none.
Tensor sum_terms(const std::map<std::string, Tensor>& terms);
Tensor mean(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
// Max/min values; the gradient is shared evenly among tied maxima (as PyTorch's amax).
Tensor amax(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);

// mean(|a - b|) in one fused reduction (same shapes); the gradient is sign(a - b) / n.
Tensor mean_abs_diff(const Tensor& a, const Tensor& b);

// ---- shape ----
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);  // a view; one -1 allowed
Tensor flatten(const Tensor& x, int start_dim = 0, int end_dim = -1);
Tensor unsqueeze(const Tensor& x, int dim);
Tensor squeeze(const Tensor& x, int dim);
Tensor permute(const Tensor& x, const std::vector<int>& perm);  // a copy
Tensor transpose(const Tensor& x, int dim0, int dim1);
Tensor concat(const std::vector<Tensor>& xs, int dim);
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step = 1);
Tensor expand(const Tensor& x, const Shape& shape);  // a copy

// ---- linear algebra and softmax ----
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// [R, K] weights times [K, C] values, summed over K in the order of `sum` (kernels/reduce.h).
Tensor weighted_sum(const Tensor& w, const Tensor& v);

// ---- devices and copies ----
Tensor to(const Tensor& x, Device device);
Tensor clone(const Tensor& x);

}  // namespace anima
