// Layout-changing copies (no autograd): permute/transpose, concatenation, slicing. All dtypes.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace anima::kernels {

// out.shape[i] = x.shape[perm[i]]; perm is a permutation of 0..ndim-1.
Tensor permute(const Tensor& x, const std::vector<int>& perm);
Tensor transpose(const Tensor& x, int dim0, int dim1);
// The permutation that swaps dim0 and dim1 of `shape` (negative dims count from the end).
std::vector<int> transpose_permutation(const Shape& shape, int dim0, int dim1);

// Reverses the order of elements along `dim` (a copy).
Tensor flip(const Tensor& x, int dim);

// Joins tensors along `dim`; all other extents must match.
Tensor concat(const std::vector<Tensor>& xs, int dim);

// Elements start, start+step, ... (< end) along `dim`. Negative start/end count from the end
// and are clamped to the extent, as in Python slicing; step >= 1.
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step = 1);
// The adjoint of slice: a zero tensor of `full_shape` with `grad` written at the sliced places.
Tensor slice_backward(const Tensor& grad, const Shape& full_shape, int dim, int64_t start, int64_t end, int64_t step);

// Python-style normalisation used by slice (exposed for autograd and tests).
struct SliceRange {
  int64_t start, end, step, length;
};
SliceRange normalize_slice(int64_t extent, int64_t start, int64_t end, int64_t step, const char* op);

}  // namespace anima::kernels
