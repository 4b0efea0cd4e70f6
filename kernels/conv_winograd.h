// Winograd's minimal filtering F(2x2, 3x3) for the CPU's 3x3 stride-1 convolutions (Lavin and
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//
// Each 2x2 block of output pixels of one channel is computed from the 4x4 input tile under it:
//   Y = A^T [ sum_c (G g_c G^T) . (B^T d_c B) ] A
// with g_c the 3x3 kernel of input channel c, d_c the tile, and . the element-wise product. The
// 16 element-wise products summed over c are 16 matrix products [Co x C] @ [C x tiles], 16
// multiply-adds per 2x2 outputs and input channel against im2col's 36: 2.25x fewer. The
// transforms only add, subtract and halve (exact in float, no fused multiply-adds), and every
// output is summed in the same order whichever thread computes it, so the bits depend neither
// on the thread count nor on the SIMD width. The rounding differs from a direct sum's: within
// a few float32 ulps of the operands' scale (tests/kernels/test_conv.cpp bounds it).
//
// Work runs in chunks of whole tile rows, one chunk per task (dynamic schedule): input transform,
// the 16 GEMMs, output transform, on buffers of a few MiB per thread.
#pragma once

#include <cstdint>

#include "kernels/conv_ops.h"
#include "tensor/tensor.h"

namespace anima::kernels::winograd {

// Whether F(2x2, 3x3) computes this convolution: a 3x3 kernel, stride 1, dilation 1, one group.
bool applies(const ops::ConvGeometry& g, int64_t groups);

// out [N, Co, g.Ho, g.Wo] = conv(x [N, g.C, g.H, g.W], w [Co, g.C, 3, 3]) + bias [Co] (or null).
// chunk_tiles: about how many tiles a chunk holds (whole tile rows; 0: about 4 MiB of transformed
// tiles; tests pass small ones to reach the chunked schedule on small images).
void forward(const ops::ConvGeometry& g, int64_t N, int64_t Co, const float* x, const float* w, const float* bias,
             float* out, int64_t chunk_tiles = 0);

// dw [Co, g.C, 3, 3] of that convolution from gout [N, Co, g.Ho, g.Wo] and x: with
// dM = A dy A^T for each 2x2 block dy of the output gradient, dw = G^T [ sum_t dM_t . V_t ] G,
// the 16 sums over the tiles t GEMMs [Co x tiles] @ [tiles x C]. The chunks (a fixed number of
// tiles, whatever the thread count) add to the sum one after another, each phase split among
// the threads.
void backward_weight(const ops::ConvGeometry& g, int64_t N, int64_t Co, const float* gout, const float* x, float* dw,
                     int64_t chunk_tiles = 0);

// The same on tensors (CPU, float32, contiguous; shapes checked by the caller): out of
// out_shape, and the weight gradient of w_shape.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ops::ConvGeometry& g, const Shape& out_shape);
Tensor conv2d_backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape, const ops::ConvGeometry& g);

}  // namespace anima::kernels::winograd
