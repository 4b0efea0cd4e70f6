// Video files through FFmpeg's libraries (libavformat, libavcodec, libswscale): any container
// and codec the system FFmpeg reads, decoded to RGB uint8 frames [H, W, 3]; and mp4 (H.264 via
// libx264 when the system FFmpeg has it, else MPEG-4 part 2; yuv420p) or GIF output. Every FFmpeg
// error is an anima::Error with the file name and av_strerror's text; resources are released on
// every path (RAII), so a truncated or corrupt file is an exception, never a crash or a leak.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

struct VideoData {
  std::vector<Tensor> frames;  // uint8 [H, W, 3]
  double fps = 0;
};

// Decodes up to max_frames frames (all when negative).
VideoData read_video(const std::string& path, int64_t max_frames = -1);
// Any of the forms a video comes in: a video file (read_video; .mp4 .gif .mov .webm .avi .mkv), an
// image strip (frames side by side, square: an image whose width is k >= 2 times its height,
// as the First Order Motion Model's .png layout), a single image (one frame), or a folder of
// frame images (sorted by name). fps is the file's, else 0.
VideoData read_any_video(const std::string& path);

// File kinds by extension, case-insensitive ("clip.MP4" -> "mp4"; "" without an extension).
std::string lower_extension(const std::string& path);
bool is_video_file_name(const std::string& path);  // .mp4 .gif .mov .webm .avi .mkv
bool is_image_file_name(const std::string& path);  // .png .jpg .jpeg .bmp
// An image of h x w pixels holds square frames side by side (w = k h, k >= 2).
bool is_square_strip(int64_t h, int64_t w);
// The names in a folder, hidden ones (starting with '.') left out, sorted; an error names the folder.
std::vector<std::string> sorted_folder_names(const std::string& dir);

// Number of decodable frames (decodes the stream; exact).
int64_t probe_video(const std::string& path);

// Writes frames (uint8 [H, W, 3], all the same size) at `fps`. The container follows the
// extension: .mp4 (H.264 with constant quality `crf`, 0..51, lower is better) or .gif.
// Odd sizes are padded by one pixel for yuv420p. Written to a temporary file, then renamed.
void write_video(const std::string& path, const std::vector<Tensor>& frames, double fps, int crf = 18);

// The same, one frame at a time: the encoder holds no more than a frame, so memory does not grow
// with the video. The file appears (renamed from a temporary) at close(); a writer destroyed
// before close() (an error on the way) removes its temporary file.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, double fps, int crf = 18);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  void add(const Tensor& frame);  // uint8 [H, W, 3], the size of the first
  void close();
  int64_t count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decodes a video file frame by frame, calling on_frame(frame uint8 [H, W, 3], fps) in order
// with one frame in memory at a time.
void for_each_video_file_frame(const std::string& path, const std::function<void(const Tensor&, double)>& on_frame);
// Any form of read_any_video, frame by frame (a file is streamed; a strip is one image).
// Returns the number of frames.
int64_t for_each_video_frame(const std::string& path, const std::function<void(const Tensor&, double)>& on_frame);

// Whether the linked FFmpeg has an H.264 encoder (libx264).
bool has_h264_encoder();

// False in a build without FFmpeg (make VIDEO=0, as the GPU-check bundle): then read_video,
// probe_video and write_video throw an Error saying so; strips, frame folders and single images
// are still read by read_any_video.
bool built_with_video();

}  // namespace anima
