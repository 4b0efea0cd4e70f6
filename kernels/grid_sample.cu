#include "kernels/grid_sample.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu_isa.h"
#include "kernels/launch.h"
#include "kernels/math_mode.h"

namespace anima::kernels {
namespace detail {

struct GridGeometry {
  int64_t N, C, H, W, Ho, Wo;
  GridMode mode;
  GridPadding padding;
  bool align_corners;
};

// Source coordinates of output pixel p = (n, i, j), with d(source)/d(grid) per axis.
struct Source {
  float ix, iy, gx_mult, gy_mult;
};

ANIMA_HD inline Source source_of(const GridGeometry& g, const float* grid, int64_t p) {
  Source s;
  s.ix = ops::grid_source_index(grid[2 * p], g.W, g.padding, g.align_corners, &s.gx_mult);
  s.iy = ops::grid_source_index(grid[2 * p + 1], g.H, g.padding, g.align_corners, &s.gy_mult);
  return s;
}

// Calls visit(offset in the plane, weight) for every in-bounds tap of pixel p.
template <class Visit>
ANIMA_HD inline void visit_taps(const GridGeometry& g, const Source& s, Visit visit) {
  if (g.mode == GridMode::Nearest) {
    int64_t x = int64_t(::rintf(s.ix)), y = int64_t(::rintf(s.iy));
    if (ops::grid_in_bounds(x, y, g.W, g.H)) visit(y * g.W + x, 1.f);
    return;
  }
  ops::BilinearTaps t = ops::grid_bilinear_taps(s.ix, s.iy);
  if (ops::grid_in_bounds(t.x0, t.y0, g.W, g.H)) visit(t.y0 * g.W + t.x0, t.nw);
  if (ops::grid_in_bounds(t.x0 + 1, t.y0, g.W, g.H)) visit(t.y0 * g.W + t.x0 + 1, t.ne);
  if (ops::grid_in_bounds(t.x0, t.y0 + 1, g.W, g.H)) visit((t.y0 + 1) * g.W + t.x0, t.sw);
  if (ops::grid_in_bounds(t.x0 + 1, t.y0 + 1, g.W, g.H)) visit((t.y0 + 1) * g.W + t.x0 + 1, t.se);
}

struct Forward {
  GridGeometry g;
  const float* in;
  const float* grid;
  float* out;
  ANIMA_HD void operator()(int64_t p) const {  // p = (n, i, j)
    int64_t n = p / (g.Ho * g.Wo), q = p % (g.Ho * g.Wo);
    Source s = source_of(g, grid, p);
    for (int64_t c = 0; c < g.C; ++c) {
      const float* plane = in + (n * g.C + c) * g.H * g.W;
      float acc = 0.f;
      visit_taps(g, s, [&](int64_t off, float w) { acc += plane[off] * w; });
      out[(n * g.C + c) * g.Ho * g.Wo + q] = acc;
    }
  }
};

// d loss / d grid for pixel p (bilinear): the derivative of the four-tap blend.
struct GridGradient {
  GridGeometry g;
  const float* in;
  const float* grid;
  const float* gout;
  float* ggrid;
  ANIMA_HD void operator()(int64_t p) const {
    int64_t n = p / (g.Ho * g.Wo), q = p % (g.Ho * g.Wo);
    if (g.mode == GridMode::Nearest) {
      ggrid[2 * p] = 0.f;
      ggrid[2 * p + 1] = 0.f;
      return;
    }
    Source s = source_of(g, grid, p);
    ops::BilinearTaps t = ops::grid_bilinear_taps(s.ix, s.iy);
    float fx = float(t.x0), fy = float(t.y0);
    float gix = 0.f, giy = 0.f;
    for (int64_t c = 0; c < g.C; ++c) {
      const float* plane = in + (n * g.C + c) * g.H * g.W;
      float go = gout[(n * g.C + c) * g.Ho * g.Wo + q];
      auto val = [&](int64_t x, int64_t y) { return ops::grid_in_bounds(x, y, g.W, g.H) ? plane[y * g.W + x] : 0.f; };
      float nw = val(t.x0, t.y0), ne = val(t.x0 + 1, t.y0), sw = val(t.x0, t.y0 + 1), se = val(t.x0 + 1, t.y0 + 1);
      gix += go * (-nw * (fy + 1.f - s.iy) + ne * (fy + 1.f - s.iy) - sw * (s.iy - fy) + se * (s.iy - fy));
      giy += go * (-nw * (fx + 1.f - s.ix) - ne * (s.ix - fx) + sw * (fx + 1.f - s.ix) + se * (s.ix - fx));
    }
    ggrid[2 * p] = gix * s.gx_mult;
    ggrid[2 * p + 1] = giy * s.gy_mult;
  }
};

// Input gradient, one (n, c) plane per call, output pixels in order: deterministic.
struct InputGradientPlane {
  GridGeometry g;
  const float* grid;
  const float* gout;
  float* gin;
  ANIMA_HD void operator()(int64_t plane) const {
    int64_t n = plane / g.C;
    float* dst = gin + plane * g.H * g.W;
    for (int64_t k = 0; k < g.H * g.W; ++k) dst[k] = 0.f;
    const float* go = gout + plane * g.Ho * g.Wo;
    for (int64_t q = 0; q < g.Ho * g.Wo; ++q) {
      Source s = source_of(g, grid, n * g.Ho * g.Wo + q);
      float v = go[q];
      visit_taps(g, s, [&](int64_t off, float w) { dst[off] += w * v; });
    }
  }
};

#if ANIMA_CUDA && defined(__CUDACC__)
// Input gradient with float atomics: one thread per output pixel and channel loop.
__global__ void input_gradient_atomic(GridGeometry g, const float* grid, const float* gout, float* gin,
                                      int64_t pixels) {
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += int64_t(blockDim.x) * gridDim.x) {
    int64_t n = p / (g.Ho * g.Wo), q = p % (g.Ho * g.Wo);
    Source s = source_of(g, grid, p);
    for (int64_t c = 0; c < g.C; ++c) {
      float v = gout[(n * g.C + c) * g.Ho * g.Wo + q];
      float* dst = gin + (n * g.C + c) * g.H * g.W;
      visit_taps(g, s, [&](int64_t off, float w) { atomicAdd(dst + off, w * v); });
    }
  }
}
#endif

// ---- The CPU path: blocks of output pixels ----
// The bodies above compute each pixel's source and taps once per channel (the GPU runs them, a
// thread per pixel). The CPU instead computes the taps of a block of pixels once, keeps them in
// arrays, and walks the channels over the block: the same sums in the same order, so the same
// bits (test "grid_sample: the CPU's blocked path ..."), without the repeated tap arithmetic and
// with each channel plane read in one pass.
constexpr int64_t kPixelBlock = 256;

// The four bilinear corners (nw, ne, sw, se) of pixel q of the block in fixed slots k (nearest:
// slot 0 only): the plane offset, the weight, and whether the corner is inside the image. PyTorch
// skips the others (they add nothing, not even 0 * inf); their offset is 0, a read that is
// discarded, so that the loops over a block load unconditionally and vectorise (gathers).
struct BlockTaps {
  int32_t off[4][kPixelBlock];
  int32_t ok[4][kPixelBlock];
  float w[4][kPixelBlock];
};

// The block's source coordinates and their derivatives (Source, as arrays).
struct BlockSources {
  float ix[kPixelBlock], iy[kPixelBlock], gx_mult[kPixelBlock], gy_mult[kPixelBlock];
};

// Block b of the output pixels: image n, its pixels [q0, q0 + count).
struct PixelBlock {
  int64_t n, q0, count;
};
inline int64_t blocks_per_image(const GridGeometry& g) { return (g.Ho * g.Wo + kPixelBlock - 1) / kPixelBlock; }
inline PixelBlock pixel_block(const GridGeometry& g, int64_t b) {
  int64_t per_image = blocks_per_image(g), q0 = (b % per_image) * kPixelBlock;
  return {b / per_image, q0, std::min(kPixelBlock, g.Ho * g.Wo - q0)};
}

// The blocked path holds plane offsets in 32 bits and compares corners as floats (exact below 2^24).
inline bool blocked_applies(const GridGeometry& g) {
  return g.H < (int64_t(1) << 24) && g.W < (int64_t(1) << 24) && g.H * g.W < (int64_t(1) << 31);
}

// source_of for each pixel of the block, the padding fixed per loop so that the zeros and border
// loops vectorise (reflection's fmodf does not).
template <ops::GridPadding P>
ANIMA_ISA_BODY void block_sources_for(const GridGeometry& g, const float* grid, int64_t p0, int64_t count,
                                      BlockSources& s) {
  for (int64_t q = 0; q < count; ++q) {
    s.ix[q] = ops::grid_source_index(grid[2 * (p0 + q)], g.W, P, g.align_corners, &s.gx_mult[q]);
    s.iy[q] = ops::grid_source_index(grid[2 * (p0 + q) + 1], g.H, P, g.align_corners, &s.gy_mult[q]);
  }
}
ANIMA_ISA_BODY void block_sources(const GridGeometry& g, const float* grid, int64_t p0, int64_t count,
                                  BlockSources& s) {
  switch (g.padding) {
    case ops::GridPadding::Zeros:
      return block_sources_for<ops::GridPadding::Zeros>(g, grid, p0, count, s);
    case ops::GridPadding::Border:
      return block_sources_for<ops::GridPadding::Border>(g, grid, p0, count, s);
    case ops::GridPadding::Reflection:
      return block_sources_for<ops::GridPadding::Reflection>(g, grid, p0, count, s);
  }
}

// Slot k of pixel q for the corner (cx, cy) (integer-valued floats, or NaN / inf) with weight w.
// Branch-free, so that the loops over the block vectorise.
ANIMA_ISA_BODY void set_tap(const GridGeometry& g, BlockTaps& t, int k, int64_t q, float cx, float cy, float w) {
  float W = float(g.W), H = float(g.H);
  int32_t ok = int32_t(cx >= 0.f) & int32_t(cx < W) & int32_t(cy >= 0.f) & int32_t(cy < H);  // 0 for NaN
  // clamped before the conversion, so that every lane converts a value in range (max(0, NaN) is 0)
  int32_t x = int32_t(std::min(W - 1.f, std::max(0.f, cx))), y = int32_t(std::min(H - 1.f, std::max(0.f, cy)));
  t.off[k][q] = (y * int32_t(g.W) + x) * ok;
  t.ok[k][q] = ok;
  t.w[k][q] = w;
}

// visit_taps' taps for each pixel: the same corners, weights and bounds (ops::grid_bilinear_taps).
ANIMA_ISA_BODY void block_taps(const GridGeometry& g, const BlockSources& s, int64_t count, BlockTaps& t) {
  if (g.mode == GridMode::Nearest) {
    for (int64_t q = 0; q < count; ++q) set_tap(g, t, 0, q, ::rintf(s.ix[q]), ::rintf(s.iy[q]), 1.f);
    for (int k = 1; k < 4; ++k)
      for (int64_t q = 0; q < count; ++q) {
        t.ok[k][q] = t.off[k][q] = 0;
        t.w[k][q] = 0.f;
      }
    return;
  }
  for (int64_t q = 0; q < count; ++q) {
    float ix = s.ix[q], iy = s.iy[q], fx = ::floorf(ix), fy = ::floorf(iy), ex = fx + 1.f, ey = fy + 1.f;
    set_tap(g, t, 0, q, fx, fy, (ex - ix) * (ey - iy));
    set_tap(g, t, 1, q, ex, fy, (ix - fx) * (ey - iy));
    set_tap(g, t, 2, q, fx, ey, (ex - ix) * (iy - fy));
    set_tap(g, t, 3, q, ex, ey, (ix - fx) * (iy - fy));
  }
}

// Tap k's value at pixel q: the plane's value there, 0 outside the image.
ANIMA_ISA_BODY float tap_value(const BlockTaps& t, const float* plane, int k, int64_t q) {
  float v = plane[t.off[k][q]];
  return t.ok[k][q] ? v : 0.f;
}

ANIMA_ISA_BODY void forward_block_body(const GridGeometry& g, const float* in, const float* grid, float* out,
                                       int64_t block) {
  const int64_t HoWo = g.Ho * g.Wo;
  const auto [n, q0, count] = pixel_block(g, block);
  BlockSources s;
  BlockTaps t;
  block_sources(g, grid, n * HoWo + q0, count, s);
  block_taps(g, s, count, t);
  float o[kPixelBlock];  // the block's outputs of a channel: a local array, which the plane cannot alias
  for (int64_t c = 0; c < g.C; ++c) {
    const float* plane = in + (n * g.C + c) * g.H * g.W;
    for (int64_t q = 0; q < count; ++q) {
      // Adding 0 for a skipped tap leaves the sum as it is: it starts at +0 and never becomes -0.
      float p0 = plane[t.off[0][q]] * t.w[0][q], p1 = plane[t.off[1][q]] * t.w[1][q];
      float p2 = plane[t.off[2][q]] * t.w[2][q], p3 = plane[t.off[3][q]] * t.w[3][q];
      float acc = 0.f + (t.ok[0][q] ? p0 : 0.f);
      acc += t.ok[1][q] ? p1 : 0.f;
      acc += t.ok[2][q] ? p2 : 0.f;
      o[q] = acc + (t.ok[3][q] ? p3 : 0.f);
    }
    std::copy(o, o + count, out + (n * g.C + c) * HoWo + q0);
  }
}
ANIMA_ISA_VERSIONS(forward_block,
                   (const GridGeometry& g, const float* in, const float* grid, float* out, int64_t block),
                   (g, in, grid, out, block))

// d loss / d grid of a block (bilinear): GridGradient's sums, channels outermost.
ANIMA_ISA_BODY void grid_gradient_block_body(const GridGeometry& g, const float* in, const float* grid,
                                             const float* gout, float* ggrid, int64_t block) {
  const int64_t HoWo = g.Ho * g.Wo;
  const auto [n, q0, count] = pixel_block(g, block);
  const int64_t p0 = n * HoWo + q0;
  BlockSources s;
  BlockTaps t;
  block_sources(g, grid, p0, count, s);
  block_taps(g, s, count, t);
  float fx[kPixelBlock], fy[kPixelBlock], gix[kPixelBlock], giy[kPixelBlock];
  for (int64_t q = 0; q < count; ++q) {
    ops::BilinearTaps b = ops::grid_bilinear_taps(s.ix[q], s.iy[q]);  // GridGradient's corner as a float
    fx[q] = float(b.x0), fy[q] = float(b.y0);
    gix[q] = giy[q] = 0.f;
  }
  for (int64_t c = 0; c < g.C; ++c) {
    const float* plane = in + (n * g.C + c) * g.H * g.W;
    const float* go = gout + (n * g.C + c) * HoWo + q0;
    for (int64_t q = 0; q < count; ++q) {
      float nw = tap_value(t, plane, 0, q), ne = tap_value(t, plane, 1, q);
      float sw = tap_value(t, plane, 2, q), se = tap_value(t, plane, 3, q);
      float ix = s.ix[q], iy = s.iy[q];
      float v = go[q], ey = fy[q] + 1.f - iy, dy = iy - fy[q], ex = fx[q] + 1.f - ix, dx = ix - fx[q];
      gix[q] += v * (-nw * ey + ne * ey - sw * dy + se * dy);
      giy[q] += v * (-nw * ex - ne * dx + sw * ex + se * dx);
    }
  }
  for (int64_t q = 0; q < count; ++q) {
    ggrid[2 * (p0 + q)] = gix[q] * s.gx_mult[q];
    ggrid[2 * (p0 + q) + 1] = giy[q] * s.gy_mult[q];
  }
}
ANIMA_ISA_VERSIONS(grid_gradient_block,
                   (const GridGeometry& g, const float* in, const float* grid, const float* gout, float* ggrid,
                    int64_t block),
                   (g, in, grid, gout, ggrid, block))

ANIMA_ISA_BODY void taps_of_block_body(const GridGeometry& g, const float* grid, int64_t block, BlockTaps& t) {
  PixelBlock blk = pixel_block(g, block);
  BlockSources s;
  block_sources(g, grid, blk.n * g.Ho * g.Wo + blk.q0, blk.count, s);
  block_taps(g, s, blk.count, t);
}
ANIMA_ISA_VERSIONS(taps_of_block, (const GridGeometry& g, const float* grid, int64_t block, BlockTaps& t),
                   (g, grid, block, t))

// Input gradient: InputGradientPlane's scatter, one plane per thread in output order, from taps
// computed once per image instead of once per plane.
void input_gradient_cpu(const GridGeometry& g, const float* grid, const float* gout, float* gin) {
  const int64_t HoWo = g.Ho * g.Wo, per_image = blocks_per_image(g);
  std::vector<BlockTaps> taps(size_t(g.N * per_image));
  BlockTaps* pt = taps.data();
  cpu_for_rows(g.N * per_image, kPixelBlock * 4, [&](int64_t b) { taps_of_block(g, grid, b, pt[b]); });
  cpu_for_rows(g.N * g.C, HoWo * 4, [&](int64_t plane) {
    int64_t n = plane / g.C;
    float* dst = gin + plane * g.H * g.W;
    for (int64_t k = 0; k < g.H * g.W; ++k) dst[k] = 0.f;
    const float* go = gout + plane * HoWo;
    for (int64_t b = n * per_image; b < (n + 1) * per_image; ++b) {
      const BlockTaps& t = pt[b];
      PixelBlock blk = pixel_block(g, b);
      for (int64_t q = 0; q < blk.count; ++q) {
        float v = go[blk.q0 + q];
        for (int k = 0; k < 4; ++k)
          if (t.ok[k][q]) dst[t.off[k][q]] += t.w[k][q] * v;
      }
    }
  });
}

int64_t cpu_pixel_blocks(const GridGeometry& g) { return g.N * blocks_per_image(g); }

// The per-pixel bodies on the CPU (grid_sample_pixelwise_cpu): the GPU's code, the oracle of the
// blocked path.
bool g_pixelwise = false;

GridGeometry geometry(const Tensor& input, const Tensor& grid, const GridSampleOptions& o) {
  check_same_device("grid_sample", {&input, &grid});
  check_dtype("grid_sample", input, DType::F32);
  check_dtype("grid_sample", grid, DType::F32);
  const Shape &s = input.shape(), &gs = grid.shape();
  ANIMA_CHECK(s.ndim == 4 && gs.ndim == 4 && gs[3] == 2 && gs[0] == s[0], "grid_sample: expected input ",
              "[N, C, H, W] and grid [N, Ho, Wo, 2], got ", s.str(), " and ", gs.str());
  ANIMA_CHECK(s[2] > 0 && s[3] > 0, "grid_sample: empty input ", s.str());
  return {s[0], s[1], s[2], s[3], gs[1], gs[2], o.mode, o.padding, o.align_corners};
}

}  // namespace detail

