// Matrix products (no autograd). float32.
//   a: [..., M, K] (or [..., K, M] with trans_a), b: [..., K, N] (or [..., N, K] with trans_b)
//   result: [..., M, N]
// Batch dimensions ("...") must be equal, or one operand is a plain matrix used for every batch.
// CPU: OpenBLAS cblas_sgemm per batch. GPU: cuBLAS sgemm / strided-batched sgemm, strict FP32
// (no TF32), as PyTorch's default for matmul.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// The naive triple loop: the readable specification the BLAS paths are tested against.
Tensor matmul_reference(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace anima::kernels
