// JPEG decoding with libjpeg-turbo (Debian's libjpeg62-turbo), the library Pillow and imageio use
// under the official FOMM code. stb_image's JPEG decoder is not used on files from outside: its
// Huffman decoder reads out of bounds on malformed tables (fuzzing found it, issue 19).
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace anima {

// [H, W, 3] uint8 RGB (grey and CMYK converted); the declared size is checked against the media
// limits before any pixel is decoded. Errors name `what` and libjpeg's message.
Tensor decode_jpeg(const std::string& bytes, const std::string& what);

}  // namespace anima
