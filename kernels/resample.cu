#include <algorithm>
#include <vector>

#include "kernels/launch.h"
#include "kernels/math_mode.h"
#include "kernels/max_pool_2x2.h"
#include "kernels/resample.h"
#include "kernels/resample_ops.h"
#include "kernels/shape_ops.h"

namespace anima::kernels {
namespace detail {

void check_nchw(const char* op, const Tensor& x) {
  check_dtype(op, x, DType::F32);
  ANIMA_CHECK(x.dim() == 4, op, ": expected [N, C, H, W], got ", x.shape().str());
}

struct PoolGeometry {
  int64_t H, W, Ho, Wo, kh, kw, sh, sw, ph, pw;
};

PoolGeometry pool_geometry(const Shape& x, int kh, int kw, int sh, int sw, int ph, int pw) {
  ANIMA_CHECK(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && ph >= 0 && pw >= 0 && 2 * ph <= kh && 2 * pw <= kw,
              "pooling: invalid kernel ", kh, "x", kw, ", stride ", sh, "x", sw, ", padding ", ph, "x", pw,
              " (padding may be at most half the kernel)");
  ANIMA_CHECK(x[2] + 2 * ph >= kh && x[3] + 2 * pw >= kw, "pooling: kernel ", kh, "x", kw,
              " larger than the padded input ", x.str());
  return {x[2], x[3], (x[2] + 2 * ph - kh) / sh + 1, (x[3] + 2 * pw - kw) / sw + 1, kh, kw, sh, sw, ph, pw};
}

// Calls visit(h, w) for every in-bounds input pixel of the window of output (ho, wo).
template <class Visit>
ANIMA_HD inline void for_window(const PoolGeometry& g, int64_t ho, int64_t wo, Visit visit) {
  for (int64_t a = 0; a < g.kh; ++a) {
    int64_t h = ho * g.sh - g.ph + a;
    if (h < 0 || h >= g.H) continue;
    for (int64_t b = 0; b < g.kw; ++b) {
      int64_t w = wo * g.sw - g.pw + b;
      if (w >= 0 && w < g.W) visit(h, w);
    }
  }
}

// The adjoint walk: calls visit(ho, wo) for every window that covers input pixel (h, w).
template <class Visit>
ANIMA_HD inline void for_windows_covering(const PoolGeometry& g, int64_t h, int64_t w, Visit visit) {
  for (int64_t a = 0; a < g.kh; ++a) {
    int64_t hs = h + g.ph - a;
    if (hs < 0 || hs % g.sh != 0 || hs / g.sh >= g.Ho) continue;
    for (int64_t b = 0; b < g.kw; ++b) {
      int64_t ws = w + g.pw - b;
      if (ws < 0 || ws % g.sw != 0 || ws / g.sw >= g.Wo) continue;
      visit(hs / g.sh, ws / g.sw);
    }
  }
}

// The window of input rows (or columns) that covers output index o along one axis, for the CPU
// paths of non-overlapping pooling (stride >= kernel): cover[i] = o, or -1 when no window
// covers input i.
std::vector<int64_t> covering_window(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pad) {
  std::vector<int64_t> cover(size_t(in), -1);
  for (int64_t i = 0; i < in; ++i) {
    int64_t o = (i + pad) / s;
    if (o < out && i + pad - o * s < k) cover[size_t(i)] = o;
  }
  return cover;
}

bool windows_overlap(const PoolGeometry& g) { return g.sh < g.kh || g.sw < g.kw; }

// The CPU backward of a pooling whose windows do not overlap: dx[plane][h][w] = grad_of(o, h*W+w)
// where o is the flat index of the one output whose window covers (h, w), and 0 where none does.
template <class GradOf>
void pool_backward_rows_cpu(const PoolGeometry& g, int64_t planes, float* dx, GradOf grad_of) {
  const std::vector<int64_t> hcov = covering_window(g.H, g.Ho, g.kh, g.sh, g.ph);
  const std::vector<int64_t> wcov = covering_window(g.W, g.Wo, g.kw, g.sw, g.pw);
  const int64_t* hc = hcov.data();
  const int64_t* wc = wcov.data();
  cpu_for_rows(planes * g.H, g.W, [=](int64_t r) {
    int64_t h = r % g.H, ho = hc[h], base = ((r / g.H) * g.Ho + ho) * g.Wo;
    float* dst = dx + r * g.W;
    for (int64_t w = 0; w < g.W; ++w) {
      int64_t wo = wc[w];
      dst[w] = ho >= 0 && wo >= 0 ? grad_of(base + wo, h * g.W + w) : 0.f;
    }
  });
}

// Max over the window of output (ho, wo) of one plane; NaN wins, as in PyTorch. Writes the
// maximum and returns its flat index in the plane (-1 for an empty window).
ANIMA_HD inline int64_t window_argmax(const PoolGeometry& g, const float* src, int64_t ho, int64_t wo,
                                      float* best_out) {
  float best = 0.f;
  int64_t arg = -1;
  for (int64_t a = 0; a < g.kh; ++a) {
    int64_t h = ho * g.sh - g.ph + a;
    if (h < 0 || h >= g.H) continue;
    for (int64_t b = 0; b < g.kw; ++b) {
      int64_t w = wo * g.sw - g.pw + b;
      if (w < 0 || w >= g.W) continue;
      float v = src[h * g.W + w];
      if (arg < 0 || v > best || v != v) {
        best = v;
        arg = h * g.W + w;
        if (v != v) break;  // the rest of this window row cannot beat it
      }
    }
  }
  *best_out = best;
  return arg;
}

// VGG's pools (2x2, stride 2, no padding) take the row kernels of kernels/max_pool_2x2.h on the
// CPU; set_max_pool_general_cpu sends them through window_argmax instead (the test's oracle).
bool g_pool_general = false;  // set_max_pool_general_cpu
inline bool is_2x2_pool(const PoolGeometry& g) {  // and flat indices that fit the int32 arithmetic
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.H * g.W < (int64_t(1) << 31);
}

// Bilinear/nearest geometry of one resize.
struct InterpGeometry {
  int64_t H, W, Ho, Wo;
  float scale_h, scale_w;
  bool align_corners, bilinear;
};

InterpGeometry interp_geometry(const Shape& x, const InterpParams& p) {
  ANIMA_CHECK(p.out_h >= 1 && p.out_w >= 1, "interpolate: output size ", p.out_h, "x", p.out_w, " must be positive");
  ANIMA_CHECK(x[2] >= 1 && x[3] >= 1, "interpolate: empty input ", x.str());
  bool bil = p.mode == InterpMode::Bilinear;
  bool ac = bil && p.align_corners;
  return {x[2],
          x[3],
          p.out_h,
          p.out_w,
          ops::interp_scale(x[2], p.out_h, ac, p.scale_h.value_or(0)),
          ops::interp_scale(x[3], p.out_w, ac, p.scale_w.value_or(0)),
          ac,
          bil};
}

// out[plane][ho][wo] from in[plane]; shared by forward and (as the list of taps) backward.
template <class Visit>
ANIMA_HD inline void visit_taps(const InterpGeometry& g, int64_t ho, int64_t wo, Visit visit) {
  if (!g.bilinear) {
    visit(ops::nearest_tap(ho, g.H, g.scale_h) * g.W + ops::nearest_tap(wo, g.W, g.scale_w), 1.f);
    return;
  }
  ops::Taps th = ops::bilinear_taps(ho, g.H, g.scale_h, g.align_corners);
  ops::Taps tw = ops::bilinear_taps(wo, g.W, g.scale_w, g.align_corners);
  float h1 = th.w1, h0 = 1.f - h1, w1 = tw.w1, w0 = 1.f - w1;
  visit(th.i0 * g.W + tw.i0, h0 * w0);
  visit(th.i0 * g.W + tw.i1, h0 * w1);
  visit(th.i1 * g.W + tw.i0, h1 * w0);
  visit(th.i1 * g.W + tw.i1, h1 * w1);
}

struct InterpForward {
  InterpGeometry g;
  const float* in;
  float* out;
  ANIMA_HD void operator()(int64_t i) const {
    int64_t wo = i % g.Wo, ho = (i / g.Wo) % g.Ho, plane = i / (g.Wo * g.Ho);
    const float* src = in + plane * g.H * g.W;
    float acc = 0.f;
    if (g.bilinear) {  // PyTorch's order: h0 * (w0 x00 + w1 x01) + h1 * (w0 x10 + w1 x11)
      ops::Taps th = ops::bilinear_taps(ho, g.H, g.scale_h, g.align_corners);
      ops::Taps tw = ops::bilinear_taps(wo, g.W, g.scale_w, g.align_corners);
      float h1 = th.w1, h0 = 1.f - h1, w1 = tw.w1, w0 = 1.f - w1;
      acc = h0 * (w0 * src[th.i0 * g.W + tw.i0] + w1 * src[th.i0 * g.W + tw.i1]) +
            h1 * (w0 * src[th.i1 * g.W + tw.i0] + w1 * src[th.i1 * g.W + tw.i1]);
    } else {
      acc = src[ops::nearest_tap(ho, g.H, g.scale_h) * g.W + ops::nearest_tap(wo, g.W, g.scale_w)];
    }
    out[i] = acc;
  }
};

// One plane per call: accumulate every output pixel's gradient into its taps, in order.
struct InterpBackwardPlane {
  InterpGeometry g;
  const float* grad;
  float* dx;
  ANIMA_HD void operator()(int64_t plane) const {
    const float* gp = grad + plane * g.Ho * g.Wo;
    float* dp = dx + plane * g.H * g.W;
    for (int64_t k = 0; k < g.H * g.W; ++k) dp[k] = 0.f;
    for (int64_t ho = 0; ho < g.Ho; ++ho)
      for (int64_t wo = 0; wo < g.Wo; ++wo) {
        float gv = gp[ho * g.Wo + wo];
        visit_taps(g, ho, wo, [&](int64_t idx, float w) { dp[idx] += w * gv; });
      }
  }
};

// The CPU paths of interpolate: each axis's taps are computed once per call (by the same
// ops:: functions as the element bodies above, so with the same taps, weights and order of
// operations) and every output row is a loop over them, without index divisions.
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w1;
};

AxisTaps axis_taps(int64_t out, int64_t in, float scale, bool align_corners, bool bilinear) {
  AxisTaps t{std::vector<int64_t>(size_t(out)), std::vector<int64_t>(size_t(out)), std::vector<float>(size_t(out))};
  for (int64_t o = 0; o < out; ++o) {
    size_t k = size_t(o);
    if (bilinear) {
      ops::Taps tp = ops::bilinear_taps(o, in, scale, align_corners);
      t.i0[k] = tp.i0;
      t.i1[k] = tp.i1;
      t.w1[k] = tp.w1;
    } else {
      t.i0[k] = t.i1[k] = ops::nearest_tap(o, in, scale);
      t.w1[k] = 0.f;
    }
  }
  return t;
}

void interp_forward_cpu(const InterpGeometry& g, int64_t planes, const float* in, float* out) {
  const AxisTaps th = axis_taps(g.Ho, g.H, g.scale_h, g.align_corners, g.bilinear);
  const AxisTaps tw = axis_taps(g.Wo, g.W, g.scale_w, g.align_corners, g.bilinear);
  cpu_for_rows(planes * g.Ho, g.Wo, [&](int64_t r) {
    size_t ho = size_t(r % g.Ho);
    const float* src = in + (r / g.Ho) * g.H * g.W;
    const float* r0 = src + th.i0[ho] * g.W;
    const float* r1 = src + th.i1[ho] * g.W;
    float* dst = out + r * g.Wo;
    if (!g.bilinear) {
      for (size_t wo = 0; wo < size_t(g.Wo); ++wo) dst[wo] = r0[tw.i0[wo]];
      return;
    }
    float h1 = th.w1[ho], h0 = 1.f - h1;
    for (size_t wo = 0; wo < size_t(g.Wo); ++wo) {
      float w1 = tw.w1[wo], w0 = 1.f - w1;
      int64_t a = tw.i0[wo], b = tw.i1[wo];
      dst[wo] = h0 * (w0 * r0[a] + w1 * r0[b]) + h1 * (w0 * r1[a] + w1 * r1[b]);
    }
  });
}

// One plane per task, every output pixel's gradient added into its taps in InterpBackwardPlane's
// order, so the sums are the same.
void interp_backward_cpu(const InterpGeometry& g, int64_t planes, const float* grad, float* dx) {
  const AxisTaps th = axis_taps(g.Ho, g.H, g.scale_h, g.align_corners, g.bilinear);
  const AxisTaps tw = axis_taps(g.Wo, g.W, g.scale_w, g.align_corners, g.bilinear);
  cpu_for_rows(planes, g.Ho * g.Wo, [&](int64_t plane) {
    const float* gp = grad + plane * g.Ho * g.Wo;
    float* dp = dx + plane * g.H * g.W;
    std::fill(dp, dp + g.H * g.W, 0.f);
    for (size_t ho = 0; ho < size_t(g.Ho); ++ho, gp += g.Wo) {
      float* d0 = dp + th.i0[ho] * g.W;
      float* d1 = dp + th.i1[ho] * g.W;
      if (!g.bilinear) {
        for (size_t wo = 0; wo < size_t(g.Wo); ++wo) d0[tw.i0[wo]] += 1.f * gp[wo];
        continue;
      }
      float h1 = th.w1[ho], h0 = 1.f - h1;
      for (size_t wo = 0; wo < size_t(g.Wo); ++wo) {
        float gv = gp[wo], w1 = tw.w1[wo], w0 = 1.f - w1;
        int64_t a = tw.i0[wo], b = tw.i1[wo];
        d0[a] += h0 * w0 * gv;
        d0[b] += h0 * w1 * gv;
        d1[a] += h1 * w0 * gv;
        d1[b] += h1 * w1 * gv;
      }
    }
  });
}

#if ANIMA_CUDA && defined(__CUDACC__)
__global__ void interp_backward_atomic(InterpGeometry g, const float* grad, float* dx, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t wo = i % g.Wo, ho = (i / g.Wo) % g.Ho, plane = i / (g.Wo * g.Ho);
    float gv = grad[i];
    float* dp = dx + plane * g.H * g.W;
    visit_taps(g, ho, wo, [&](int64_t idx, float w) { atomicAdd(dp + idx, w * gv); });
  }
}
#endif

}  // namespace detail

