// Reductions (no autograd). `dims` lists the dimensions to reduce (negative counts from the end;
// empty = all). With keepdim the reduced dimensions stay as extent 1, otherwise they are removed
// (reducing everything gives a 0-dimensional tensor). float32 only.
//
// Strategy: the input is viewed as rows [M kept elements, K reduced elements] (copied through a
// permutation first unless the reduced dims are already the trailing ones). The GPU reduces each
// row with a block-wide tree (warp shuffles, then shared memory), splitting long rows over several
// blocks when there are too few rows to fill the GPU, with a second pass over the partials. The
// CPU sums fixed 4096-element chunks in parallel and combines them in order, so its result does
// not depend on the thread count.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace anima::kernels {

enum class ReduceOp { Sum, Mean, Max, Min };

Tensor reduce(const Tensor& x, ReduceOp op, const std::vector<int>& dims, bool keepdim);
Tensor sum(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);

// mean(|a - b|) over all elements in one fused pass (no |a - b| tensor is written): the term of
// the perceptual and reconstruction losses.
Tensor mean_abs_diff(const Tensor& a, const Tensor& b);

// out[r, c] = sum over k of w[r, k] * v[k, c] for w [R, K] and v [K, C]: an expectation under the
// rows of w (FOMM's keypoint = the heatmap-weighted mean of the coordinate grid). Not a GEMM: each
// sum takes the order of `sum`, so the result has the bits of sum(unsqueeze(w, 2) * v, {1}), on
// either device, without the [R, K, C] product. Its gradients, each with the bits of the composed
// path's (the broadcast product, summed down to the operand's shape; where that sum is over one
// element, R == 1 or C == 1, the composed path keeps a -0 product that this one makes +0):
//   d/dw [R, K] = sum over c of g[r, c] * v[k, c];  d/dv [K, C] = sum over r of g[r, c] * w[r, k].
Tensor weighted_sum(const Tensor& w, const Tensor& v);
Tensor weighted_sum_backward_weights(const Tensor& g, const Tensor& v);
Tensor weighted_sum_backward_values(const Tensor& g, const Tensor& w);

// Sums x down to `shape`, which x's shape broadcasts from (the gradient of a broadcast).
Tensor sum_to(const Tensor& x, const Shape& shape);

// Normalised, sorted, de-duplicated list of dims to reduce (all dims when `dims` is empty).
std::vector<int> reduction_dims(const Shape& shape, const std::vector<int>& dims, const char* op);
// Shape of the result of reducing `dims` of `shape`.
Shape reduced_shape(const Shape& shape, const std::vector<int>& dims, bool keepdim);

}  // namespace anima::kernels
