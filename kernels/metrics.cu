#include "kernels/metrics.h"

#include <algorithm>
#include <cmath>

#include "kernels/launch.h"
#include "kernels/reduce.h"

namespace anima::kernels {
namespace detail {

// Weight of pixel p (index within an H*W plane) of image n: 1, m, or 1 - m.
struct RegionWeight {
  const float* mask;  // [N, 1, H, W] or nullptr (All)
  bool invert;
  int64_t plane;  // H * W
  ANIMA_HD float operator()(int64_t n, int64_t p) const {
    if (!mask) return 1.f;
    float m = mask[n * plane + p];
    return invert ? 1.f - m : m;
  }
};

// |w x - w y| (abs) or (w x - w y)^2.
ANIMA_HD inline float diff_term(float w, float x, float y, bool squared) {
  float d = w * x - w * y;
  return squared ? d * d : (d < 0.f ? -d : d);
}

// One element of the differences.
struct DiffBody {
  const float *a, *b;
  float* out;
  RegionWeight weight;
  int64_t image;  // C * H * W
  bool squared;
  ANIMA_HD void operator()(int64_t i) const {
    out[i] = diff_term(weight(i / image, i % weight.plane), a[i], b[i], squared);
  }
};

// The same on the CPU, a plane at a time: no division per element.
void diff_planes_cpu(const float* a, const float* b, float* out, RegionWeight weight, int64_t planes, int64_t C,
                     bool squared) {
  const int64_t P = weight.plane;
  cpu_for_rows(planes, P, [=](int64_t r) {
    const float *x = a + r * P, *y = b + r * P;
    float* o = out + r * P;
    if (!weight.mask) {
      for (int64_t p = 0; p < P; ++p) o[p] = diff_term(1.f, x[p], y[p], squared);
      return;
    }
    const float* m = weight.mask + (r / C) * P;
    for (int64_t p = 0; p < P; ++p) o[p] = diff_term(weight.invert ? 1.f - m[p] : m[p], x[p], y[p], squared);
  });
}

struct Taps {
  float g[kSsimWindow];
};

// Pass 1 of SSIM: the horizontal window sums of x, y, x^2, y^2, x*y (x = w a, y = w b) at row r,
// column j of the valid width (W - 10). Output: 5 planes of [N*C, H, Wv].
struct SsimRowsBody {
  const float *a, *b;
  float* out;
  RegionWeight weight;
  Taps taps;
  int64_t C, H, W, Wv, moments_stride;  // moments_stride = N*C*H*Wv
  ANIMA_HD void operator()(int64_t i) const {
    int64_t j = i % Wv, r = (i / Wv) % H, nc = i / (Wv * H), n = nc / C;
    const float* pa = a + (nc * H + r) * W + j;
    const float* pb = b + (nc * H + r) * W + j;
    float sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int k = 0; k < kSsimWindow; ++k) {
      float w = weight(n, r * W + j + k);
      float x = w * pa[k], y = w * pb[k], g = taps.g[k];
      sx += g * x;
      sy += g * y;
      sxx += g * (x * x);
      syy += g * (y * y);
      sxy += g * (x * y);
    }
    out[i] = sx;
    out[i + moments_stride] = sy;
    out[i + 2 * moments_stride] = sxx;
    out[i + 3 * moments_stride] = syy;
    out[i + 4 * moments_stride] = sxy;
  }
};

// Pass 2: the vertical window sums of the five moments at valid position (i, j), then the SSIM
// formula of Wang et al. (2004), eq. (13).
struct SsimMapBody {
  const float* rows;  // 5 planes of [N*C, H, Wv]
  float* out;         // [N*C, Hv, Wv]
  Taps taps;
  int64_t H, Hv, Wv, moments_stride;
  ANIMA_HD void operator()(int64_t i) const {
    const float C1 = 0.01f * 0.01f, C2 = 0.03f * 0.03f;
    int64_t j = i % Wv, r = (i / Wv) % Hv, nc = i / (Wv * Hv);
    const float* p = rows + (nc * H + r) * Wv + j;
    float m[5] = {0, 0, 0, 0, 0};
    for (int k = 0; k < kSsimWindow; ++k)
      for (int q = 0; q < 5; ++q) m[q] += taps.g[k] * p[q * moments_stride + k * Wv];
    float mu_x = m[0], mu_y = m[1];
    float mu_xx = mu_x * mu_x, mu_yy = mu_y * mu_y, mu_xy = mu_x * mu_y;
    float s_xx = m[2] - mu_xx, s_yy = m[3] - mu_yy, s_xy = m[4] - mu_xy;
    out[i] = ((2.f * mu_xy + C1) * (2.f * s_xy + C2)) / ((mu_xx + mu_yy + C1) * (s_xx + s_yy + C2));
  }
};

void check_pair(const char* op, const Tensor& a, const Tensor& b, const Tensor& mask, MetricRegion region) {
  check_dtype(op, a, DType::F32);
  check_dtype(op, b, DType::F32);
  check_same_device(op, {&a, &b});
  ANIMA_CHECK(a.dim() == 4, op, ": expected images [N, C, H, W], got ", a.shape().str());
  ANIMA_CHECK(a.shape() == b.shape(), op, ": image shapes ", a.shape().str(), " and ", b.shape().str(), " differ");
  if (region == MetricRegion::All) return;
  ANIMA_CHECK(mask.defined(), op, ": a salient / non-salient region needs a mask");
  check_dtype(op, mask, DType::F32);
  check_same_device(op, {&a, &mask});
  ANIMA_CHECK(mask.shape() == Shape({a.size(0), 1, a.size(2), a.size(3)}), op, ": mask ", mask.shape().str(),
              " does not match images ", a.shape().str(), " (expected [N, 1, H, W])");
}

RegionWeight region_weight(const Tensor& a, const Tensor& mask, MetricRegion region) {
  return RegionWeight{region == MetricRegion::All ? nullptr : mask.data<float>(), region == MetricRegion::NonSalient,
                      a.size(2) * a.size(3)};
}

Tensor diff_per_image(const char* op, const Tensor& a, const Tensor& b, const Tensor& mask, MetricRegion region,
                      bool squared) {
  check_pair(op, a, b, mask, region);
  int64_t n = a.size(0), image = a.numel() / std::max<int64_t>(n, 1);
  Tensor terms = Tensor::empty(Shape{n, image}, DType::F32, a.device());
  if (a.device().is_cpu()) {
    diff_planes_cpu(a.data<float>(), b.data<float>(), terms.data<float>(), region_weight(a, mask, region),
                    n * a.size(1), a.size(1), squared);
    return mean(terms, {1});
  }
  parallel_for(
      a.device(), a.numel(),
      DiffBody{a.data<float>(), b.data<float>(), terms.data<float>(), region_weight(a, mask, region), image, squared});
  return mean(terms, {1});
}

}  // namespace detail

