// Order statistics per row, on the device, without a host round trip.
// kth_smallest(x [N, K], k [N] int32) -> [N]: the k[n]-th smallest value of row n (0-based),
// Rows must not contain NaN.
// CPU: std::nth_element per row (the plain reference). GPU: one block per row bisects the
// order-preserving 32-bit key of the answer (32 rounds of a block-wide count), so the result is
// exact and equal to the CPU's.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

Tensor kth_smallest(const Tensor& x, const Tensor& k);
// Lower median of each row: the ((K - 1) / 2)-th smallest, as torch.median.
Tensor row_median(const Tensor& x);
// The floor(q * (K - 1))-th smallest of each row ("lower" percentile), q in [0, 1].
Tensor row_percentile(const Tensor& x, double q);

}  // namespace anima::kernels
