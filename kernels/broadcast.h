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

  // Offsets of output element i in each of the N inputs.
  ANIMA_HD void offsets(int64_t i, int64_t* off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t coord = i % extent[d];
      i /= extent[d];
      for (int k = 0; k < N; ++k) off[k] += coord * stride[k][d];
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
  return b;
}

}  // namespace anima::kernels