void ssim_gaussian_taps(float taps[kSsimWindow]) {
  double g[kSsimWindow], total = 0;
  for (int k = 0; k < kSsimWindow; ++k) {
    double d = k - kSsimWindow / 2;
    g[k] = std::exp(-d * d / (2 * 1.5 * 1.5));
    total += g[k];
  }
  for (int k = 0; k < kSsimWindow; ++k) taps[k] = float(g[k] / total);
}

Tensor l1_per_image(const Tensor& a, const Tensor& b, const Tensor& mask, MetricRegion region) {
  return detail::diff_per_image("l1_per_image", a, b, mask, region, false);
}

Tensor mse_per_image(const Tensor& a, const Tensor& b, const Tensor& mask, MetricRegion region) {
  return detail::diff_per_image("mse_per_image", a, b, mask, region, true);
}

Tensor psnr_from_mse(const Tensor& mse) {
  check_dtype("psnr_from_mse", mse, DType::F32);
  Tensor out = Tensor::empty(mse.shape(), DType::F32, mse.device());
  const float* pm = mse.data<float>();
  float* po = out.data<float>();
  parallel_for(mse.device(), mse.numel(),
               [=] ANIMA_HD(int64_t i) { po[i] = pm[i] > 0.f ? -10.f * log10f(pm[i]) : INFINITY; });
  return out;
}

