#include "data/image_io.h"
#include "data/jpeg_decode.h"
#include "data/media_limits.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace anima {

std::string sniff_image_format(const std::string& b) {
  auto starts = [&](const char* magic, size_t n) { return b.size() >= n && std::memcmp(b.data(), magic, n) == 0; };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "png";
  if (starts("\xff\xd8\xff", 3)) return "jpeg";
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return "gif";
  if (starts("BM", 2)) return "bmp";
  return "unknown";
}

namespace {
uint32_t be32(const std::string& b, size_t at) {
  auto u = [&](size_t k) { return uint32_t(static_cast<unsigned char>(b[at + k])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

// Every chunk before IEND must fit in the file. stb_image grows its IDAT buffer to a chunk's
// declared length before reading it: a 132-byte file declaring a 1.7 GB IDAT made it reallocate
// 2 GiB (the image fuzzer's out-of-memory finding, fuzz/corpus/image/png-idat-oversize).
void check_png_chunks(const std::string& b, const std::string& what) {
  size_t at = 8;  // after the signature
  while (at + 8 <= b.size()) {
    uint64_t length = be32(b, at);
    std::string type = b.substr(at + 4, 4);
    size_t left = b.size() - at - 8;
    ANIMA_CHECK(length + 4 <= left, what, ": cannot decode image (corrupt PNG): chunk '", printable(type), "' at byte ",
                at, " declares ", length, " bytes, the file has ", left < 4 ? 0 : left - 4, " left");
    if (type == "IEND") return;
    at += 12 + size_t(length);
  }
}
}  // namespace

Tensor decode_image(const std::string& bytes, const std::string& what) {
  ANIMA_CHECK(bytes.size() < (size_t(1) << 31), what, ": file too large for the image decoder");
  int w = 0, h = 0, channels = 0;
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  // Ask for 3 channels: stb converts grey and grey+alpha to RGB and drops alpha.
  // Only the formats datasets and photos come in are decoded: stb_image's other decoders (PNM,
  // PSD, TGA, HDR, PIC) are not exposed to files from outside (fuzzing found a heap overflow in
  // its 16-bit PNM path, issue 19).
  std::string format = sniff_image_format(bytes);
  ANIMA_CHECK(format != "unknown", what, ": not an image anima reads (PNG, JPEG, BMP or GIF, told by the bytes)");
  if (format == "jpeg") return decode_jpeg(bytes, what);  // libjpeg-turbo, not stb (data/jpeg_decode.h)
  if (format == "png") check_png_chunks(bytes, what);
  // The declared size first: a few bytes can declare gigapixels.
  if (stbi_info_from_memory(data, int(bytes.size()), &w, &h, &channels)) {
    check_image_size(w, h, what);
  } else if (bytes.size() >= 24 && sniff_image_format(bytes) == "png" && bytes.compare(12, 4, "IHDR") == 0) {
    // stb refuses sizes whose byte count overflows an int before reporting them: read the IHDR
    auto be32 = [&](size_t at) {
      return (int64_t(data[at]) << 24) | (int64_t(data[at + 1]) << 16) | (int64_t(data[at + 2]) << 8) | data[at + 3];
    };
    check_image_size(be32(16), be32(20), what);
  }
  stbi_uc* pixels = stbi_load_from_memory(data, int(bytes.size()), &w, &h, &channels, 3);
  ANIMA_CHECK(pixels != nullptr, what, ": cannot decode image (format from the bytes: ", sniff_image_format(bytes),
              "): ", stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  Tensor t = Tensor::empty(Shape{h, w, 3}, DType::U8);
  std::memcpy(t.data_ptr(), pixels, size_t(w) * size_t(h) * 3);
  stbi_image_free(pixels);
  return t;
}

Tensor read_image(const std::string& path) { return decode_image(read_file_bytes(path), path); }

namespace {
void append_bytes(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size_t(size));
}
bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  std::string tail = s.substr(s.size() - suffix.size());
  for (char& c : tail) c = char(std::tolower(static_cast<unsigned char>(c)));
  return tail == suffix;
}
}  // namespace

void write_image(const std::string& path, const Tensor& image, int jpeg_quality) {
  check_dtype("write_image", image, DType::U8);
  ANIMA_CHECK(image.dim() == 3 && (image.size(2) == 3 || image.size(2) == 1), "write_image: ", path,
              ": expected [H, W, 3] or [H, W, 1], got ", image.shape().str());
  Tensor host = image.is_cuda() ? raw::to_device(image, Device::cpu()) : image;
  int h = int(host.size(0)), w = int(host.size(1)), c = int(host.size(2));
  std::string bytes;
  int ok = 0;
  if (ends_with(path, ".png")) {
    ok = stbi_write_png_to_func(append_bytes, &bytes, w, h, c, host.data_ptr(), w * c);
  } else if (ends_with(path, ".jpg") || ends_with(path, ".jpeg")) {
    ANIMA_CHECK(jpeg_quality >= 1 && jpeg_quality <= 100, "write_image: JPEG quality ", jpeg_quality,
                " outside 1..100");
    ok = stbi_write_jpg_to_func(append_bytes, &bytes, w, h, c, host.data_ptr(), jpeg_quality);
  } else {
    ANIMA_FAIL("write_image: ", path, ": unknown extension (use .png, .jpg or .jpeg)");
  }
  ANIMA_CHECK(ok != 0, "write_image: ", path, ": encoding failed");
  write_file_atomic(path, bytes);
}

Tensor image_to_chw(const Tensor& image) {
  check_dtype("image_to_chw", image, DType::U8);
  ANIMA_CHECK(image.dim() == 3, "image_to_chw: expected [H, W, C], got ", image.shape().str());
  int64_t h = image.size(0), w = image.size(1), c = image.size(2);
  Tensor out = Tensor::empty(Shape{c, h, w});
  const uint8_t* p = image.data<uint8_t>();
  float* o = out.data<float>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) o[(k * h + y) * w + x] = float(p[(y * w + x) * c + k]) / 255.f;
  return out;
}

Tensor chw_to_image(const Tensor& chw) {
  check_dtype("chw_to_image", chw, DType::F32);
  ANIMA_CHECK(chw.dim() == 3, "chw_to_image: expected [C, H, W], got ", chw.shape().str());
  Tensor host = chw.is_cuda() ? raw::to_device(chw, Device::cpu()) : chw;
  int64_t c = host.size(0), h = host.size(1), w = host.size(2);
  Tensor out = Tensor::empty(Shape{h, w, c}, DType::U8);
  const float* p = host.data<float>();
  uint8_t* o = out.data<uint8_t>();
  for (int64_t k = 0; k < c; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        float v = p[(k * h + y) * w + x];
        v = std::isnan(v) ? 0.f : std::fmin(std::fmax(v, 0.f), 1.f);
        // v * 255 in float32, ties to even: numpy's rint in skimage's img_as_ubyte, which the
        // official demo uses (std::nearbyint rounds in the default mode, to nearest even).
        o[(y * w + x) * c + k] = uint8_t(std::nearbyint(v * 255.f));
      }
  return out;
}

}  // namespace anima
