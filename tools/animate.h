// `anima animate` and `anima reconstruct` for the First Order Motion Model.
#pragma once
#include <string>

namespace anima::tools {

struct AnimateOptions {
  std::string checkpoint, config;  // config: default, the one stored in the checkpoint
  std::string source, driving, out, save_intermediates, device = "auto";
  int best_frame = 0;   // the driving frame used as the reference of the relative motion
  int batch = 8;        // frames per forward pass
  bool side_by_side = false;
  bool adapt_scale = false, no_relative = false;  // override the config's normalization_params
};
int animate(const AnimateOptions& options);

struct ReconstructOptions {
  std::string checkpoint, config, data, out, device = "auto";
  int max_videos = -1, batch = 8;
};
int reconstruct(const ReconstructOptions& options);

}  // namespace anima::tools
