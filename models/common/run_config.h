// The parts of a config that every model shares, in the First Order Motion Model's YAML layout:
// the dataset, the training schedule of train_params, and the counts of reconstruction_params and
// animate_params. Each model's config derives from RunConfig and its train_params from
// TrainSchedule, so the training loop and the commands read these typed fields straight from the
// parsed config: nothing is copied.
#pragma once
#include <string>
#include <vector>

#include "models/common/config_section.h"
#include "models/common/dataset_params.h"

namespace anima {

struct TrainSchedule {  // train_params
  int num_epochs = 100, num_repeats = 1;
  std::vector<int> epoch_milestones{60, 90};
  int batch_size = 16;
  int checkpoint_freq = 50;
  // The same bits on every x86-64 CPU and thread count, and deterministic GPU algorithms
  // (anima train --deterministic; kernels/cpu_blas.h, kernels/math_mode.h).
  bool deterministic = false;
};

struct RunConfig {
  DatasetParams dataset;
  int reconstruction_num_videos = 1000;  // reconstruction_params.num_videos
  int animate_num_pairs = 50;            // animate_params.num_pairs
  std::string text;                      // the YAML as read (saved in checkpoints and run folders)
  std::vector<std::string> warnings;     // unknown keys, suspicious values

  int64_t frame_h() const { return dataset.frame_shape[0]; }
  int64_t frame_w() const { return dataset.frame_shape[1]; }
};

// Reads the schedule's keys of a train_params section.
void read_train_schedule(ConfigSection& train_params, TrainSchedule& out);

// The checks every model's parser makes of the shared fields; errors name `what` and the key.
void check_run_config(const RunConfig& config, const TrainSchedule& schedule, const std::string& what);

}  // namespace anima