Tensor avg_pool2d(const Tensor& x, int kh, int kw, int sh, int sw, int ph, int pw) {
  detail::check_nchw("avg_pool2d", x);
  detail::PoolGeometry g = detail::pool_geometry(x.shape(), kh, kw, sh, sw, ph, pw);
  Tensor out = Tensor::empty(Shape{x.size(0), x.size(1), g.Ho, g.Wo}, DType::F32, x.device());
  const float* px = x.data<float>();
  float* po = out.data<float>();
  float inv = 1.f / float(kh * kw);
  auto window_mean = [=] ANIMA_HD(const float* src, int64_t ho, int64_t wo) {
    float acc = 0.f;
    detail::for_window(g, ho, wo, [&](int64_t h, int64_t w) { acc += src[h * g.W + w]; });
    return acc * inv;
  };
  if (x.device().is_cpu()) {  // row by row: no index divisions per element
    cpu_for_rows(x.size(0) * x.size(1) * g.Ho, g.Wo * kh * kw, [=](int64_t r) {
      const float* src = px + (r / g.Ho) * g.H * g.W;
      for (int64_t wo = 0; wo < g.Wo; ++wo) po[r * g.Wo + wo] = window_mean(src, r % g.Ho, wo);
    });
    return out;
  }
  parallel_for(x.device(), out.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t wo = i % g.Wo, ho = (i / g.Wo) % g.Ho, plane = i / (g.Wo * g.Ho);
    po[i] = window_mean(px + plane * g.H * g.W, ho, wo);
  });
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& x_shape, int kh, int kw, int sh, int sw, int ph, int pw) {
  detail::check_nchw("avg_pool2d_backward", grad);
  detail::PoolGeometry g = detail::pool_geometry(x_shape, kh, kw, sh, sw, ph, pw);
  ANIMA_CHECK((grad.shape() == Shape{x_shape[0], x_shape[1], g.Ho, g.Wo}), "avg_pool2d_backward: gradient ",
              grad.shape().str(), " does not match input ", x_shape.str());
  Tensor dx = Tensor::empty(x_shape, DType::F32, grad.device());
  const float* pg = grad.data<float>();
  float* pd = dx.data<float>();
  float inv = 1.f / float(kh * kw);
  if (grad.device().is_cpu() && !detail::windows_overlap(g)) {  // as the gather below: (0 + g) / k^2
    detail::pool_backward_rows_cpu(g, x_shape[0] * x_shape[1], pd,
                                   [=](int64_t o, int64_t) { return (0.f + pg[o]) * inv; });
    return dx;
  }
  // Gather: input (h, w) collects from every window that covers it.
  parallel_for(grad.device(), dx.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t w = i % g.W, h = (i / g.W) % g.H, plane = i / (g.W * g.H);
    const float* gp = pg + plane * g.Ho * g.Wo;
    float acc = 0.f;
    detail::for_windows_covering(g, h, w, [&](int64_t ho, int64_t wo) { acc += gp[ho * g.Wo + wo]; });
    pd[i] = acc * inv;
  });
  return dx;
}

