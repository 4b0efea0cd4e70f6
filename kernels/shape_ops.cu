#include <cstring>

#include "kernels/elementwise.h"
#include "kernels/launch.h"
#include "kernels/shape_ops.h"

namespace anima::kernels {
namespace detail {

// For output element i: unravel over the output shape, gather through the permuted strides.
struct PermuteIndex {
  int ndim;
  int64_t out_extent[kMaxDims];
  int64_t in_stride[kMaxDims];  // input stride of the dimension that becomes output dim d
  ANIMA_HD int64_t source(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (i % out_extent[d]) * in_stride[d];
      i /= out_extent[d];
    }
    return off;
  }
};

template <class T>
void permute_typed(const Tensor& x, const Tensor& out, PermuteIndex idx) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  if (x.device().is_cpu() && idx.ndim > 0) {
    if (out.numel() == 0) return;
    // Row by row along the output's last dimension: one source offset per row, then a strided
    // read (the per-element index divisions cost more than the copy itself).
    int64_t inner = idx.out_extent[idx.ndim - 1], step = idx.in_stride[idx.ndim - 1];
    cpu_for_rows(out.numel() / inner, inner, [=](int64_t r) {
      const T* src = px + idx.source(r * inner);
      T* dst = po + r * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * step];
    });
    return;
  }
  parallel_for(x.device(), out.numel(), [=] ANIMA_HD(int64_t i) { po[i] = px[idx.source(i)]; });
}

// Copies a block [outer, len, inner] of `src` into `dst` [outer, dst_len, inner] at position
// `at` (concat), or the strided slice of `src` into `dst` (slice), or back (slice_backward).
template <class T>
void strided_block_copy(const Tensor& src, const Tensor& dst, int64_t outer, int64_t len, int64_t inner,
                        int64_t src_len, int64_t src_start, int64_t src_step, int64_t dst_len, int64_t dst_start,
                        int64_t dst_step) {
  const T* ps = src.data<T>();
  T* pd = dst.data<T>();
  parallel_for(src.device(), outer * len * inner, [=] ANIMA_HD(int64_t i) {
    int64_t in = i % inner;
    int64_t k = (i / inner) % len;
    int64_t o = i / (inner * len);
    pd[(o * dst_len + dst_start + k * dst_step) * inner + in] =
        ps[(o * src_len + src_start + k * src_step) * inner + in];
  });
}

void block_copy(const Tensor& src, const Tensor& dst, int dim, int64_t len, int64_t src_start, int64_t src_step,
                int64_t dst_start, int64_t dst_step) {
  const Shape& ss = src.shape();
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= ss[d];
  for (int d = dim + 1; d < ss.ndim; ++d) inner *= ss[d];
  if (src.device().is_cpu() && src_step == 1 && dst_step == 1) {
    // Contiguous runs of len * inner elements: one memcpy per outer index.
    size_t es = dtype_size(src.dtype()), run = size_t(len * inner) * es;
    const char* ps = static_cast<const char*>(src.data_ptr());
    char* pd = static_cast<char*>(dst.data_ptr());
    int64_t src_len = ss[dim], dst_len = dst.shape()[dim];
    cpu_for_rows(outer, len * inner, [=](int64_t o) {
      std::memcpy(pd + size_t((o * dst_len + dst_start) * inner) * es,
                  ps + size_t((o * src_len + src_start) * inner) * es, run);
    });
    return;
  }
  dispatch_dtype(src.dtype(), [&](auto zero) {
    strided_block_copy<decltype(zero)>(src, dst, outer, len, inner, ss[dim], src_start, src_step, dst.shape()[dim],
                                       dst_start, dst_step);
  });
}

}  // namespace detail

