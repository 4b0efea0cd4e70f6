// dataset_params, the section every model's config shares (the First Order Motion Model's keys):
// where the videos are, their frame shape, identity sampling, and the augmentations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/common/config_section.h"

namespace anima {

struct DatasetParams {
  std::string root_dir;
  std::vector<int64_t> frame_shape{256, 256, 3};
  bool id_sampling = false;
  std::string pairs_list;
  bool horizontal_flip = false, time_flip = false;
  float brightness = 0, contrast = 0, saturation = 0, hue = 0;
  std::vector<float> resize_ratio;  // resize_param.ratio [low, high]; empty: no random resize
  std::vector<int64_t> crop_size;   // crop_param.size [h, w] (a single number: square); empty: no crop
};

void read_dataset_params(ConfigSection& section, DatasetParams& out);

// The loader's options of a training split: the frame shape, identity sampling, repeats and the
// augmentations of `params`, seeded with the run's seed.
DatasetOptions training_dataset_options(const DatasetParams& params, int64_t num_repeats, uint64_t seed);

}  // namespace anima
