#include "data/synthetic.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "data/image_io.h"
#include "data/video_io.h"
#include "tensor/file_util.h"
#include "tensor/philox.h"

namespace anima {
namespace {

// Deterministic uniform draws for one (seed, stream).
struct Draws {
  uint64_t seed, stream, next = 0;
  double u() {
    PhiloxWords w = philox_group(seed, stream, next / 4);
    return double(philox_uniform01(w.w[next++ % 4]));
  }
  double range(double a, double b) { return a + (b - a) * u(); }
};

struct Rgb {
  float r, g, b;
};

struct Identity {
  Rgb skin, shirt, trousers, stripe;
  double torso_len, limb_len, limb_width, head_radius, stripe_period;
};

Identity make_identity(uint64_t seed, int64_t id) {
  Draws d{seed, 1000000 + uint64_t(id)};
  auto color = [&] { return Rgb{float(d.u()), float(d.u()), float(d.u())}; };
  Identity s;
  s.skin = Rgb{float(d.range(0.5, 1.0)), float(d.range(0.35, 0.8)), float(d.range(0.25, 0.6))};
  s.shirt = color();
  s.trousers = color();
  s.stripe = color();
  s.torso_len = d.range(0.28, 0.38);
  s.limb_len = d.range(0.13, 0.19);
  s.limb_width = d.range(0.035, 0.055);
  s.head_radius = d.range(0.07, 0.10);
  s.stripe_period = d.range(0.08, 0.16);
  return s;
}

double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

// Distance from p to segment ab.
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? clamp01(((px - ax) * dx + (py - ay) * dy) / len2) : 0;
  double qx = ax + t * dx - px, qy = ay + t * dy - py;
  return std::sqrt(qx * qx + qy * qy);
}

struct Capsule {
  double ax, ay, bx, by, radius;
  Rgb color;
  bool striped;
};

}  // namespace

