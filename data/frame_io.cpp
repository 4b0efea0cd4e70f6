#include "data/frame_io.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <cstdio>

#include "data/image_io.h"
#include "data/video_io.h"
#include "kernels/resample.h"
#include "tensor/file_util.h"

namespace anima {

Tensor prepare_frame(const Tensor& image, int64_t h, int64_t w, Device device) {
  Tensor chw = image_to_chw(image);
  Tensor x = raw::view(chw, Shape{1, 3, chw.size(1), chw.size(2)});
  if (chw.size(1) != h || chw.size(2) != w) {
    InterpParams p;
    p.out_h = h;
    p.out_w = w;
    x = kernels::interpolate(x, p);
  }
  return raw::to_device(x, device);
}

Tensor frame_to_image(const Tensor& batch_item) {  // [1, 3, h, w] -> uint8 [h, w, 3]
  return chw_to_image(
      raw::view(raw::to_device(batch_item, Device::cpu()), Shape{3, batch_item.size(2), batch_item.size(3)}));
}

namespace {
// The extension of the path's last component, lower case ("" when none).
std::string extension_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string last = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = last.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = last.substr(dot);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}
}  // namespace

void prepare_frames_output(const std::string& out, const char* command) {
  ANIMA_CHECK(!out.empty(), command, ": --out is empty");
  std::string ext = extension_of(out);
  if (ext == ".mp4" || ext == ".gif") {
    ANIMA_CHECK(built_with_video(), command, ": ", out, ": this build has no video IO (VIDEO=0); give a folder");
    size_t slash = out.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : out.substr(0, slash));
    ANIMA_CHECK(::access(dir.c_str(), W_OK) == 0, command, ": cannot write ", out, " (", dir, ": ",
                std::strerror(errno), ")");
    remove_stale_temp_files(dir);
    return;
  }
  ANIMA_CHECK(ext.empty(), command, ": ", out, ": unknown output format '", ext,
              "' (.mp4, .gif, or a folder for PNG frames)");
  make_directories(out);
  ANIMA_CHECK(::access(out.c_str(), W_OK) == 0, command, ": cannot write into ", out, " (", std::strerror(errno), ")");
}

FrameWriter::FrameWriter(const std::string& out, double fps) : out_(out) {
  std::string ext = extension_of(out);
  if (ext == ".mp4" || ext == ".gif")
    video_ = std::make_unique<VideoWriter>(out, fps > 0 ? fps : 25.0);  // strips and frame folders carry no rate
  else
    make_directories(out);  // a folder of lossless PNG frames
}

FrameWriter::~FrameWriter() = default;

void FrameWriter::add(const Tensor& frame) {
  if (video_) {
    video_->add(frame);
  } else {
    char name[32];
    std::snprintf(name, sizeof name, "/%05lld.png", (long long)count_);
    write_image(out_ + name, frame);
  }
  ++count_;
}

void FrameWriter::close() {
  if (video_) video_->close();
}

void write_frames(const std::string& out, const std::vector<Tensor>& frames, double fps) {
  FrameWriter writer(out, fps);
  for (const Tensor& f : frames) writer.add(f);
  writer.close();
}

Tensor read_source_image(const std::string& path, int frame) {
  Tensor picked;  // only the wanted frame is kept (the video is streamed)
  int64_t n = for_each_video_frame(path, [&](const Tensor& f, double) {
    if (!picked.defined() && frame-- == 0) picked = f;
  });
  ANIMA_CHECK(picked.defined(), "animate: --source-frame ", frame + n, " outside ", path, "'s ", n, " frames");
  return picked;
}

}  // namespace anima
