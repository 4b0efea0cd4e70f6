// Index arithmetic for broadcasting: for each output element, the offsets of the inputs whose
// extents are 1 (or missing) along some output dimensions.
#pragma once
#include <cstdint>

#include "tensor/hd.h"
#include "tensor/shape.h"

namespace anima::kernels {

template <int N>
struct BroadcastIndex {
  int ndim = 0;
  int64_t extent[kMaxDims] = {};
  int64_t stride[N][kMaxDims] = {};  // input strides aligned to the output; 0 where broadcast

  // Offsets of output element i in each of the N inputs. Index is int64_t, or uint32_t when the
  // tensor is small enough (32-bit division is several times cheaper).
  template <class Index = int64_t>
  ANIMA_HD void offsets(int64_t i64, int64_t* off) const {
    Index i = Index(i64);
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      Index e = Index(extent[d]);
      Index coord = i % e;
      i /= e;
      for (int k = 0; k < N; ++k) off[k] += int64_t(coord) * stride[k][d];
    }
  }
};

// Plan for inputs `in[0..N)` broadcast to `out`.
template <int N>
BroadcastIndex<N> make_broadcast_index(const Shape& out, const Shape* const in[N]) {
  BroadcastIndex<N> b;
  b.ndim = out.ndim;
  for (int d = 0; d < out.ndim; ++d) b.extent[d] = out[d];
  for (int k = 0; k < N; ++k) {
    const Shape& s = *in[k];
    auto st = contiguous_strides(s);
    for (int d = 0; d < out.ndim; ++d) {
      int sd = s.ndim - out.ndim + d;
      b.stride[k][d] = (sd >= 0 && s[sd] != 1) ? st[sd] : 0;
    }
  }
  // Merge neighbouring dimensions that every input walks the same way (both broadcast, or both
  // contiguous), e.g. [N, C, H, W] + [1, C, 1, 1] becomes [N, C, H*W]: fewer divisions per element.
  int nd = 0;
  for (int d = 0; d < b.ndim; ++d) {
    bool merge = nd > 0;
    for (int k = 0; merge && k < N; ++k) merge = b.stride[k][nd - 1] == b.stride[k][d] * b.extent[d];
    if (merge) {
      b.extent[nd - 1] *= b.extent[d];
      for (int k = 0; k < N; ++k) b.stride[k][nd - 1] = b.stride[k][d];
    } else {
      b.extent[nd] = b.extent[d];
      for (int k = 0; k < N; ++k) b.stride[k][nd] = b.stride[k][d];
      ++nd;
    }
  }
  b.ndim = nd;
  return b;
}

}  // namespace anima::kernels
