// grid_sample: out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) in [-1, 1]
// (x along the width), exactly as PyTorch's F.grid_sample for 4-D inputs:
//   modes bilinear and nearest (round half to even), padding zeros / border / reflection,
//   align_corners true (-1 and 1 are the centres of the corner pixels) or false (their outer edges).
// Backward gives the gradient for the input and for the grid (bilinear only; nearest has a zero
// grid gradient). The input gradient scatters: on the GPU with float atomics (fast), or, in the
// deterministic mode, by one thread per (n, c) plane walking the output in order, which is
// bit-reproducible; on the CPU always per plane.
// The CPU computes the taps of a block of output pixels once for all channels; it gives the same
// bits as the per-pixel bodies the GPU runs (set_grid_sample_pixelwise_cpu runs those on the CPU).
#pragma once
#include "kernels/grid_sample_ops.h"
#include "tensor/tensor.h"

namespace anima {

enum class GridMode { Bilinear, Nearest };
using GridPadding = kernels::ops::GridPadding;

struct GridSampleOptions {
  GridMode mode = GridMode::Bilinear;
  GridPadding padding = GridPadding::Zeros;
  bool align_corners = false;
};

}  // namespace anima

namespace anima::kernels {

Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleOptions& o);

struct GridSampleGrads {
  Tensor input, grid;
};
// need_input / need_grid select which gradients to compute.
GridSampleGrads grid_sample_backward(const Tensor& grad_out, const Tensor& input, const Tensor& grid,
                                     const GridSampleOptions& o, bool need_input, bool need_grid);

// true: the CPU runs the GPU's per-pixel bodies instead of the blocked path (the oracle of the
// blocked path's tests). Process-wide; returns the setting before.
bool set_grid_sample_pixelwise_cpu(bool on);

}  // namespace anima::kernels