std::vector<PuppetFrame> render_puppet_video(uint64_t seed, int64_t identity, int64_t clip, int64_t frames,
                                             int64_t size, Tensor* background_out, const PuppetStyle& style) {
  ANIMA_CHECK(frames > 0 && size >= 16, "render_puppet_video: need frames > 0 and size >= 16, got ", frames, ", ",
              size);
  ANIMA_CHECK(style.scale > 0 && style.scale <= 2.5 && style.drift >= 0 && style.drift <= 5,
              "render_puppet_video: puppet scale must be in (0, 2.5] and drift in [0, 5], got ", style.scale, ", ",
              style.drift);
  Identity id = make_identity(seed, identity);
  const double k = style.scale;
  id.torso_len *= k, id.limb_len *= k, id.limb_width *= k, id.head_radius *= k, id.stripe_period *= k;
  Draws d{seed, 2000000 + uint64_t(identity) * 64 + uint64_t(clip)};
  // Background: a two-colour gradient, low-frequency waves and a few fixed discs.
  Rgb c0{float(d.u()), float(d.u()), float(d.u())}, c1{float(d.u()), float(d.u()), float(d.u())};
  double angle = d.range(0, 2 * M_PI), wave = d.range(2, 6), wave_phase = d.range(0, 6.28);
  struct Disc {
    double x, y, r;
    Rgb c;
  } discs[4];
  for (Disc& disc : discs)
    disc = {d.range(-1, 1), d.range(-1, 1), d.range(0.08, 0.25), {float(d.u()), float(d.u()), float(d.u())}};
  int64_t S = size;
  std::vector<float> bg(size_t(S * S * 3));
  for (int64_t y = 0; y < S; ++y)
    for (int64_t x = 0; x < S; ++x) {
      double fx = (2.0 * x + 1) / S - 1, fy = (2.0 * y + 1) / S - 1;
      double t = clamp01(0.5 + 0.5 * (fx * std::cos(angle) + fy * std::sin(angle)));
      double ripple = 0.06 * std::sin(wave * (fx + fy) + wave_phase);
      if (style.plain_background) t = 0, ripple = 0;
      Rgb c{float(c0.r + (c1.r - c0.r) * t + ripple), float(c0.g + (c1.g - c0.g) * t + ripple),
            float(c0.b + (c1.b - c0.b) * t + ripple)};
      for (const Disc& disc : discs) {
        if (style.plain_background) break;
        double dist = std::hypot(fx - disc.x, fy - disc.y);
        double cov = clamp01((disc.r - dist) * S / 2 + 0.5) * 0.6;
        c = {float(c.r + (disc.c.r - c.r) * cov), float(c.g + (disc.c.g - c.g) * cov),
             float(c.b + (disc.c.b - c.b) * cov)};
      }
      float* p = &bg[size_t((y * S + x) * 3)];
      p[0] = float(clamp01(c.r)), p[1] = float(clamp01(c.g)), p[2] = float(clamp01(c.b));
    }
  if (background_out) {
    Tensor b = Tensor::empty(Shape{S, S, 3}, DType::U8);
    for (size_t i = 0; i < bg.size(); ++i) b.data<uint8_t>()[i] = uint8_t(std::lround(bg[i] * 255));
    *background_out = b;
  }
  // Motion: joint angles are sums of sinusoids with per-clip amplitudes and phases.
  double cx0 = d.range(-0.2, 0.2), cy0 = d.range(-0.1, 0.1), drift_x = d.range(-0.15, 0.15) * style.drift;
  // A larger figure is moved up so that it stays centred (head above, legs below the torso).
  cy0 -= (k - 1) * (id.limb_len / k - 1.1 * id.head_radius / k);
  // Keep the travel inside the frame: the torso centre stays within +-0.8 of the width.
  if (std::abs(cx0) + std::abs(drift_x) > 0.8) drift_x *= (0.8 - std::abs(cx0)) / std::abs(drift_x);
  double amp[10], freq[10], phase[10], base[10];
  const double rest[10] = {0.1, 2.4, -0.3, -2.4, 0.3, 0.25, 0.15, -0.25, -0.15, 0.0};  // radians
  for (int k = 0; k < 10; ++k) {
    amp[k] = d.range(0.2, 0.9);
    freq[k] = d.range(0.5, 2.0);
    phase[k] = d.range(0, 2 * M_PI);
    base[k] = rest[k] + d.range(-0.2, 0.2);
  }
  std::vector<PuppetFrame> out;
  for (int64_t f = 0; f < frames; ++f) {
    double t = double(f) / double(std::max<int64_t>(frames, 2));
    auto ang = [&](int k) { return base[k] + amp[k] * std::sin(2 * M_PI * freq[k] * t + phase[k]); };
    double cx = cx0 + drift_x * std::sin(2 * M_PI * t), cy = cy0;
    // Skeleton (y grows downwards in image coordinates).
    double lean = 0.15 * std::sin(ang(9));
    double hip_x = cx, hip_y = cy + id.torso_len / 2;
    double neck_x = cx + lean * id.torso_len, neck_y = cy - id.torso_len / 2;
    double head_x = neck_x + 0.3 * lean, head_y = neck_y - id.head_radius * 1.2;
    auto limb = [&](double sx, double sy, double a1, double a2, double* ex, double* ey, double* hx, double* hy) {
      *ex = sx + id.limb_len * std::sin(a1), *ey = sy + id.limb_len * std::cos(a1);
      *hx = *ex + id.limb_len * std::sin(a1 + a2), *hy = *ey + id.limb_len * std::cos(a1 + a2);
    };
    double shoulder_l_x = neck_x - 0.06 * k, shoulder_r_x = neck_x + 0.06 * k, shoulder_y = neck_y + 0.03 * k;
    double hip_l_x = hip_x - 0.05 * k, hip_r_x = hip_x + 0.05 * k;
    double el_l_x, el_l_y, ha_l_x, ha_l_y, el_r_x, el_r_y, ha_r_x, ha_r_y;
    limb(shoulder_l_x, shoulder_y, -ang(1), -ang(2), &el_l_x, &el_l_y, &ha_l_x, &ha_l_y);
    limb(shoulder_r_x, shoulder_y, -ang(3), -ang(4), &el_r_x, &el_r_y, &ha_r_x, &ha_r_y);
    double kn_l_x, kn_l_y, ft_l_x, ft_l_y, kn_r_x, kn_r_y, ft_r_x, ft_r_y;
    limb(hip_l_x, hip_y, ang(5), ang(6) - 0.1, &kn_l_x, &kn_l_y, &ft_l_x, &ft_l_y);
    limb(hip_r_x, hip_y, ang(7), ang(8) + 0.1, &kn_r_x, &kn_r_y, &ft_r_x, &ft_r_y);
    double w = id.limb_width;
    // Drawing order: back limbs, torso, front limbs, head (so limbs occlude each other and the torso).
    std::vector<Capsule> parts = {{hip_l_x, hip_y, kn_l_x, kn_l_y, w * 1.1, id.trousers, false},
                                  {kn_l_x, kn_l_y, ft_l_x, ft_l_y, w, id.trousers, false},
                                  {shoulder_l_x, shoulder_y, el_l_x, el_l_y, w, id.shirt, true},
                                  {el_l_x, el_l_y, ha_l_x, ha_l_y, w * 0.9, id.skin, false},
                                  {neck_x, neck_y, hip_x, hip_y, w * 2.2, id.shirt, true},
                                  {hip_r_x, hip_y, kn_r_x, kn_r_y, w * 1.1, id.trousers, false},
                                  {kn_r_x, kn_r_y, ft_r_x, ft_r_y, w, id.trousers, false},
                                  {shoulder_r_x, shoulder_y, el_r_x, el_r_y, w, id.shirt, true},
                                  {el_r_x, el_r_y, ha_r_x, ha_r_y, w * 0.9, id.skin, false},
                                  {head_x, head_y, head_x, head_y, id.head_radius, id.skin, false}};
    PuppetFrame pf;
    pf.image = Tensor::empty(Shape{S, S, 3}, DType::U8);
    pf.mask = Tensor::empty(Shape{S, S, 1}, DType::U8);
    uint8_t* img = pf.image.data<uint8_t>();
    uint8_t* msk = pf.mask.data<uint8_t>();
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        double fx = (2.0 * x + 1) / S - 1, fy = (2.0 * y + 1) / S - 1;
        const float* b = &bg[size_t((y * S + x) * 3)];
        double r = b[0], g = b[1], bl = b[2], cover = 0;
        for (const Capsule& c : parts) {
          double dist = segment_distance(fx, fy, c.ax, c.ay, c.bx, c.by) - c.radius;
          double cov = clamp01(0.5 - dist * S / 2);  // one-pixel anti-aliased edge
          if (cov <= 0) continue;
          Rgb col = c.color;
          if (c.striped) {  // soft stripes (a smoothed sine), so the texture is not aliased
            double t = 0.5 + 0.5 * std::sin(M_PI * fy / id.stripe_period);
            double m = clamp01((t - 0.3) / 0.4);
            m = m * m * (3 - 2 * m);
            col = {float(col.r + (id.stripe.r - col.r) * m), float(col.g + (id.stripe.g - col.g) * m),
                   float(col.b + (id.stripe.b - col.b) * m)};
          }
          r += (col.r - r) * cov, g += (col.g - g) * cov, bl += (col.b - bl) * cov;
          cover = cover + (1 - cover) * cov;
        }
        uint8_t* p = img + (y * S + x) * 3;
        p[0] = uint8_t(std::lround(clamp01(r) * 255)), p[1] = uint8_t(std::lround(clamp01(g) * 255)),
        p[2] = uint8_t(std::lround(clamp01(bl) * 255));
        msk[y * S + x] = uint8_t(std::lround(cover * 255));
      }
    pf.joints = {float(head_x),     float(head_y),       float(neck_x),    float(neck_y), float(ha_l_x),
                 float(ha_l_y),     float(el_l_x),       float(el_l_y),    float(ha_r_x), float(ha_r_y),
                 float(el_r_x),     float(el_r_y),       float(hip_l_x),   float(hip_y),  float(hip_r_x),
                 float(hip_y),      float(kn_l_x),       float(kn_l_y),    float(ft_l_x), float(ft_l_y),
                 float(kn_r_x),     float(kn_r_y),       float(ft_r_x),    float(ft_r_y), float(shoulder_l_x),
                 float(shoulder_y), float(shoulder_r_x), float(shoulder_y)};
    out.push_back(std::move(pf));
  }
  return out;
}

