// `anima animate` and `anima reconstruct`, for every model: the config (--config, else the one
// stored in the checkpoint) says which (models/registry.h); the commands use the model's Animator.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data/frame_io.h"
#include "tensor/tensor.h"

namespace anima::tools {

struct AnimateOptions {
  std::string checkpoint, config;  // config: default, the one stored in the checkpoint
  std::string source, driving, out, save_intermediates, device = "auto";
  // Pairs mode (the official FOMM animate mode), instead of --source/--driving: animates the
  // first frame of each pair's source video of the test split of `data` (default:
  // dataset_params.root_dir) with its driving video, for up to animate_params.num_pairs pairs:
  // those of the csv `pairs` (columns source, driving), else of dataset_params.pairs_list, else
  // pairs drawn at random (seed 0, across identities when the names carry them). Writes
  // <out>/<source>-<driving>.mp4 (a PNG folder without video IO) and <out>/pairs.csv.
  bool pairs_mode = false;
  std::string pairs, data;
  int num_pairs = -1;  // -1: animate_params.num_pairs
  int best_frame = 0;  // the driving frame used as the reference of the relative motion
  int batch = 8;       // frames per forward pass
  bool side_by_side = false;
  bool adapt_scale = false, no_relative = false;  // override the config's normalization_params
  std::string ablation = "full";                  // refined-mask: full, no_pert, no_ref, no_id
  int source_frame = 0;                           // when --source is a video: the frame used as the source image
  bool figure_row = false;  // write the model's figure per frame (FOMM: keypoints; refined-mask: figure 3's row)
  std::string grid;         // a PNG grid of up to 6 evenly spaced frames (masks/keypoints drawn)
};
int animate(const AnimateOptions& options);

struct ReconstructOptions {
  std::string checkpoint, config, data, out, device = "auto";
  int max_videos = -1, batch = 8;
  std::string ablation = "full";  // refined-mask: full, no_pert, no_ref, no_id
  // The first driving frame; -1: the model's convention (FOMM 0, refined-mask 1). Give 1 to score
  // every method of a table on the same frames.
  int first_driving = -1;
  // "copy-source": no model; every generated frame is the video's first frame, the trivial
  // baseline that a model must beat (needs --data and --size, no checkpoint).
  std::string baseline;
  int size = 0;  // frame size of the baseline
};
int reconstruct(const ReconstructOptions& options);

// The config to build a checkpoint's model from: the file `config` if given, else the text stored
// in the checkpoint's metadata. Returns {text, name for messages}.
std::pair<std::string, std::string> model_config_text(const std::string& checkpoint, const std::string& config);

// Up to n indices spread evenly over [0, count).
std::vector<int64_t> evenly_spaced(int64_t count, int64_t n);

// The reconstruction loop over the test split (at most o.max_videos): the driving
// frames are first_driving.. (the official FOMM script drives with every frame, 0; the
// refined-mask paper with every frame but the first, 1); per batch of o.batch driving frames, per_batch(first frame [1,
// 3, h, w], driving [B, 3, h, w], first batch of a new video, visualisation frames to append to) returns the generated
// frames [B, 3, h, w]. Writes <out>/<video>.mp4 (the visualisation), <out>/frames/<video>/NNNNN.png (the generated
// frames, lossless, for `anima evaluate`) and <out>/reconstruction.csv (per-video mean L1).
using ReconstructBatch =
    std::function<Tensor(const Tensor& source, const Tensor& driving, bool new_video, std::vector<Tensor>& visual)>;
int reconstruct_test_videos(const ReconstructOptions& o, const std::string& root, int64_t h, int64_t w, Device device,
                            const std::string& label, int64_t first_driving, const ReconstructBatch& per_batch);

}  // namespace anima::tools
