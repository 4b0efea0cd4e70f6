// Limits on what the image and video readers accept, so that a small file cannot ask for
// gigabytes (a 370-byte PNG can declare 100000 x 1 pixels, a video millions of frames): a
// decoded image or video frame holds at most max_pixels pixels, a video (file, frame folder or
// strip) at most max_frames frames. Inputs beyond them are refused with a message naming the
// file, the size and the limit, before the pixels are decoded where the format allows. The
// defaults come from the environment (ANIMA_MAX_PIXELS, ANIMA_MAX_FRAMES) or the commands'
// --max-pixels / --max-frames.
#pragma once
#include <cstdint>
#include <string>

namespace anima {

struct MediaLimits {
  int64_t max_pixels = 50'000'000;  // per image or frame: 50 megapixels (an 8660 x 5773 photo)
  int64_t max_frames = 50'000;      // per video: 33 minutes at 25 fps
};

// The process's limits (read from the environment on first use).
const MediaLimits& media_limits();
void set_media_limits(const MediaLimits& limits);

// Throws unless a w x h image or frame is within the pixel limit (and w, h > 0).
void check_image_size(int64_t w, int64_t h, const std::string& what);
// Throws unless a video of `frames` frames is within the frame limit.
void check_frame_count(int64_t frames, const std::string& what);

}  // namespace anima
