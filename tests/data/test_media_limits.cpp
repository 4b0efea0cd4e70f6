// The readers' pixel and frame limits (data/media_limits.h; issue 19, item 5): small files that
// declare huge images or many frames are refused before they are decoded.
#include <unistd.h>

#include <fstream>

#include "data/image_io.h"
#include "data/media_limits.h"
#include "data/video_io.h"
#include "tests/test_util.h"

using namespace anima;

namespace {
// Restores the process's limits at the end of a test.
struct LimitsScope {
  MediaLimits saved = media_limits();
  ~LimitsScope() { set_media_limits(saved); }
};
}  // namespace

TEST_SUITE("data") {

TEST_CASE("media limits: a PNG declaring 60000 x 60000 pixels is refused before decoding") {
  // A valid PNG signature and IHDR chunk declaring 60000 x 60000 RGB, then nothing: 33 bytes.
  const unsigned char ihdr[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                0,    0,   0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0, 0x2A, 0x0F, 0x45, 0x1E};
  std::string bytes(reinterpret_cast<const char*>(ihdr), sizeof ihdr);
  CHECK_THROWS_WITH_AS(decode_image(bytes, "huge.png"),
                       doctest::Contains("huge.png: 60000x60000 pixels exceed the limit of 50000000 pixels per image"),
                       Error);
}

TEST_CASE("images: only PNG, JPEG, BMP and GIF are decoded (a 30-byte 16-bit PGM overflowed stb's heap)") {
  // The fuzzer's finding (build-fuzz/image-crash-...): P5, 3x2, maxval 2255, truncated data.
  const unsigned char pgm[] = {'P', '5', 0x0a, '3', ' ', '2', 0x0a, '2', '2', '5', 0x35, 0x0e, 0x97, 0xff, 0xff,
                               0x01, 0, 0, 0x0e, 0xff, 0xff, 0xce, 0x63, 0x4b, 0x14, 0x31, 0x07, 0x14, 0x2e, 0x54};
  CHECK_THROWS_WITH_AS(decode_image(std::string(reinterpret_cast<const char*>(pgm), sizeof pgm), "crash.pgm"),
                       doctest::Contains("crash.pgm: not an image anima reads (PNG, JPEG, BMP or GIF"), Error);
}

TEST_CASE("media limits: a 100000 x 1 strip is not read as 100000 frames; limits are settable") {
  LimitsScope scope;
  std::string path = "/tmp/anima_test_strip_" + std::to_string(::getpid()) + ".png";
  write_image(path, Tensor::zeros(Shape{1, 100000, 3}, DType::U8));
  CHECK_THROWS_WITH_AS(read_any_video(path), doctest::Contains("more than 50000 frames"), Error);
  MediaLimits wide = media_limits();
  wide.max_frames = 100000;
  set_media_limits(wide);
  CHECK(read_any_video(path).frames.size() == 100000);
  MediaLimits small = media_limits();
  small.max_pixels = 1000;
  set_media_limits(small);
  write_image(path, Tensor::zeros(Shape{40, 30, 3}, DType::U8));
  CHECK_THROWS_WITH_AS(read_image(path), doctest::Contains("40 pixels exceed the limit of 1000"), Error);
  CHECK_THROWS_WITH_AS(set_media_limits(MediaLimits{0, 1}), doctest::Contains("must be positive"), Error);
  std::remove(path.c_str());
}

}  // TEST_SUITE