Tensor permute(const Tensor& x, const std::vector<int>& perm) {
  const Shape& s = x.shape();
  ANIMA_CHECK(int(perm.size()) == s.ndim, "permute: ", perm.size(), " dims given for shape ", s.str());
  std::vector<bool> seen(s.ndim, false);
  detail::PermuteIndex idx{};
  idx.ndim = s.ndim;
  auto st = contiguous_strides(s);
  Shape out_shape = s;
  for (int d = 0; d < s.ndim; ++d) {
    int p = s.wrap_dim(perm[d], "permute");
    ANIMA_CHECK(!seen[p], "permute: dimension ", p, " repeated in the permutation");
    seen[p] = true;
    out_shape[d] = s[p];
    idx.out_extent[d] = s[p];
    idx.in_stride[d] = st[p];
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_dtype(x.dtype(), [&](auto zero) { detail::permute_typed<decltype(zero)>(x, out, idx); });
  return out;
}

std::vector<int> transpose_permutation(const Shape& shape, int dim0, int dim1) {
  std::vector<int> perm(shape.ndim);
  for (int d = 0; d < shape.ndim; ++d) perm[d] = d;
  std::swap(perm[shape.wrap_dim(dim0, "transpose")], perm[shape.wrap_dim(dim1, "transpose")]);
  return perm;
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  return permute(x, transpose_permutation(x.shape(), dim0, dim1));
}

namespace detail {
template <class T>
void flip_typed(const Tensor& x, const Tensor& out, int64_t extent, int64_t inner) {
  const T* px = x.data<T>();
  T* po = out.data<T>();
  parallel_for(x.device(), x.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t in = i % inner, k = (i / inner) % extent, o = i / (inner * extent);
    po[i] = px[(o * extent + (extent - 1 - k)) * inner + in];
  });
}
}  // namespace detail

Tensor flip(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "flip");
  int64_t inner = 1;
  for (int k = d + 1; k < x.dim(); ++k) inner *= x.shape()[k];
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  dispatch_dtype(x.dtype(), [&](auto zero) { detail::flip_typed<decltype(zero)>(x, out, x.shape()[d], inner); });
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  ANIMA_CHECK(!xs.empty(), "concat: no tensors given");
  const Shape& s0 = xs[0].shape();
  int d = s0.wrap_dim(dim, "concat");
  Shape out_shape = s0;
  out_shape[d] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    check_same_device("concat", {&xs[0], &x});
    ANIMA_CHECK(x.dtype() == xs[0].dtype(), "concat: tensor ", k, " is ", dtype_name(x.dtype()), ", tensor 0 is ",
                dtype_name(xs[0].dtype()));
    ANIMA_CHECK(x.dim() == s0.ndim, "concat: tensor ", k, " has shape ", x.shape().str(), ", tensor 0 has ", s0.str());
    for (int j = 0; j < s0.ndim; ++j)
      ANIMA_CHECK(j == d || x.shape()[j] == s0[j], "concat: tensor ", k, " has shape ", x.shape().str(),
                  ", incompatible with ", s0.str(), " along dimension ", d);
    out_shape[d] += x.shape()[d];
  }
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    int64_t len = x.shape()[d];
    if (x.numel() > 0) detail::block_copy(x, out, d, len, 0, 1, at, 1);
    at += len;
  }
  return out;
}

SliceRange normalize_slice(int64_t extent, int64_t start, int64_t end, int64_t step, const char* op) {
  ANIMA_CHECK(step >= 1, op, ": step must be at least 1, got ", step);
  if (start < 0) start += extent;
  if (end < 0) end += extent;
  start = start < 0 ? 0 : (start > extent ? extent : start);
  end = end < start ? start : (end > extent ? extent : end);
  return {start, end, step, (end - start + step - 1) / step};
}

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step) {
  int d = x.shape().wrap_dim(dim, "slice");
  SliceRange r = normalize_slice(x.shape()[d], start, end, step, "slice");
  Shape out_shape = x.shape();
  out_shape[d] = r.length;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0) detail::block_copy(x, out, d, r.length, r.start, r.step, 0, 1);
  return out;
}

Tensor slice_backward(const Tensor& grad, const Shape& full_shape, int dim, int64_t start, int64_t end, int64_t step) {
  int d = full_shape.wrap_dim(dim, "slice_backward");
  SliceRange r = normalize_slice(full_shape[d], start, end, step, "slice_backward");
  Shape expect = full_shape;
  expect[d] = r.length;
  ANIMA_CHECK(grad.shape() == expect, "slice_backward: gradient ", grad.shape().str(),
              " does not match the slice shape ", expect.str());
  Tensor out = Tensor::empty(full_shape, grad.dtype(), grad.device());
  fill(out, 0.0);
  if (grad.numel() > 0) detail::block_copy(grad, out, d, r.length, 0, 1, r.start, r.step);
  return out;
}

}  // namespace anima::kernels
