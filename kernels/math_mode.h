// Process-wide numeric switches, read by the GPU backends.
// - allow_tf32 (default on, as PyTorch for convolutions): cuDNN convolutions may use TF32 tensor
//   cores (10-bit mantissa products, FP32 accumulation). Off: strict FP32 (CUDNN_FMA_MATH).
//   Matmul (cuBLAS) is always strict FP32, as PyTorch's default.
// - deterministic (default off): pick only deterministic cuDNN algorithms and avoid float atomics,
//   so a run repeats bit for bit on the same GPU.
#pragma once

namespace anima {

bool allow_tf32();
void set_allow_tf32(bool on);
bool deterministic();
void set_deterministic(bool on);

}  // namespace anima
