// Frames between files and the models: what animate and reconstruct read and write.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/video_io.h"
#include "tensor/tensor.h"

namespace anima {

// uint8 [H, W, 3] -> float [1, 3, h, w] in [0, 1] on `device` (bilinear resize when the size
// differs).
Tensor prepare_frame(const Tensor& image, int64_t h, int64_t w, Device device);
// [1, 3, h, w] (any device) -> uint8 [h, w, 3] on the CPU.
Tensor frame_to_image(const Tensor& batch_item);
// Frames (uint8 [H, W, 3]) to `out`: an .mp4 or .gif (at fps, 25 when 0: image strips and frame
// folders carry no rate), else a folder of lossless PNG frames 00000.png, 00001.png, ...
void write_frames(const std::string& out, const std::vector<Tensor>& frames, double fps);
// The same, one frame at a time (memory does not grow with the video): an .mp4 or .gif through a
// VideoWriter (the file appears at close(); without close() no file is left), else PNG frames
// written into the folder as they come.
class FrameWriter {
 public:
  FrameWriter(const std::string& out, double fps);
  ~FrameWriter();
  void add(const Tensor& frame);
  void close();
  int64_t count() const { return count_; }

 private:
  std::string out_;
  std::unique_ptr<VideoWriter> video_;
  int64_t count_ = 0;
};
// Checks, before any work, that `out` can take write_frames' output: an .mp4 or .gif in a
// writable folder (and a build with video IO), or a folder (created now). Any other extension
// (.avi, .png, ...) is an error naming the formats. Errors start with `command`.
void prepare_frames_output(const std::string& out, const char* command);
// An image, or frame `frame` of a video in any form (data/video_io.h read_any_video).
Tensor read_source_image(const std::string& path, int frame);

}  // namespace anima