namespace {

// Frames side by side: [S, T*S, C].
Tensor strip(const std::vector<Tensor>& frames) {
  int64_t h = frames[0].size(0), w = frames[0].size(1), c = frames[0].size(2), t = int64_t(frames.size());
  Tensor out = Tensor::empty(Shape{h, t * w, c}, DType::U8);
  uint8_t* o = out.data<uint8_t>();
  for (int64_t k = 0; k < t; ++k) {
    const uint8_t* f = frames[size_t(k)].data<uint8_t>();
    for (int64_t y = 0; y < h; ++y) std::memcpy(o + (y * t * w + k * w) * c, f + y * w * c, size_t(w * c));
  }
  return out;
}

}  // namespace

int64_t make_synthetic_dataset(const std::string& out, const SyntheticOptions& o) {
  ANIMA_CHECK(o.videos >= 2 && o.frames >= 2 && o.size >= 16 && o.clips_per_identity >= 1 && o.test_fraction > 0 &&
                  o.test_fraction < 1,
              "make-dataset: need at least 2 videos of 2 frames of 16x16, clips per identity >= 1 and a test "
              "fraction in (0, 1)");
  ANIMA_CHECK(o.layout == "png" || o.layout == "frames" || o.layout == "mp4", "make-dataset: unknown layout '",
              o.layout, "' (png, frames or mp4)");
  int64_t identities = (o.videos + o.clips_per_identity - 1) / o.clips_per_identity;
  int64_t test_ids = std::max<int64_t>(1, int64_t(std::lround(double(identities) * o.test_fraction)));
  ANIMA_CHECK(test_ids < identities, "make-dataset: ", o.videos, " videos make only ", identities,
              " identities, too few to split into train and test");
  for (const char* split : {"train", "test"}) {
    make_directories(out + "/" + split);
    make_directories(out + "/gt/" + split);
  }
  std::string error;
#pragma omp parallel for schedule(dynamic)
  for (int64_t v = 0; v < o.videos; ++v) {
    try {
      int64_t id = v / o.clips_per_identity, clip = v % o.clips_per_identity;
      std::string split = id >= identities - test_ids ? "test" : "train";
      char name[64];
      std::snprintf(name, sizeof name, "id%04lld#clip%02lld", (long long)id, (long long)clip);
      Tensor background;
      std::vector<PuppetFrame> frames = render_puppet_video(o.seed, id, clip, o.frames, o.size, &background, o.style);
      std::vector<Tensor> images, masks;
      std::ostringstream csv;
      csv << "frame";
      for (int j = 0; j < kPuppetJoints; ++j) csv << ",x" << j << ",y" << j;
      csv << "\n";
      for (size_t f = 0; f < frames.size(); ++f) {
        images.push_back(frames[f].image);
        masks.push_back(frames[f].mask);
        csv << f;
        for (float c : frames[f].joints) csv << "," << c;
        csv << "\n";
      }
      std::string base = out + "/" + split + "/" + name;
      if (o.layout == "png") {
        write_image(base + ".png", strip(images));
      } else if (o.layout == "mp4") {
        write_video(base + ".mp4", images, 25.0);
      } else {
        make_directories(base);
        for (size_t f = 0; f < images.size(); ++f) {
          char fname[32];
          std::snprintf(fname, sizeof fname, "/%04zu.png", f);
          write_image(base + fname, images[f]);
        }
      }
      std::string gt = out + "/gt/" + split + "/" + name;
      make_directories(gt);
      write_image(gt + "/masks.png", strip(masks));
      write_image(gt + "/background.png", background);
      write_file_atomic(gt + "/keypoints.csv", csv.str());
    } catch (const std::exception& e) {
#pragma omp critical
      error = e.what();
    }
  }
  ANIMA_CHECK(error.empty(), "make-dataset: ", error);
  return o.videos;
}

}  // namespace anima
