// The CPU reductions' summation order, in one place: the reductions of kernels/reduce.cu and the
// fused CPU softmax (kernels/softmax.cpp) both follow it, so the fused path gives the bits of the
// composed one (amax, exp, sum, div).
//
// A row of K elements is cut into chunks of kCpuChunk. A chunk is summed with eight accumulators
// by k mod 8, the tail into the first, then combined in order; the chunks are combined in order,
// starting from the identity. A reduction over a dimension that is not the last (K <= kCpuChunk)
// keeps the same order per output, vectorised along the inner dimension.
#pragma once
#include <cstdint>

#include "tensor/hd.h"

namespace anima::kernels::detail {

constexpr int64_t kCpuChunk = 4096;

// Element k of row `row` of a plain row-major matrix.
struct RowLoad {
  const float* in;
  int64_t K;
  ANIMA_HD float operator()(int64_t row, int64_t k) const { return in[row * K + k]; }
};

// One chunk [b, e) of a row.
template <class Op, class Load>
ANIMA_HD_INLINE float reduce_chunk(Load in, int64_t row, int64_t b, int64_t e, Op op) {
  float acc[8];
  for (float& a : acc) a = op.identity();
  int64_t k = b;
  for (; k + 8 <= e; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] = op.combine(acc[j], in(row, k + j));
  for (; k < e; ++k) acc[0] = op.combine(acc[0], in(row, k));
  float r = acc[0];
  for (int j = 1; j < 8; ++j) r = op.combine(r, acc[j]);
  return r;
}

// A whole row of K > 0 elements, one thread: what reduce_rows_cpu gives for it.
template <class Op, class Load>
ANIMA_HD_INLINE float reduce_row(Load in, int64_t row, int64_t K, Op op) {
  float acc = op.identity();
  for (int64_t b = 0; b < K; b += kCpuChunk)
    acc = op.combine(acc, reduce_chunk(in, row, b, b + kCpuChunk < K ? b + kCpuChunk : K, op));
  return op.finish(acc, K);
}

// Inner elements per block of the middle-dimension reductions: 8 accumulator rows of this many
// floats (8 KiB) stay in L1, and each input row is read 1 KiB at a time (with 64 floats, 256
// bytes, amax over C ran at 15 GB/s).
constexpr int64_t kMiddleBlock = 256;

// out[l] for l in [0, w <= kMiddleBlock): the reduction over k in [0, K <= kCpuChunk) of in(k, l),
// each in reduce_row's order for a row of K. The CPU's only (the accumulators are 8 KiB).
template <class Op, class In>
inline __attribute__((always_inline)) void reduce_middle_block(In in, int64_t K, int64_t w, Op op, float* out) {
  float acc[8][kMiddleBlock];
  for (auto& a : acc)
    for (float& v : a) v = op.identity();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8)
    for (int j = 0; j < 8; ++j)
      for (int64_t l = 0; l < w; ++l) acc[j][l] = op.combine(acc[j][l], in(k + j, l));
  for (; k < K; ++k)
    for (int64_t l = 0; l < w; ++l) acc[0][l] = op.combine(acc[0][l], in(k, l));
  // combined into acc[0] one accumulator row at a time, so that the loop over l vectorises (a
  // loop over j inside one over l ran scalar, with a branch per maximum: 70% of amax over C)
  for (int j = 1; j < 8; ++j)
    for (int64_t l = 0; l < w; ++l) acc[0][l] = op.combine(acc[0][l], acc[j][l]);
  for (int64_t l = 0; l < w; ++l) out[l] = op.finish(op.combine(op.identity(), acc[0][l]), K);
}

}  // namespace anima::kernels::detail
