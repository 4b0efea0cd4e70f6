// The CPU convolution as im2col + GEMM: conv.cpp's path for layers too wide for the direct
// kernels and outside Winograd's reach, and for 1x1 convolutions (a plain GEMM on x).
//
// Each image and group has a column matrix col [K = C*kh*kw, Q = Ho*Wo] (kernels/conv_ops.h), and
// out = W [Cog, K] @ col. The GEMMs run single-threaded, images and groups in parallel (each
// thread with its own buffers); a single GEMM (batch 1) parallelises its im2col / col2im and
// splits among the threads instead (cpu_sgemm, kernels/cpu_blas.h).
//
// Small maps put several images into one GEMM: OpenBLAS packs the whole weight matrix into its
// panel layout on every call, once per image for a few dozen columns each (VGG-19's 512->512
// layers at 8x8: 9.4 MB packed for 64 columns per image). So images whose maps have at most
// kBatchColumns / 2 pixels share a GEMM, their column matrices side by side: [K, images * Q]. The
// forward pass and the input gradient cut the batch into as many such GEMMs as there are threads
// (each thread packs the weights once); the weight gradient cuts each of its two fixed halves
// (so its sums still do not depend on the thread count). Each output of the forward pass and the
// input gradient is the same dot product as in a GEMM of its own, up to the kernel OpenBLAS picks
// for a matrix of that size, so default-mode bits may differ with the thread count; the weight
// gradient sums a run's images inside the GEMM instead of one GEMM after another, so its rounding
// differs. Deterministic mode keeps one image per GEMM: the order its committed checkpoint digest
// was checked with on Intel and AMD.
//
// One image of one group whose column matrix holds 2M floats or more (batch 1: the generators'
// 7x7 convolutions at 256x256) runs its forward pass in blocks of whole output rows instead,
// each thread building a block's columns (about 1 MiB) and running its GEMM while they are in its
// cache: 7x7 3->64 at 256x256, 11 ms against 18 for the whole matrix (38 MB). Default mode only.
//
// fomm-shapes-64's training step (batch 4), 2 threads, Xeon with AVX-512: 464-493 ms with one
// image per GEMM, 453-473 ms batched (3 alternating rounds, bench/RESULTS.md).

#pragma once

#include <cstdint>

#include "kernels/conv.h"
#include "kernels/conv_ops.h"
#include "tensor/tensor.h"

namespace anima::kernels {

// The geometry of one group of the convolution x [N, C, H, W] * w -> out.
ops::ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Shape& out, const Conv2dParams& p);

namespace im2col {

constexpr int64_t kBatchColumns = 1024;

// How many of N images share one GEMM: up to kBatchColumns columns, and with `per_thread` (the
// forward pass and the input gradient) no more than leaves each thread a GEMM; the weight
// gradient passes the images of one half and false, so that its sums do not depend on the
// thread count.
int64_t images_per_gemm(const ops::ConvGeometry& g, int64_t N, bool per_thread = true);

// Whether the forward pass runs in blocks of output rows (above): one image of one group, not 1x1,
// 2M+ column entries, default mode.
bool by_row_blocks(const ops::ConvGeometry& g, int64_t N, int64_t groups);
Tensor forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, const Shape& out_shape);
Tensor backward_input(const Tensor& gout, const Tensor& w, const Shape& x_shape, const Conv2dParams& p);
Tensor backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape, const Conv2dParams& p);

}  // namespace im2col
}  // namespace anima::kernels
