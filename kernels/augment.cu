#include "kernels/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/grid_sample.h"
#include "kernels/launch.h"
#include "kernels/reduce.h"
#include "kernels/resample.h"
#include "kernels/select.h"

namespace anima::kernels {
namespace detail {

// Knuth's method per element; `limit` = exp(-lambda / parts).
struct PoissonBody {
  uint64_t seed;
  uint32_t stream;
  int parts;
  double limit;
  float* out;
  ANIMA_HD void operator()(int64_t i) const {
    uint32_t block = 0;
    int used = 4;
    PhiloxWords w{};
    int64_t total = 0;
    for (int part = 0; part < parts; ++part) {
      double prod = 1.0;
      int64_t k = -1;
      do {
        if (used == 4) {
          w = philox4x32_10(uint32_t(i), uint32_t(uint64_t(i) >> 32), block++, stream, uint32_t(seed),
                            uint32_t(seed >> 32));
          used = 0;
        }
        double u = (double(w.w[used++]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1], exact
        prod = mul_rn(prod, u);
        ++k;
      } while (prod > limit);
      total += k;
    }
    out[i] = float(total);
  }
};

// The CPU's version of PoissonBody: kLanes elements in lockstep. Knuth's loop takes one word of
// the element's stream per step, in every part, so at step t every lane still running reads word t
// (group t / 4): the Philox groups are drawn for all lanes at once, and the steps vectorise over the
// lanes (a lane that is done idles until the slowest one is). Each element gets exactly
// PoissonBody's draws, products and counts (test "poisson: the CPU's lockstep lanes ...").
void poisson_cpu(uint64_t seed, uint32_t stream, int parts, double limit, float* out, int64_t n) {
  constexpr int kLanes = 16;
  cpu_for_rows((n + kLanes - 1) / kLanes, kLanes * 64, [=](int64_t b) ANIMA_LOOP_BODY {
    int64_t i0 = b * kLanes;
    int width = int(std::min<int64_t>(kLanes, n - i0));
    // one width for every lane's state (doubles and 64-bit integers), or GCC keeps the steps scalar
    double prod[kLanes];
    int64_t k[kLanes], total[kLanes], part[kLanes];
    uint32_t words[4][kLanes];
    for (int l = 0; l < kLanes; ++l) {
      prod[l] = 1.0;
      k[l] = -1;
      total[l] = 0;
      part[l] = l < width ? 0 : parts;  // the lanes past the end start done
    }
    for (uint32_t t = 0;; ++t) {
      if ((t & 3) == 0)
        for (int l = 0; l < kLanes; ++l) {
          uint64_t i = uint64_t(i0 + l);
          PhiloxWords w = philox4x32_10(uint32_t(i), uint32_t(i >> 32), t >> 2, stream, uint32_t(seed),
                                        uint32_t(seed >> 32));
          for (int j = 0; j < 4; ++j) words[j][l] = w.w[j];
        }
      int64_t running = 0;
      for (int l = 0; l < kLanes; ++l) {
        // 0 / 1 integers, not bools: with bools GCC found no vector type for the lane state
        int64_t live = part[l] < int64_t(parts) ? 1 : 0;
        double u = (double(words[t & 3][l]) + 1.0) * (1.0 / 4294967296.0);
        double p = mul_rn(prod[l], u);
        int64_t stop = live & (p > limit ? 0 : 1);  // the do-while's exit: this part's count is k + 1
        prod[l] = stop ? 1.0 : (live ? p : prod[l]);
        total[l] += stop * (k[l] + 1);
        k[l] = stop ? -1 : k[l] + live;
        part[l] += stop;
        running += part[l] < int64_t(parts) ? 1 : 0;
      }
      if (running == 0) break;
    }
    for (int l = 0; l < width; ++l) out[i0 + l] = float(total[l]);
  });
}

bool g_poisson_per_element = false;  // set_poisson_per_element_cpu

// Host-side uniform draws from (seed, stream): the n-th value of the stream. Used for the few
// per-sample parameters (cut positions, scale factors, boxes), generated identically for any device.
struct HostDraws {
  uint64_t seed, stream;
  uint64_t next = 0;
  double uniform() {  // [0, 1)
    PhiloxWords w = philox_group(seed, stream, next / 4);
    return double(philox_uniform01(w.w[next++ % 4]));
  }
  int64_t integer(int64_t lo, int64_t hi) {  // [lo, hi)
    return lo + std::min<int64_t>(hi - lo - 1, int64_t(uniform() * double(hi - lo)));
  }
};

void check_masks(const char* op, const Tensor& m) {
  check_dtype(op, m, DType::F32);
  ANIMA_CHECK(m.dim() == 4 && m.size(1) == 1, op, ": expected masks [N, 1, H, W], got ", m.shape().str());
}

// Resamples each mask with the normalised grid grid(n, i, j) (align_corners = false, zeros).
Tensor resample(const Tensor& mask, const Tensor& grid) {
  return grid_sample(mask, grid, GridSampleOptions{GridMode::Bilinear, GridPadding::Zeros, false});
}

// Grid for "scale each strip of rows (axis = 0) or columns (axis = 1) along the other axis".
// params [N, 11]: 5 cut positions (pixels), 6 strip factors.
Tensor strip_grid(const Tensor& params, int64_t n, int64_t h, int64_t w, int axis) {
  Tensor grid = Tensor::empty(Shape{n, h, w, 2}, DType::F32, params.device());
  const float* pp = params.data<float>();
  float* pg = grid.data<float>();
  parallel_for(params.device(), n * h * w, [=] ANIMA_HD(int64_t idx) {
    int64_t j = idx % w, i = (idx / w) % h, s = idx / (w * h);
    const float* p = pp + s * 11;
    float xn = (2.f * float(j) + 1.f) / float(w) - 1.f, yn = (2.f * float(i) + 1.f) / float(h) - 1.f;
    int64_t along = axis == 0 ? i : j;
    int strip = 0;
    for (int c = 0; c < 5; ++c) strip += float(along) >= p[c];
    float f = p[5 + strip];
    pg[2 * idx] = axis == 0 ? xn / f : xn;
    pg[2 * idx + 1] = axis == 0 ? yn : yn / f;
  });
  return grid;
}

// ---- P_test as the released code computes it (perturb_test_code) ----
// OpenCV's fixed-point warp (imgproc/imgwarp.cpp, before 4.11): source positions in 1/32 pixel
// (INTER_BITS 5), accumulated with AB_BITS 10 fractional bits, bilinear weights in 15 bits
// (INTER_REMAP_COEF_BITS), each weight set summing to 1 << 15.
constexpr int kInterBits = 5, kInterTab = 1 << kInterBits, kAbBits = 10, kCoefBits = 15;

// cvRound (saturate_cast<int> of a double): round half to even. The launcher keeps every value
// far inside int's range.
ANIMA_HD inline int32_t cv_round(double v) { return int32_t(::rint(v)); }

// The code's quantisation: q = m * 255 in float32, q <= th -> 0, truncated to uint8 (NaN -> 0).
ANIMA_HD inline int32_t code_quantize(float m, float th) {
  float q = mul_rn(m, 255.f);
  if (!(q > th)) return 0;
  return q >= 255.f ? 255 : int32_t(q);
}

// One output pixel of warpAffine(quantised mask, M, INTER_LINEAR, BORDER_CONSTANT 0). inv: the
// destination -> source map (warpAffine's inverse of M). Per row OpenCV rounds
// X0 = round((inv1 * y + inv2) * 2^10) + 16 once and per column adelta = round(inv0 * x * 2^10);
// (X0 + adelta) >> 5 is the position in 1/32 pixel: integer part >> 5, fraction & 31.
struct PTestCodeBody {
  const float* in;
  float* out;
  int64_t h, w;
  double inv[6];
  float th;
  ANIMA_HD void operator()(int64_t idx) const {
    int64_t x = idx % w, y = (idx / w) % h;
    const float* src = in + (idx / (w * h)) * h * w;
    const double ab = double(1 << kAbBits);
    const int32_t round_delta = (1 << kAbBits) / kInterTab / 2;
    int32_t x0 = cv_round(mul_rn(add_rn(mul_rn(inv[1], double(y)), inv[2]), ab)) + round_delta;
    int32_t y0 = cv_round(mul_rn(add_rn(mul_rn(inv[4], double(y)), inv[5]), ab)) + round_delta;
    int32_t sx32 = (x0 + cv_round(mul_rn(mul_rn(inv[0], double(x)), ab))) >> (kAbBits - kInterBits);
    int32_t sy32 = (y0 + cv_round(mul_rn(mul_rn(inv[3], double(x)), ab))) >> (kAbBits - kInterBits);
    int32_t sx = sx32 >> kInterBits, sy = sy32 >> kInterBits;  // floor, also below 0
    int32_t fx = sx32 & (kInterTab - 1), fy = sy32 & (kInterTab - 1);
    // OpenCV's BilinearTab_i entry fy * 32 + fx: 32 * ((32 - fx) (32 - fy), fx (32 - fy),
    // (32 - fx) fy, fx fy), exact, except entry 0, whose 32768 saturates to 32767 in a short and
    // whose missing unit the table's fix-up adds to the lower-right weight (the same 8-bit result
    // as 32768, 0, 0, 0; kept to be faithful).
    int32_t wt[4] = {(kInterTab - fx) * (kInterTab - fy) * 32, fx * (kInterTab - fy) * 32, (kInterTab - fx) * fy * 32,
                     fx * fy * 32};
    if (fx == 0 && fy == 0) wt[0] = 32767, wt[3] = 1;
    // BORDER_CONSTANT 0: each tap outside the mask reads 0, inside taps are kept.
    int32_t acc = 0;
    for (int t = 0; t < 4; ++t) {
      int64_t tx = sx + (t & 1), ty = sy + (t >> 1);
      if (tx >= 0 && tx < w && ty >= 0 && ty < h) acc += wt[t] * code_quantize(src[ty * w + tx], th);
    }
    int32_t v = (acc + (1 << (kCoefBits - 1))) >> kCoefBits;
    out[idx] = float(v < 0 ? 0 : (v > 255 ? 255 : v)) / 255.f;
  }
};

// cv::getRotationMatrix2D((w / 2, h / 2), 0, scale) (the centre as a Point2f, so w / 2 rounded to
// float), inverted in double as cv::warpAffine inverts it (no WARP_INVERSE_MAP).
void opencv_scale_inverse(int64_t h, int64_t w, double scale, double inv[6]) {
  double cx = double(float(double(w) / 2)), cy = double(float(double(h) / 2));
  double alpha = scale, beta = 0;  // cos(0) * scale, sin(0) * scale
  double m[6] = {alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy};
  double d = m[0] * m[4] - m[1] * m[3];
  d = d != 0 ? 1. / d : 0;
  double a11 = m[4] * d, a22 = m[0] * d;
  m[0] = a11;
  m[1] *= -d;
  m[3] *= -d;
  m[4] = a22;
  double b1 = -m[0] * m[2] - m[1] * m[5], b2 = -m[3] * m[2] - m[4] * m[5];
  m[2] = b1;
  m[5] = b2;
  for (int k = 0; k < 6; ++k) inv[k] = m[k];
}

}  // namespace detail

Tensor poisson(const Shape& shape, double lambda, uint64_t seed, uint64_t stream, Device device) {
  ANIMA_CHECK(lambda >= 0 && lambda < 1e6, "poisson: lambda must be in [0, 1e6), got ", lambda);
  Tensor out = Tensor::empty(shape, DType::F32, device);
  int parts = std::max(1, int(std::ceil(lambda / 32.0)));
  double limit = std::exp(-lambda / parts);
  if (device.is_cpu() && !detail::g_poisson_per_element) {
    detail::poisson_cpu(seed, uint32_t(stream), parts, limit, out.data<float>(), out.numel());
    return out;
  }
  parallel_for(device, out.numel(), detail::PoissonBody{seed, uint32_t(stream), parts, limit, out.data<float>()});
  return out;
}

bool set_poisson_per_element_cpu(bool on) {
  bool before = detail::g_poisson_per_element;
  detail::g_poisson_per_element = on;
  return before;
}

Tensor mask_poisson_noise(const Tensor& mask, double lambda, Generator& gen) {
  check_dtype("mask_poisson_noise", mask, DType::F32);
  Tensor counts = poisson(mask.shape(), lambda, gen.seed(), gen.take_stream(), mask.device());
  uint64_t seed = gen.seed(), stream = gen.take_stream();
  Tensor out = Tensor::empty(mask.shape(), DType::F32, mask.device());
  const float* pm = mask.data<float>();
  const float* pc = counts.data<float>();
  float* po = out.data<float>();
  parallel_for(mask.device(), mask.numel(), [=] ANIMA_HD(int64_t i) {
    PhiloxWords w = philox_group(seed, stream, uint64_t(i) >> 2);
    float sign = (w.w[i & 3] & 1u) ? 1.f : -1.f;
    float v = pm[i] + sign * (pc[i] / 255.f);
    po[i] = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
  });
  return out;
}

Tensor threshold_masks(const Tensor& mask, const Tensor& threshold) {
  detail::check_masks("threshold_masks", mask);
  check_same_device("threshold_masks", {&mask, &threshold});
  ANIMA_CHECK(threshold.shape() == Shape{mask.size(0)}, "threshold_masks: threshold ", threshold.shape().str(),
              " does not match ", mask.size(0), " masks");
  Tensor out = Tensor::empty(mask.shape(), DType::F32, mask.device());
  int64_t per = mask.numel() / std::max<int64_t>(1, mask.size(0));
  const float* pm = mask.data<float>();
  const float* pt = threshold.data<float>();
  float* po = out.data<float>();
  parallel_for(mask.device(), mask.numel(), [=] ANIMA_HD(int64_t i) { po[i] = pm[i] < pt[i / per] ? 0.f : pm[i]; });
  return out;
}

Tensor scale_masks(const Tensor& mask, const Tensor& factors) {
  detail::check_masks("scale_masks", mask);
  check_same_device("scale_masks", {&mask, &factors});
  int64_t n = mask.size(0), h = mask.size(2), w = mask.size(3);
  ANIMA_CHECK((factors.shape() == Shape{n, 2}), "scale_masks: factors ", factors.shape().str(), " must be [", n,
              ", 2]");
  Tensor grid = Tensor::empty(Shape{n, h, w, 2}, DType::F32, mask.device());
  const float* pf = factors.data<float>();
  float* pg = grid.data<float>();
  parallel_for(mask.device(), n * h * w, [=] ANIMA_HD(int64_t idx) {
    int64_t j = idx % w, i = (idx / w) % h, s = idx / (w * h);
    pg[2 * idx] = ((2.f * float(j) + 1.f) / float(w) - 1.f) / pf[2 * s];
    pg[2 * idx + 1] = ((2.f * float(i) + 1.f) / float(h) - 1.f) / pf[2 * s + 1];
  });
  return detail::resample(mask, grid);
}

Tensor perturb_test(const Tensor& mask, const Tensor& threshold, double scale) {
  ANIMA_CHECK(scale > 0, "perturb_test: the scale must be positive, got ", scale);
  Tensor kept = threshold_masks(mask, threshold);
  return scale_masks(kept, full(Shape{mask.size(0), 2}, scale, DType::F32, mask.device()));
}

Tensor perturb_test_code(const Tensor& mask, int threshold255, double scale) {
  detail::check_masks("perturb_test_code", mask);
  ANIMA_CHECK(threshold255 >= 0 && threshold255 <= 255, "perturb_test_code: the threshold must be in 0..255, got ",
              threshold255);
  int64_t h = mask.size(2), w = mask.size(3);
  // Source positions (within (W / 2) * (1 + 1 / scale) of the centre) stay well inside OpenCV's
  // short coordinates, so its saturations never act, and 2^10 times them inside an int.
  ANIMA_CHECK(std::isfinite(scale) && scale > 0 && double(std::max(h, w)) * std::max(1.0, 1.0 / scale) <= 16384,
              "perturb_test_code: scale ", scale, " on ", h, "x", w,
              " masks: need scale > 0 and max(H, W) * max(1, 1 / scale) <= 16384");
  Tensor out = Tensor::empty(mask.shape(), DType::F32, mask.device());
  detail::PTestCodeBody body{mask.data<float>(), out.data<float>(), h, w, {}, float(threshold255)};
  detail::opencv_scale_inverse(h, w, scale, body.inv);
  parallel_for(mask.device(), mask.numel(), body);
  return out;
}

Tensor perturb_train(const Tensor& mask, const Tensor& threshold, double lambda, Generator& gen, double jitter) {
  detail::check_masks("perturb_train", mask);
  ANIMA_CHECK(jitter >= 0 && jitter < 1, "perturb_train: the scale jitter must be in [0, 1), got ", jitter);
  int64_t n = mask.size(0), h = mask.size(2), w = mask.size(3);
  ANIMA_CHECK(h >= 12 && w >= 12, "perturb_train: masks of ", h, "x", w,
              " are too small for 5 distinct cuts in the central half");
  detail::HostDraws draw{gen.seed(), gen.take_stream()};
  Tensor m = mask;
  for (int axis = 0; axis < 2; ++axis) {
    int64_t extent = axis == 0 ? h : w;
    std::vector<float> strips, whole;  // whole: (x, y) factors scaling the mask along the axis
    for (int64_t s = 0; s < n; ++s) {
      // 5 distinct cut positions in [extent/4, 3 extent/4): a partial Fisher-Yates shuffle.
      std::vector<int64_t> pool;
      for (int64_t c = extent / 4; c < 3 * extent / 4; ++c) pool.push_back(c);
      for (int c = 0; c < 5; ++c) std::swap(pool[size_t(c)], pool[size_t(draw.integer(c, int64_t(pool.size())))]);
      std::sort(pool.begin(), pool.begin() + 5);
      for (int c = 0; c < 5; ++c) strips.push_back(float(pool[size_t(c)]));
      for (int k = 0; k < 6; ++k) strips.push_back(float(1 - jitter + 2 * jitter * draw.uniform()));
      float g = float(1 - jitter + 2 * jitter * draw.uniform());
      whole.push_back(axis == 0 ? 1.f : g);
      whole.push_back(axis == 0 ? g : 1.f);
    }
    // Axis 0 cuts rows and scales their content along x, then scales the mask along y.
    Tensor params = raw::to_device(Tensor::from_vector(strips, Shape{n, 11}), mask.device());
    m = detail::resample(m, detail::strip_grid(params, n, h, w, axis));
    m = scale_masks(m, raw::to_device(Tensor::from_vector(whole, Shape{n, 2}), mask.device()));
  }
  return mask_poisson_noise(threshold_masks(m, threshold), lambda, gen);
}

Tensor cutmix_box_mask(int64_t n, int64_t h, int64_t w, Generator& gen, Device device) {
  ANIMA_CHECK(n >= 0 && h > 0 && w > 0, "cutmix_box_mask: invalid size ", n, "x", h, "x", w);
  detail::HostDraws draw{gen.seed(), gen.take_stream()};
  std::vector<int32_t> boxes;  // y0, y1, x0, x1 per sample
  for (int64_t s = 0; s < n; ++s) {
    double lam = draw.uniform();  // Beta(1, 1)
    double cut = std::sqrt(1.0 - lam);
    int64_t cw = int64_t(double(w) * cut), ch = int64_t(double(h) * cut);
    int64_t cx = draw.integer(0, w), cy = draw.integer(0, h);
    boxes.push_back(int32_t(std::clamp<int64_t>(cy - ch / 2, 0, h)));
    boxes.push_back(int32_t(std::clamp<int64_t>(cy + ch / 2, 0, h)));
    boxes.push_back(int32_t(std::clamp<int64_t>(cx - cw / 2, 0, w)));
    boxes.push_back(int32_t(std::clamp<int64_t>(cx + cw / 2, 0, w)));
  }
  Tensor b = raw::to_device(Tensor::from_vector(boxes, Shape{n, 4}), device);
  Tensor out = Tensor::empty(Shape{n, 1, h, w}, DType::F32, device);
  const int32_t* pb = b.data<int32_t>();
  float* po = out.data<float>();
  if (device.is_cpu()) {  // a row at a time: no division per element
    cpu_for_rows(n * h, w, [=](int64_t r) {
      const int32_t* box = pb + 4 * (r / h);
      int64_t i = r % h;
      bool rows = i >= box[0] && i < box[1];
      for (int64_t j = 0; j < w; ++j) po[r * w + j] = (rows && j >= box[2] && j < box[3]) ? 1.f : 0.f;
    });
    return out;
  }
  parallel_for(device, out.numel(), [=] ANIMA_HD(int64_t idx) {
    int64_t j = idx % w, i = (idx / w) % h, s = idx / (w * h);
    const int32_t* box = pb + 4 * s;
    po[idx] = (i >= box[0] && i < box[1] && j >= box[2] && j < box[3]) ? 1.f : 0.f;
  });
  return out;
}

Tensor prioritycut_mask(const Tensor& background, const Tensor& occlusion, double bg_threshold, double k_min,
                        double k_max, int64_t out_h, int64_t out_w, Generator& gen) {
  detail::check_masks("prioritycut_mask", background);
  detail::check_masks("prioritycut_mask", occlusion);
  check_same_device("prioritycut_mask", {&background, &occlusion});
  ANIMA_CHECK(background.shape() == occlusion.shape(), "prioritycut_mask: background ", background.shape().str(),
              " and occlusion ", occlusion.shape().str(), " differ");
  ANIMA_CHECK(0 <= k_min && k_min <= k_max && k_max <= 1, "prioritycut_mask: need 0 <= k_min <= k_max <= 1, got ",
              k_min, ", ", k_max);
  Device dev = background.device();
  int64_t n = background.size(0), hw = background.size(2) * background.size(3);
  // Keys: O_fg for foreground pixels, +inf for confident background (never selected).
  Tensor keys = Tensor::empty(Shape{n, hw}, DType::F32, dev);
  Tensor is_fg = Tensor::empty(Shape{n, hw}, DType::F32, dev);
  const float* pbg = background.data<float>();
  const float* pocc = occlusion.data<float>();
  float* pk = keys.data<float>();
  float* pf = is_fg.data<float>();
  float thr = float(bg_threshold);
  parallel_for(dev, n * hw, [=] ANIMA_HD(int64_t i) {
    float bg = pbg[i] > thr ? 1.f : 0.f;
    float o_fg = bg + (1.f - bg) * pocc[i];
    pf[i] = 1.f - bg;
    pk[i] = bg > 0.f ? INFINITY : o_fg;
  });
  Tensor fg_count = sum(is_fg, {1});
  detail::HostDraws draw{gen.seed(), gen.take_stream()};
  std::vector<float> ks;
  for (int64_t s = 0; s < n; ++s) ks.push_back(float(k_min + (k_max - k_min) * draw.uniform()));
  Tensor k = raw::to_device(Tensor::from_vector(ks, Shape{n}), dev);
  // Index of the last selected pixel, floor(k * F) - 1 (-1: none), computed on the device.
  Tensor index = Tensor::empty(Shape{n}, DType::I32, dev);
  Tensor safe_index = Tensor::empty(Shape{n}, DType::I32, dev);
  const float* pc = fg_count.data<float>();
  const float* pkk = k.data<float>();
  int32_t* pi = index.data<int32_t>();
  int32_t* psi = safe_index.data<int32_t>();
  parallel_for(dev, n, [=] ANIMA_HD(int64_t s) {
    int32_t last = int32_t(::floorf(pkk[s] * pc[s])) - 1;
    pi[s] = last;
    psi[s] = last < 0 ? 0 : last;
  });
  Tensor cut = kth_smallest(keys, safe_index);
  Tensor small = Tensor::empty(background.shape(), DType::F32, dev);
  const float* pcut = cut.data<float>();
  float* ps = small.data<float>();
  parallel_for(dev, n * hw, [=] ANIMA_HD(int64_t i) {
    int64_t s = i / hw;
    ps[i] = (pi[s] >= 0 && pf[i] > 0.f && pk[i] <= pcut[s]) ? 1.f : 0.f;
  });
  InterpParams up;
  up.out_h = out_h;
  up.out_w = out_w;
  up.mode = InterpMode::Nearest;
  return interpolate(small, up);
}

}  // namespace anima::kernels
