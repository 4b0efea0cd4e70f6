// libFuzzer target: the image decoder (stb_image for PNG/BMP/GIF, libjpeg-turbo for JPEG, behind
// anima's checks and pixel limit) on arbitrary bytes. Every input must either decode or throw
// anima::Error. The pixel limit is 1 MP here (as FFmpeg's fuzzers cap pixels): a 4 KB file can
// declare 50 MP, whose decoding would take the fuzzer's time without reaching new code.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image_io.h"
#include "data/media_limits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool limited = [] {
    anima::set_media_limits(anima::MediaLimits{1 << 20, 64});
    return true;
  }();
  (void)limited;
  try {
    anima::Tensor t = anima::decode_image(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)t.numel();
  } catch (const anima::Error&) {
  }
  return 0;
}