Tensor ssim_per_image(const Tensor& a, const Tensor& b, const Tensor& mask, MetricRegion region) {
  const char* op = "ssim_per_image";
  detail::check_pair(op, a, b, mask, region);
  int64_t N = a.size(0), C = a.size(1), H = a.size(2), W = a.size(3);
  ANIMA_CHECK(H >= kSsimWindow && W >= kSsimWindow, op, ": images ", a.shape().str(),
              " are smaller than the 11x11 window");
  int64_t Hv = H - (kSsimWindow - 1), Wv = W - (kSsimWindow - 1);
  detail::Taps taps;
  ssim_gaussian_taps(taps.g);
  int64_t stride = N * C * H * Wv;
  Tensor rows = Tensor::empty(Shape{5, N * C, H, Wv}, DType::F32, a.device());
  parallel_for(a.device(), stride,
               detail::SsimRowsBody{a.data<float>(), b.data<float>(), rows.data<float>(),
                                    detail::region_weight(a, mask, region), taps, C, H, W, Wv, stride});
  Tensor map = Tensor::empty(Shape{N, C * Hv * Wv}, DType::F32, a.device());
  parallel_for(a.device(), map.numel(),
               detail::SsimMapBody{rows.data<float>(), map.data<float>(), taps, H, Hv, Wv, stride});
  return mean(map, {1});
}

Tensor segment_foreground(const Tensor& frames, const Tensor& background, float threshold) {
  const char* op = "segment_foreground";
  check_dtype(op, frames, DType::F32);
  check_dtype(op, background, DType::F32);
  check_same_device(op, {&frames, &background});
  ANIMA_CHECK(frames.dim() == 4 && frames.size(1) == 3, op, ": expected frames [N, 3, H, W], got ",
              frames.shape().str());
  int64_t N = frames.size(0), plane = frames.size(2) * frames.size(3);
  Shape one{3, frames.size(2), frames.size(3)};
  bool shared = background.shape() == one;
  ANIMA_CHECK(shared || background.shape() == frames.shape(), op, ": background ", background.shape().str(),
              " matches neither ", one.str(), " nor the frames ", frames.shape().str());
  Tensor out = Tensor::empty(Shape{N, 1, frames.size(2), frames.size(3)}, DType::F32, frames.device());
  const float* pf = frames.data<float>();
  const float* pb = background.data<float>();
  float* po = out.data<float>();
  float t2 = threshold * threshold;
  parallel_for(frames.device(), N * plane, [=] ANIMA_HD(int64_t i) {
    int64_t n = i / plane, p = i % plane;
    const float* f = pf + n * 3 * plane + p;
    const float* g = pb + (shared ? 0 : n * 3 * plane) + p;
    float d2 = 0;
    for (int c = 0; c < 3; ++c) {
      float d = f[c * plane] - g[c * plane];
      d2 += d * d;
    }
    po[i] = d2 > t2 ? 1.f : 0.f;
  });
  return out;
}

Tensor mask_iou(const Tensor& predicted, const Tensor& target) {
  const char* op = "mask_iou";
  check_dtype(op, predicted, DType::F32);
  check_dtype(op, target, DType::F32);
  check_same_device(op, {&predicted, &target});
  ANIMA_CHECK(predicted.dim() == 4 && predicted.size(1) == 1 && predicted.shape() == target.shape(), op,
              ": expected two masks [N, 1, H, W] of one shape, got ", predicted.shape().str(), " and ",
              target.shape().str());
  int64_t N = predicted.size(0), plane = predicted.size(2) * predicted.size(3);
  ANIMA_CHECK(plane < (int64_t(1) << 24), op, ": masks of ", plane, " pixels exceed the exact float count");
  // Row n of `counts` holds the intersection indicators, row N + n the union's.
  Tensor counts = Tensor::empty(Shape{2 * N, plane}, DType::F32, predicted.device());
  const float* pp = predicted.data<float>();
  const float* pt = target.data<float>();
  float* pc = counts.data<float>();
  parallel_for(predicted.device(), N * plane, [=] ANIMA_HD(int64_t i) {
    bool p = pp[i] > 0.5f, t = pt[i] > 0.5f;
    pc[i] = (p && t) ? 1.f : 0.f;
    pc[N * plane + i] = (p || t) ? 1.f : 0.f;
  });
  Tensor sums = sum(counts, {1});
  Tensor out = Tensor::empty(Shape{N}, DType::F32, predicted.device());
  const float* ps = sums.data<float>();
  float* po = out.data<float>();
  parallel_for(predicted.device(), N, [=] ANIMA_HD(int64_t n) { po[n] = ps[N + n] > 0.f ? ps[n] / ps[N + n] : 1.f; });
  return out;
}

}  // namespace anima::kernels
