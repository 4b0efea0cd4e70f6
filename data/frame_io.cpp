#include "data/frame_io.h"

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

void write_frames(const std::string& out, const std::vector<Tensor>& frames, double fps) {
  std::string ext = out.size() > 4 ? out.substr(out.size() - 4) : "";
  if (ext == ".mp4" || ext == ".gif") {
    write_video(out, frames, fps > 0 ? fps : 25.0);  // image strips and frame folders carry no rate
    return;
  }
  make_directories(out);  // a folder of lossless PNG frames
  for (size_t i = 0; i < frames.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/%05zu.png", i);
    write_image(out + name, frames[i]);
  }
}

Tensor read_source_image(const std::string& path, int frame) {
  VideoData v = read_any_video(path);
  ANIMA_CHECK(frame >= 0 && frame < int(v.frames.size()), "animate: --source-frame ", frame, " outside ", path, "'s ",
              v.frames.size(), " frames");
  return v.frames[size_t(frame)];
}

}  // namespace anima
