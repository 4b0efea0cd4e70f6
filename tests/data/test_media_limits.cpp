// The readers' pixel and frame limits (data/media_limits.h; issue 19, item 5): small files that
// declare huge images or many frames are refused before they are decoded.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
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
  const unsigned char ihdr[] = {0x89, 'P',  'N',  'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I',  'H',  'D',  'R', 0,
                                0,    0xEA, 0x60, 0,   0,    0xEA, 0x60, 8,    2, 0, 0, 0,  0x2A, 0x0F, 0x45, 0x1E};
  std::string bytes(reinterpret_cast<const char*>(ihdr), sizeof ihdr);
  CHECK_THROWS_WITH_AS(decode_image(bytes, "huge.png"),
                       doctest::Contains("huge.png: 60000x60000 pixels exceed the limit of 50000000 pixels per image"),
                       Error);
}

TEST_CASE("images: only PNG, JPEG, BMP and GIF are decoded (a 30-byte 16-bit PGM overflowed stb's heap)") {
  // The fuzzer's finding (build-fuzz/image-crash-...): P5, 3x2, maxval 2255, truncated data.
  const unsigned char pgm[] = {'P',  '5', 0x0a, '3',  ' ',  '2',  0x0a, '2',  '2',  '5',  0x35, 0x0e, 0x97, 0xff, 0xff,
                               0x01, 0,   0,    0x0e, 0xff, 0xff, 0xce, 0x63, 0x4b, 0x14, 0x31, 0x07, 0x14, 0x2e, 0x54};
  CHECK_THROWS_WITH_AS(decode_image(std::string(reinterpret_cast<const char*>(pgm), sizeof pgm), "crash.pgm"),
                       doctest::Contains("crash.pgm: not an image anima reads (PNG, JPEG, BMP or GIF"), Error);
}

TEST_CASE("images: a PNG chunk longer than the file is a clear error (stb reallocated 2 GiB for a 132-byte file)") {
  // The fuzzer's finding (build-fuzz/image-oom-...): IHDR 6x65540, an IDAT, then an IDAT that
  // declares 1728053269 bytes.
  std::string path = test::source_path("fuzz/corpus/image/png-idat-oversize");
  if (::access(path.c_str(), R_OK) != 0) {
    test::mark_skipped("the fuzz corpus is not here");
    return;
  }
  CHECK_THROWS_WITH_AS(
      read_image(path),
      doctest::Contains("cannot decode image (corrupt PNG): chunk 'IDAT' at byte 66 declares 1728053269 bytes"), Error);
  // a whole PNG still reads
  std::string d = "/tmp/anima_test_png_" + std::to_string(::getpid());
  std::system(("mkdir -p '" + d + "'").c_str());
  Tensor img = Tensor::zeros(Shape{5, 7, 3}, DType::U8);
  write_image(d + "/ok.png", img);
  CHECK(read_image(d + "/ok.png").shape() == Shape{5, 7, 3});
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("images: JPEG goes to libjpeg-turbo (stb's Huffman decoder read out of bounds on these two inputs)") {
  // The fuzzer's findings: malformed Huffman tables that made stb_image read h->values[c] with c
  // far outside the table (an assert in a debug stb; a wild read in Debian's).
  for (const char* name : {"jpeg-huffman-assert", "jpeg-huffman-oob-read"}) {
    std::string path = test::source_path(std::string("fuzz/corpus/image/") + name);
    if (::access(path.c_str(), R_OK) != 0) {
      test::mark_skipped("the fuzz corpus is not here");
      return;
    }
    INFO(name);
    CHECK_THROWS_WITH_AS(read_image(path), doctest::Contains("cannot decode image (format from the bytes: jpeg)"),
                         Error);
  }
  // Colour and grey JPEGs (written by stb_image_write) decode as RGB.
  std::string d = "/tmp/anima_test_jpeg_" + std::to_string(::getpid());
  std::system(("mkdir -p '" + d + "'").c_str());
  Tensor rgb = Tensor::empty(Shape{24, 40, 3}, DType::U8);
  for (int64_t i = 0; i < rgb.numel(); ++i) rgb.data<uint8_t>()[i] = uint8_t((i * 7) % 200 + (i % 3) * 20);
  Tensor grey = Tensor::empty(Shape{24, 40, 1}, DType::U8);
  for (int64_t i = 0; i < grey.numel(); ++i) grey.data<uint8_t>()[i] = uint8_t(40 + i % 40 * 4);
  write_image(d + "/rgb.jpg", rgb, 100);
  write_image(d + "/grey.jpg", grey, 100);
  Tensor a = read_image(d + "/rgb.jpg"), b = read_image(d + "/grey.jpg");
  CHECK(a.shape() == Shape{24, 40, 3});
  REQUIRE(b.shape() == Shape{24, 40, 3});
  int worst = 0;
  for (int64_t i = 0; i < grey.numel(); ++i)
    for (int c = 0; c < 3; ++c)
      worst = std::max(worst, std::abs(int(b.data<uint8_t>()[3 * i + c]) - int(grey.data<uint8_t>()[i])));
  CHECK(worst <= 3);
  // The declared size is checked before decoding.
  LimitsScope keep;
  set_media_limits(MediaLimits{100, 1000});
  CHECK_THROWS_WITH_AS(read_image(d + "/rgb.jpg"), doctest::Contains("40x24 pixels exceed the limit"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
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