bool set_grid_sample_pixelwise_cpu(bool on) {
  bool before = detail::g_pixelwise;
  detail::g_pixelwise = on;
  return before;
}

Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleOptions& o) {
  detail::GridGeometry g = detail::geometry(input, grid, o);
  Tensor out = Tensor::empty(Shape{g.N, g.C, g.Ho, g.Wo}, DType::F32, input.device());
  if (input.device().is_cpu() && !detail::g_pixelwise && detail::blocked_applies(g)) {
    const float *pin = input.data<float>(), *pgrid = grid.data<float>();
    float* pout = out.data<float>();
    cpu_for_rows(detail::cpu_pixel_blocks(g), detail::kPixelBlock * g.C * 4,
                 [&](int64_t b) { detail::forward_block(g, pin, pgrid, pout, b); });
    return out;
  }
  parallel_for(input.device(), g.N * g.Ho * g.Wo,
               detail::Forward{g, input.data<float>(), grid.data<float>(), out.data<float>()});
  return out;
}

GridSampleGrads grid_sample_backward(const Tensor& gout, const Tensor& input, const Tensor& grid,
                                     const GridSampleOptions& o, bool need_input, bool need_grid) {
  detail::GridGeometry g = detail::geometry(input, grid, o);
  ANIMA_CHECK((gout.shape() == Shape{g.N, g.C, g.Ho, g.Wo}), "grid_sample_backward: gradient ", gout.shape().str(),
              " does not match the output [", g.N, ", ", g.C, ", ", g.Ho, ", ", g.Wo, "]");
  GridSampleGrads r;
  Device dev = input.device();
  if (need_grid) {
    r.grid = Tensor::empty(grid.shape(), DType::F32, dev);
    if (dev.is_cpu() && !detail::g_pixelwise && detail::blocked_applies(g) && g.mode == GridMode::Bilinear) {
      const float *pin = input.data<float>(), *pgrid = grid.data<float>(), *pgo = gout.data<float>();
      float* pgg = r.grid.data<float>();
      cpu_for_rows(detail::cpu_pixel_blocks(g), detail::kPixelBlock * g.C * 8,
                   [&](int64_t b) { detail::grid_gradient_block(g, pin, pgrid, pgo, pgg, b); });
    } else {
      parallel_for(
          dev, g.N * g.Ho * g.Wo,
          detail::GridGradient{g, input.data<float>(), grid.data<float>(), gout.data<float>(), r.grid.data<float>()});
    }
  }
  if (need_input) {
    r.input = Tensor::empty(input.shape(), DType::F32, dev);
#if ANIMA_CUDA && defined(__CUDACC__)
    if (dev.is_cuda() && !deterministic()) {
      ANIMA_CUDA_CHECK(cudaMemsetAsync(r.input.data_ptr(), 0, r.input.nbytes(), 0));
      int64_t pixels = g.N * g.Ho * g.Wo;
      if (pixels > 0) {
        detail::input_gradient_atomic<<<grid_size_for(pixels), kThreadsPerBlock>>>(
            g, grid.data<float>(), gout.data<float>(), r.input.data<float>(), pixels);
        ANIMA_CUDA_CHECK_LAUNCH("input_gradient_atomic");
      }
      return r;
    }
#endif
    if (dev.is_cpu() && !detail::g_pixelwise && detail::blocked_applies(g)) {
      detail::input_gradient_cpu(g, grid.data<float>(), gout.data<float>(), r.input.data<float>());
      return r;
    }
    parallel_for(dev, g.N * g.C,
                 detail::InputGradientPlane{g, grid.data<float>(), gout.data<float>(), r.input.data<float>()});
  }
  return r;
}

}  // namespace anima::kernels