bool set_max_pool_general_cpu(bool on) {
  bool before = detail::g_pool_general;
  detail::g_pool_general = on;
  return before;
}

MaxPoolResult max_pool2d(const Tensor& x, int k, int s, int p) {
  detail::check_nchw("max_pool2d", x);
  detail::PoolGeometry g = detail::pool_geometry(x.shape(), k, k, s, s, p, p);
  Shape os{x.size(0), x.size(1), g.Ho, g.Wo};
  MaxPoolResult r{Tensor::empty(os, DType::F32, x.device()), Tensor::empty(os, DType::I32, x.device())};
  const float* px = x.data<float>();
  float* po = r.out.data<float>();
  int32_t* pi = r.indices.data<int32_t>();
  if (x.device().is_cpu() && detail::is_2x2_pool(g) && !detail::g_pool_general) {
    cpu_for_rows(x.size(0) * x.size(1) * g.Ho, g.Wo * 4, [=](int64_t row) {
      int64_t h0 = 2 * (row % g.Ho);
      const float* r0 = px + (row / g.Ho) * g.H * g.W + h0 * g.W;
      detail::max_pool_2x2_row(r0, r0 + g.W, int32_t(h0 * g.W), int32_t(g.W), g.Wo, po + row * g.Wo,
                               pi + row * g.Wo);
    });
    return r;
  }
  if (x.device().is_cpu()) {  // row by row: no index divisions per element
    cpu_for_rows(x.size(0) * x.size(1) * g.Ho, g.Wo * k * k, [=](int64_t row) {
      const float* src = px + (row / g.Ho) * g.H * g.W;
      for (int64_t wo = 0, i = row * g.Wo; wo < g.Wo; ++wo, ++i)
        pi[i] = int32_t(detail::window_argmax(g, src, row % g.Ho, wo, po + i));
    });
    return r;
  }
  parallel_for(x.device(), r.out.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t wo = i % g.Wo, ho = (i / g.Wo) % g.Ho, plane = i / (g.Wo * g.Ho);
    pi[i] = int32_t(detail::window_argmax(g, px + plane * g.H * g.W, ho, wo, po + i));
  });
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& x_shape, int k, int s, int p) {
  detail::check_nchw("max_pool2d_backward", grad);
  detail::PoolGeometry g = detail::pool_geometry(x_shape, k, k, s, s, p, p);
  ANIMA_CHECK((grad.shape() == Shape{x_shape[0], x_shape[1], g.Ho, g.Wo}) && indices.shape() == grad.shape(),
              "max_pool2d_backward: gradient ", grad.shape().str(), " / indices ", indices.shape().str(),
              " do not match input ", x_shape.str());
  Tensor dx = Tensor::empty(x_shape, DType::F32, grad.device());
  const float* pg = grad.data<float>();
  const int32_t* pi = indices.data<int32_t>();
  float* pd = dx.data<float>();
  if (grad.device().is_cpu() && detail::is_2x2_pool(g) && !detail::g_pool_general) {
    cpu_for_rows(x_shape[0] * x_shape[1] * g.H, g.W, [=](int64_t r) {
      int64_t h = r % g.H, plane = r / g.H;
      float* dst = pd + r * g.W;
      if (h >= 2 * g.Ho) {
        std::fill(dst, dst + g.W, 0.f);
        return;
      }
      int64_t o = (plane * g.Ho + h / 2) * g.Wo;
      detail::max_pool_2x2_backward_row(pg + o, pi + o, int32_t(h * g.W), g.W, g.Wo, dst);
    });
    return dx;
  }
  if (grad.device().is_cpu() && !detail::windows_overlap(g)) {  // as the gather below
    detail::pool_backward_rows_cpu(g, x_shape[0] * x_shape[1], pd,
                                   [=](int64_t o, int64_t self) { return pi[o] == self ? 0.f + pg[o] : 0.f; });
    return dx;
  }
  parallel_for(grad.device(), dx.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t w = i % g.W, h = (i / g.W) % g.H, plane = i / (g.W * g.H);
    int64_t self = h * g.W + w;
    float acc = 0.f;
    detail::for_windows_covering(g, h, w, [&](int64_t ho, int64_t wo) {
      int64_t o = (plane * g.Ho + ho) * g.Wo + wo;
      if (pi[o] == self) acc += pg[o];
    });
    pd[i] = acc;
  });
  return dx;
}

