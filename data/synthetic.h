// The built-in synthetic dataset: articulated 2-D puppets (torso, head, two-segment arms and
// legs) moving smoothly in front of a per-video background. Identity (colours, stripes,
// proportions) is fixed per video, the pose changes over the frames, and limbs occlude each
// other. Deterministic in the seed; needs no download.
//
// Layout written under `out`:
//   train/<id>#<clip>.png, test/...       videos as horizontal frame strips (FOMM's .png layout),
//   or train/<id>#<clip>/0000.png ...      as frame folders (layout "frames"),
//   or train/<id>#<clip>.mp4               as H.264 videos at 25 fps (layout "mp4")
//   gt/<split>/<name>/masks.png            foreground masks (strip, grey as RGB)
//   gt/<split>/<name>/keypoints.csv        per frame: 14 joints as x,y in [-1, 1]
//   gt/<split>/<name>/background.png       the clean background
// Identities of train and test are disjoint; each identity has `clips_per_identity` videos.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

// How big the puppet is and how far it travels. scale 1 / drift 1 is the original dataset (the
// figure about 40% of the frame height, swaying by up to 15% of the frame width); the demo uses a
// larger figure that walks further, so that at 64x64 its limbs are a few mask pixels wide.
struct PuppetStyle {
  double scale = 1.0;             // multiplies every body length and width
  double drift = 1.0;             // multiplies the horizontal travel
  bool plain_background = false;  // one colour per video instead of gradient, waves and discs
};

struct SyntheticOptions {
  int64_t videos = 200;
  int64_t frames = 32;
  int64_t size = 64;
  uint64_t seed = 0;
  double test_fraction = 0.2;
  int64_t clips_per_identity = 2;
  std::string layout = "png";  // png (strips), frames (folders) or mp4
  PuppetStyle style;
};

constexpr int kPuppetJoints = 14;

struct PuppetFrame {
  Tensor image;               // uint8 [S, S, 3]
  Tensor mask;                // uint8 [S, S, 1], 255 = puppet
  std::vector<float> joints;  // 2 * kPuppetJoints values, (x, y) in [-1, 1]
};

// One rendered video (used by the writer and by tests).
std::vector<PuppetFrame> render_puppet_video(uint64_t seed, int64_t identity, int64_t clip, int64_t frames,
                                             int64_t size, Tensor* background = nullptr, const PuppetStyle& style = {});

// Writes the dataset; returns the number of videos written.
int64_t make_synthetic_dataset(const std::string& out, const SyntheticOptions& options);

}  // namespace anima
