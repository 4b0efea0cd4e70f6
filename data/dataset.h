// Video datasets in the First Order Motion Model's on-disk layout: a root with train/ and test/,
// each video being
//   (a) a folder of frames (png/jpg, sorted by name),
//   (b) one image holding all frames side by side horizontally (the .png strip layout), or
//   (c) a video file (.mp4, .gif, .mov, .webm, .avi, .mkv), decoded with FFmpeg (data/video_io.h).
// Frames are float32 RGB [3, H, W] in [0, 1], resized (bilinear, align_corners = false) to the
// configured frame shape when they differ. Image formats are decided from the bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/clip_augment.h"
#include "kernels/color.h"
#include "tensor/tensor.h"

namespace anima {

struct DatasetOptions {
  int64_t frame_h = 256, frame_w = 256;
  bool id_sampling = false;  // draw an identity first (name before the first '#'), then a video
  int64_t num_repeats = 1;   // the list of videos (or identities) repeats this often per epoch
  bool horizontal_flip = false, time_flip = false;
  float brightness = 0, contrast = 0, saturation = 0, hue = 0;  // colour jitter strengths
  // FOMM's resize_param / crop_param (data/clip_augment.h), applied after the flips and before
  // the jitter as augmentation.py orders them; the result is resampled (bilinear) back to the
  // frame shape when the crop size differs from it.
  ResizeCropParams resize_crop;
  uint64_t seed = 0;
};

struct VideoEntry {
  std::string name, path;
  enum class Kind { FrameFolder, Strip, VideoFile } kind;
};

class VideoDataset {
 public:
  // Lists and probes the videos of root/split. Unreadable entries are skipped with one warning
  // each (counted in skipped()); no readable video at all is an error naming the folder.
  VideoDataset(const std::string& root, const std::string& split, DatasetOptions options);

  int64_t size() const { return int64_t(videos_.size()); }
  int64_t skipped() const { return skipped_; }
  const std::vector<VideoEntry>& videos() const { return videos_; }
  const DatasetOptions& options() const { return options_; }
  // Items per epoch: videos (or identities with id_sampling) times num_repeats.
  int64_t epoch_length() const;

  // All frames of video i: [T, 3, H, W].
  Tensor load_video(int64_t i) const;
  // Frames `indices` of video i: [len, 3, H, W] (reads only those frames from a frame folder).
  Tensor load_frames(int64_t i, const std::vector<int64_t>& indices) const;
  // The number of frames of video i if it is known without decoding (a frame folder), else -1.
  int64_t frame_count_without_decoding(int64_t i) const;

  // Training item `item` of `epoch`: two distinct frames of one video, augmented. Depends only
  // on (seed, epoch, item).
  struct Pair {
    Tensor source, driving;  // [3, H, W]
    int64_t video = 0, source_frame = 0, driving_frame = 0;
  };
  Pair training_pair(uint64_t epoch, int64_t item) const;
  // The order of items in an epoch (a seeded permutation).
  std::vector<int64_t> epoch_order(uint64_t epoch) const;

 private:
  std::vector<VideoEntry> videos_;
  std::vector<std::vector<int64_t>> identities_;  // video indices per identity
  DatasetOptions options_;
  int64_t skipped_ = 0;
};

// Animation pairs (source video, driving video) by index into a dataset:
// - from a csv with a header naming the columns "source" and "driving" (video names as listed in
//   the dataset, with or without extension), as FOMM's pairs files;
// - or `count` random pairs of different identities drawn with `seed`.
std::vector<std::pair<int64_t, int64_t>> animation_pairs_from_csv(const VideoDataset& ds, const std::string& csv_path);
std::vector<std::pair<int64_t, int64_t>> random_animation_pairs(const VideoDataset& ds, int64_t count, uint64_t seed);

// The identity of a video name: the part before the first '#' (the whole name if none).
std::string identity_of(const std::string& name);

}  // namespace anima
