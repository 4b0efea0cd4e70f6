// libFuzzer target: the video reader (FFmpeg's demuxers and decoders behind anima's checks, pixel
// and frame limits) on arbitrary bytes, given to it as a file. Every input must either decode or
// throw anima::Error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/media_limits.h"
#include "data/video_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool limited = [] {  // small limits: a fuzzer's input must not ask for gigabytes
    anima::set_media_limits(anima::MediaLimits{1 << 20, 64});
    return true;
  }();
  (void)limited;
  int fd = memfd_create("fuzz.mp4", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) == ssize_t(size)) {
    // the extension picks no demuxer: FFmpeg probes the bytes
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
      anima::for_each_video_file_frame(path, [](const anima::Tensor& f, double) { (void)f.numel(); });
    } catch (const anima::Error&) {
    }
  }
  close(fd);
  return 0;
}
