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
// F(4x4, 3x3) (conv_winograd_f4.cpp) computes 4x4 output blocks from 6x6 input tiles: 36
// products per 16 outputs and input channel, 4x fewer than im2col's 144 and 1.8x fewer than
// F(2x2)'s 64, at the price of larger transforms and rounding: its transforms scale by 4, 5 and
// 1/6, so its error is about ten times F(2x2)'s: up to about 10 eps times the sum of the
// products' magnitudes with many channels, 28 with one, against F(2x2)'s 0.8
// (tests/kernels/test_conv_winograd.cpp bounds both). Its transforms round, but in a fixed order
// at every SIMD width and thread count, so its bits are as repeatable as F(2x2)'s. The forward
// pass (and so the input gradient, a forward convolution of the output gradient) takes it on
// maps where it pays (choose_tile); the weight gradient always runs F(2x2).
//
// Work runs in chunks of whole tile rows, one chunk per task (dynamic schedule): input transform,
// the 16 (36) GEMMs, output transform, on buffers of a few MiB per thread (F(4x4): chunks of at
// least 256 tiles, 36 (C + Co) floats each, so 18 MiB for 3x3 256->256).
#pragma once

#include <cstdint>

#include "kernels/conv_ops.h"
#include "tensor/tensor.h"

namespace anima::kernels::winograd {

// Whether F(2x2, 3x3) computes this convolution: a 3x3 kernel, stride 1, dilation 1, one group.
bool applies(const ops::ConvGeometry& g, int64_t groups);

// The output block: 2x2 or 4x4; Auto: choose_tile's.
enum class Tile { Auto, F2x2, F4x4 };
// F(4x4, 3x3) where both sides of the output have kF4MinSide pixels and both sides of the
// convolution kF4MinChannels channels, or on maps from kF4WideMinSide with kF4WideChannels input
// and output channels together and kF4WideMinBlocks 4x4 blocks in the batch
// (f4_pays_on_small_maps: there it also beats im2col, below Auto's usual 1024 2x2 blocks; VGG's
// 3x3 256->256 at 16x16, batch 4: 6.2 ms against im2col's 8.8; at batch 1, 16 blocks, it loses:
// 3x3 1024->256 at 16x16, 12 ms against 9); F(2x2, 3x3) elsewhere: on smaller maps with many
// channels its 36 transformed kernel matrices (4x the weights) cost more than its products save
// (bench/RESULTS.md, "Winograd F(4x4, 3x3)"). Deterministic mode keeps F(2x2, 3x3) and Auto's
// earlier choices everywhere: its bits are the same on every CPU either way, and so it keeps the
// trajectory its committed checkpoint digest and the README's demo figures were made with.
constexpr int64_t kF4MinSide = 32, kF4MinChannels = 32;
constexpr int64_t kF4WideMinSide = 16, kF4WideChannels = 384, kF4WideMinBlocks = 64;
bool f4_pays_on_small_maps(const ops::ConvGeometry& g, int64_t N, int64_t Co);
Tile choose_tile(const ops::ConvGeometry& g, int64_t N, int64_t Co);

// out [N, Co, g.Ho, g.Wo] = conv(x [N, g.C, g.H, g.W], w [Co, g.C, 3, 3]) + bias [Co] (or null).
// chunk_tiles: about how many tiles a chunk holds (whole tile rows; 0: about 1-4 MiB of transformed
// tiles, F(4x4) at least 256 tiles; tests pass small ones to reach the chunked schedule on small
// images).
void forward(const ops::ConvGeometry& g, int64_t N, int64_t Co, const float* x, const float* w, const float* bias,
             float* out, int64_t chunk_tiles = 0, Tile tile = Tile::Auto);

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
