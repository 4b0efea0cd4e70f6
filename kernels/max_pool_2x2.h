// The CPU row kernels of VGG's max pools (2x2, stride 2, no padding; kernels/resample.cu), a row
// of outputs at a time and branch-free, so that the loops vectorise (each runs at the CPU's
// vector width, kernels/cpu_isa.h): the same maxima and indices as resample.cu's window_argmax
// (its visiting order a, b, then c, d, and its NaN rule: a NaN wins and ends its window row), and
// the same gradients as its pool_backward_rows_cpu (test "max_pool2d 2x2 stride 2 on the CPU ...").
// [2, 64, 256, 256] forward + backward, 2 threads, Xeon: 49-52 ms -> 17-19 ms.
#pragma once
#include <cstdint>

namespace anima::kernels::detail {

// Output row of the window rows r0, r1 (W floats each; `first`: r0's flat index in the plane):
// Wo maxima and their flat indices.
void max_pool_2x2_row(const float* r0, const float* r1, int32_t first, int32_t W, int64_t Wo, float* out, int32_t* idx);

// Input row h (`self0` = its first flat index) of dx from its output row's gradient and indices.
void max_pool_2x2_backward_row(const float* g, const int32_t* idx, int32_t self0, int64_t W, int64_t Wo, float* dst);

}  // namespace anima::kernels::detail
