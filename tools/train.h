// `anima train`: trains either model (the First Order Motion Model, or the refined-masking model
// when the config says `model: refined_mask`) from a config on a dataset in the FOMM
// layout, into a run folder:
//   <out>/config.yaml      the config as given
//   <out>/log.txt          a header (commit, device, seed, config) and one line of loss terms per
//                          logged step
//   <out>/vis/epoch_NNNN.png  the epoch's last batch and the networks' outputs (tools/visualize.h)
//   <out>/curves.png       the loss curves so far, redrawn each epoch (tools/plot.h)
//   <out>/checkpoint.safetensors  models, optimisers, epoch, step and RNG state (atomic writes)
// Resuming from a checkpoint continues the same run, with the checkpoint's seed: the same numbers
// as an uninterrupted run. SIGINT, SIGTERM and SIGHUP save a checkpoint and stop cleanly (a second
// signal stops at once); a non-finite loss stops the run naming the term, and non-finite weights
// are never saved (the previous checkpoint is kept).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace anima::tools {

struct TrainOptions {
  std::string config, out, data, checkpoint, vgg, device = "auto";
  // A new run starting from these weights (an anima or an official PyTorch checkpoint; modules
  // only: epoch 0, fresh optimisers), e.g. a 256x256 model fine-tuned at 512x512.
  std::string init_from;
  // Absent: 0 for a new run, the checkpoint's for a resumed one (a different one is an error).
  std::optional<uint64_t> seed;
  // An --out that already holds a run (log.txt, checkpoint.safetensors) is refused unless `resume`
  // (continue from its checkpoint) or `force` (start over in it).
  bool resume = false, force = false;
  int workers = 2;
  int64_t max_steps = -1;  // stop after this many steps in total (for tests and quick runs)
  int log_every = 10;
  int epochs = -1;     // override train_params.num_epochs
  bool quiet = false;  // no progress bar
  // Numeric modes of the GPU backends for this run (kernels/math_mode.h; --deterministic,
  // --tf32 off), written in the log's header: only deterministic algorithms (a run repeats bit
  // for bit on one GPU), strict FP32 convolutions instead of TF32 (to compare with a CPU run).
  bool deterministic = false;
  bool strict_fp32 = false;
};

int train(const TrainOptions& options);

}  // namespace anima::tools
