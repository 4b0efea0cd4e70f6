// 2-D convolution (cross-correlation, as PyTorch's conv2d), no autograd.
//   x: [N, C, H, W], weight: [Co, C / groups, kh, kw], bias: [Co] or undefined
//   out: [N, Co, Ho, Wo], Ho = (H + 2 pad_h - dil_h (kh - 1) - 1) / stride_h + 1 (likewise Wo)
// GPU: cuDNN, with the algorithm for each (shape, direction, math mode) chosen once by cuDNN's
// heuristics and cached, and the workspace taken from the caching allocator.
// CPU, four algorithms (row bodies in kernels/conv_ops.h), none with atomics, so each repeats
// bit for bit:
// - Winograd F(2x2, 3x3) and F(4x4, 3x3) (conv_winograd.h): 3x3 stride-1 convolutions of one
//   group with many channels, all three passes (the larger tile for the forward pass and the
//   input gradient on maps of 32x32 and more with 32+ channels on each side, and on 16x16 maps
//   with 384 channels together and 64 4x4 blocks: winograd::choose_tile); the default where it
//   pays (see CpuConvAlgo).
// - tiled direct kernels (stride 1): 16 adjacent outputs of up to 8 channels accumulate in
//   vector registers while the taps run; the input gradient is the same kernel run on the
//   output gradient with the flipped kernel. The default for stride-1 convolutions with few
//   output channels (the generators' output layers, the mask heads, the narrow demo networks).
// - direct rows: the same sums, one output, input or weight row at a time; the readable version
//   and the oracle of the tiled kernels, and the path of strided convolutions with few outputs.
// - im2col + OpenBLAS sgemm per image and group; the input gradient (col2im) adds the kernel
//   rows of one channel in a fixed order, channels in parallel. The default for convolutions
//   with many output channels, 1x1 and strided ones.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace anima {

// In namespace anima (not kernels) so that a call with these parameters finds the
// differentiable op by argument-dependent lookup, never the raw kernel.
struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  int groups = 1;
};

}  // namespace anima

namespace anima::kernels {

// Which CPU algorithm convolves. Auto (the default), for stride 1: first Winograd F(2x2, 3x3)
// (conv_winograd.h) for 3x3 kernels of one group where it pays (16+ channels on each side, 48
// together and 1024+ output blocks, or 384 together on 16x16 maps and more with 64+ 4x4 blocks
// (F(4x4)); the weight gradient
// also at any batch above 1, or from a block per 8 channels); then tiled up to 16 output channels per group (12 for the weight
// gradient; rows narrower than a 16-column tile only up to 4); direct rows for strided
// convolutions with at most 4 output channels per group; im2col for the rest (more channels,
// where the GEMM wins) and for 1x1 stride-1 convolutions. DirectTiled takes the tiled kernels wherever they apply and the rows
// elsewhere; Winograd takes Winograd wherever it applies and Auto's choice elsewhere.
// Process-wide; tests and benchmarks force one algorithm to compare them.
enum class CpuConvAlgo { Auto, Im2col, DirectRows, DirectTiled, Winograd };
void set_cpu_conv_algo(CpuConvAlgo algo);
CpuConvAlgo cpu_conv_algo();
// "auto", "im2col", "rows", "tiled", "winograd": the names `anima bench --cpu-conv` takes and the reports print.
const char* cpu_conv_algo_name(CpuConvAlgo algo);
// The algorithm of one of those names; throws naming the choices for any other.
CpuConvAlgo parse_cpu_conv_algo(const std::string& name);

// Output shape; throws naming the shapes if they do not fit together.
Shape conv2d_output_shape(const Shape& x, const Shape& weight, const Conv2dParams& p);

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p);
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& x_shape, const Conv2dParams& p);
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, const Conv2dParams& p);
// Sum of grad_out over N, H, W.
Tensor conv2d_backward_bias(const Tensor& grad_out);

// Direct seven-loop convolution with double accumulation: the specification (CPU only).
Tensor conv2d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p);

}  // namespace anima::kernels
