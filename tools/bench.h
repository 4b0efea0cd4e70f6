// `anima bench ops|kernels`: times the framework's ops (forward, and forward+backward where they
// are differentiable) on the CPU and, when present, the GPU.
//   ops:     elementwise, reductions, softmax, matmul, layout copies, conv, norms, resampling, Adam
//   kernels: the image-animation kernels at the 256x256 shapes (grid_sample, keypoint heatmaps,
//            anti-alias pyramid, VGG perceptual loss, Poisson noise, mask perturbations, PriorityCut,
//            colour jitter); grid_sample and the perceptual loss report effective GB/s.
#pragma once
#include <string>
#include <vector>

namespace anima::tools {

struct BenchOptions {
  std::string suite = "ops";   // ops or kernels
  std::string device = "all";  // cpu, cuda or all
  int batch = 0;               // 0: 16 on the GPU, 2 on the CPU
  int repeats = 10;
  std::string filter;  // only ops whose name contains this
  std::string csv;     // append one row per op to this CSV file (empty: none)
};

int run_bench(const BenchOptions& options);

}  // namespace anima::tools

namespace anima::tools {

struct BenchModelOptions {
  std::string config = "configs/fomm-shapes-64.yaml";
  std::string device = "auto";
  int batch = 0;                  // 0: the config's batch size
  int steps = 3;                  // timed training steps and animation batches (after one warm-up each)
  std::vector<int> anim_batches;  // animation batch sizes to time (empty: the training batch)
  bool skip_train = false;        // time the animation only
};
// `anima bench model --model fomm|refined-mask`: training-step time and peak memory, and animation
// frames/s, for the model the config describes.
int bench_model(const BenchModelOptions& options);

// A file of the repository given relative to its root (configs/...): in the working directory,
// else beside the executable (<root>/build*/anima); an error naming both places when neither has it.
std::string find_config(const std::string& relative);

}  // namespace anima::tools