Tensor interpolate(const Tensor& x, const InterpParams& p) {
  detail::check_nchw("interpolate", x);
  detail::InterpGeometry g = detail::interp_geometry(x.shape(), p);
  Tensor out = Tensor::empty(Shape{x.size(0), x.size(1), g.Ho, g.Wo}, DType::F32, x.device());
  if (x.device().is_cpu())
    detail::interp_forward_cpu(g, x.size(0) * x.size(1), x.data<float>(), out.data<float>());
  else
    parallel_for(x.device(), out.numel(), detail::InterpForward{g, x.data<float>(), out.data<float>()});
  return out;
}

Tensor interpolate_backward(const Tensor& grad, const Shape& x_shape, const InterpParams& p) {
  detail::check_nchw("interpolate_backward", grad);
  detail::InterpGeometry g = detail::interp_geometry(x_shape, p);
  ANIMA_CHECK((grad.shape() == Shape{x_shape[0], x_shape[1], g.Ho, g.Wo}), "interpolate_backward: gradient ",
              grad.shape().str(), " does not match ", x_shape.str(), " resized to ", g.Ho, "x", g.Wo);
  Tensor dx = Tensor::empty(x_shape, DType::F32, grad.device());
  int64_t planes = x_shape[0] * x_shape[1];
#if ANIMA_CUDA && defined(__CUDACC__)
  if (grad.is_cuda() && !deterministic()) {
    ANIMA_CUDA_CHECK(cudaMemsetAsync(dx.data_ptr(), 0, dx.nbytes(), 0));
    int64_t n = grad.numel();
    if (n > 0) {
      detail::interp_backward_atomic<<<grid_size_for(n), kThreadsPerBlock>>>(g, grad.data<float>(), dx.data<float>(),
                                                                             n);
      ANIMA_CUDA_CHECK_LAUNCH("interp_backward_atomic");
    }
    return dx;
  }
#endif
  if (grad.device().is_cpu())
    detail::interp_backward_cpu(g, planes, grad.data<float>(), dx.data<float>());
  else
    parallel_for(grad.device(), planes, detail::InterpBackwardPlane{g, grad.data<float>(), dx.data<float>()});
  return dx;
}

Tensor pad2d(const Tensor& x, int top, int bottom, int left, int right, float value) {
  detail::check_nchw("pad2d", x);
  ANIMA_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0, "pad2d: negative padding (", top, ", ", bottom, ", ",
              left, ", ", right, ")");
  int64_t H = x.size(2), W = x.size(3), Ho = H + top + bottom, Wo = W + left + right;
  Tensor out = Tensor::empty(Shape{x.size(0), x.size(1), Ho, Wo}, DType::F32, x.device());
  const float* px = x.data<float>();
  float* po = out.data<float>();
  parallel_for(x.device(), out.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t wo = i % Wo, ho = (i / Wo) % Ho, plane = i / (Wo * Ho);
    int64_t h = ho - top, w = wo - left;
    po[i] = (h >= 0 && h < H && w >= 0 && w < W) ? px[(plane * H + h) * W + w] : value;
  });
  return out;
}

Tensor pad2d_backward(const Tensor& grad, int top, int bottom, int left, int right) {
  detail::check_nchw("pad2d_backward", grad);
  return slice(slice(grad, 2, top, grad.size(2) - bottom), 3, left, grad.size(3) - right);
}

}  // namespace anima::kernels
