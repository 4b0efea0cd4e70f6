// Still images through stb_image / stb_image_write.
// Images are uint8 tensors [H, W, 3] (RGB, row-major, as decoded). The format is decided from the
// file's bytes, never its name (real datasets hold PNG data named .jpg). Grey inputs are
// replicated to RGB; an alpha channel is dropped (as the First Order Motion Model does).
#pragma once
#include <string>

#include "tensor/file_util.h"
#include "tensor/tensor.h"

namespace anima {

// PNG, JPEG, BMP and GIF (first frame), told by the bytes; stb_image's other formats are refused
// (their decoders are not exposed to outside files).
Tensor read_image(const std::string& path);
Tensor decode_image(const std::string& bytes, const std::string& what);
// The container format from the magic bytes ("png", "jpeg", "gif", "bmp", or "unknown").
std::string sniff_image_format(const std::string& bytes);

// Writes [H, W, 3] or [H, W, 1] uint8 as PNG or JPEG (quality 1..100), chosen by the extension
// (.png, .jpg/.jpeg); atomically (temporary file and rename).
void write_image(const std::string& path, const Tensor& image, int jpeg_quality = 95);

// uint8 [H, W, C] -> float32 [C, H, W] in [0, 1], and back (rounded, clamped).
Tensor image_to_chw(const Tensor& image);
Tensor chw_to_image(const Tensor& chw);

}  // namespace anima
