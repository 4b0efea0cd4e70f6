// Process-wide numeric switches, read by the GPU backends and some CPU kernels.
// - allow_tf32 (default on, as PyTorch for convolutions): cuDNN convolutions may use TF32 tensor
//   cores (10-bit mantissa products, FP32 accumulation). Off: strict FP32 (CUDNN_FMA_MATH).
//   Matmul (cuBLAS) is always strict FP32, as PyTorch's default.
// - deterministic (default off): pick only deterministic cuDNN algorithms and avoid float atomics,
//   so a run repeats bit for bit on the same GPU; on the CPU, keep the summation orders that
//   deterministic training's committed digest was checked with (kernels/conv_im2col.h).
#pragma once
#include <string>

namespace anima {

bool allow_tf32();
void set_allow_tf32(bool on);
bool deterministic();
void set_deterministic(bool on);
// "TF32 convolutions on, deterministic off": for run-log headers and `anima info`.
std::string math_mode_report();

// Sets both switches for a scope and restores the previous values when it ends.
class MathModeScope {
 public:
  MathModeScope(bool allow_tf32_on, bool deterministic_on);
  ~MathModeScope();
  MathModeScope(const MathModeScope&) = delete;
  MathModeScope& operator=(const MathModeScope&) = delete;

 private:
  bool previous_tf32_, previous_deterministic_;
};

}  // namespace anima
