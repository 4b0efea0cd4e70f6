// libFuzzer target: the image decoder (stb_image behind anima's checks and pixel limit) on
// arbitrary bytes. Every input must either decode or throw anima::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    anima::Tensor t = anima::decode_image(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)t.numel();
  } catch (const anima::Error&) {
  }
  return 0;
}
