#include "data/media_limits.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "tensor/error.h"

namespace anima {
namespace {

int64_t from_env(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (end && *end == '\0' && x > 0) return int64_t(x);
  std::fprintf(stderr, "warning: %s=%s is not a positive integer; using %lld\n", name, printable(v).c_str(),
               (long long)fallback);
  return fallback;
}

MediaLimits& limits() {
  static MediaLimits l = [] {
    MediaLimits d;
    d.max_pixels = from_env("ANIMA_MAX_PIXELS", d.max_pixels);
    d.max_frames = from_env("ANIMA_MAX_FRAMES", d.max_frames);
    return d;
  }();
  return l;
}

}  // namespace

const MediaLimits& media_limits() { return limits(); }

void set_media_limits(const MediaLimits& l) {
  ANIMA_CHECK(l.max_pixels > 0 && l.max_frames > 0, "set_media_limits: limits must be positive");
  limits() = l;
}

void check_image_size(int64_t w, int64_t h, const std::string& what) {
  ANIMA_CHECK(w > 0 && h > 0, what, ": an image of ", w, "x", h, " pixels");
  int64_t most = media_limits().max_pixels;
  ANIMA_CHECK(w <= most && h <= most && w * h <= most, what, ": ", w, "x", h, " pixels exceed the limit of ", most,
              " pixels per image (--max-pixels, ANIMA_MAX_PIXELS)");
}

void check_frame_count(int64_t frames, const std::string& what) {
  int64_t most = media_limits().max_frames;
  ANIMA_CHECK(frames <= most, what, ": more than ", most, " frames (--max-frames, ANIMA_MAX_FRAMES)");
}

}  // namespace anima
