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

// Tap k of pixel q of the block: plane offset, weight, whether in bounds (PyTorch skips the
// others: they add nothing, not even 0 * inf). Nearest uses tap 0 only.
struct BlockTaps {
  int64_t off[4][kPixelBlock];
  float w[4][kPixelBlock];
  bool ok[4][kPixelBlock];
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

ANIMA_ISA_BODY void block_taps(const GridGeometry& g, const float* grid, int64_t p0, int64_t count, BlockTaps& t) {
  for (int64_t q = 0; q < count; ++q) {
    Source s = source_of(g, grid, p0 + q);
    int k = 0;
    visit_taps(g, s, [&](int64_t off, float w) {  // the in-bounds taps, in visiting order
      t.off[k][q] = off;
      t.w[k][q] = w;
      t.ok[k][q] = true;
      ++k;
    });
    for (; k < 4; ++k) t.ok[k][q] = false;
  }
}

ANIMA_ISA_BODY void forward_block_body(const GridGeometry& g, const float* in, const float* grid, float* out,
                                       int64_t block) {
  const int64_t HoWo = g.Ho * g.Wo;
  const auto [n, q0, count] = pixel_block(g, block);
  BlockTaps t;
  block_taps(g, grid, n * HoWo + q0, count, t);
  for (int64_t c = 0; c < g.C; ++c) {
    const float* plane = in + (n * g.C + c) * g.H * g.W;
    float* o = out + (n * g.C + c) * HoWo + q0;
    for (int64_t q = 0; q < count; ++q) {
      float acc = 0.f;
      for (int k = 0; k < 4; ++k)
        if (t.ok[k][q]) acc += plane[t.off[k][q]] * t.w[k][q];
      o[q] = acc;
    }
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
  float ix[kPixelBlock], iy[kPixelBlock], fx[kPixelBlock], fy[kPixelBlock], gix[kPixelBlock], giy[kPixelBlock];
  int64_t x0[kPixelBlock], y0[kPixelBlock];
  float gx_mult[kPixelBlock], gy_mult[kPixelBlock];
  for (int64_t q = 0; q < count; ++q) {
    Source s = source_of(g, grid, p0 + q);
    ops::BilinearTaps t = ops::grid_bilinear_taps(s.ix, s.iy);
    ix[q] = s.ix, iy[q] = s.iy, gx_mult[q] = s.gx_mult, gy_mult[q] = s.gy_mult;
    x0[q] = t.x0, y0[q] = t.y0, fx[q] = float(t.x0), fy[q] = float(t.y0);
    gix[q] = giy[q] = 0.f;
  }
  for (int64_t c = 0; c < g.C; ++c) {
    const float* plane = in + (n * g.C + c) * g.H * g.W;
    const float* go = gout + (n * g.C + c) * HoWo + q0;
    for (int64_t q = 0; q < count; ++q) {
      auto val = [&](int64_t x, int64_t y) { return ops::grid_in_bounds(x, y, g.W, g.H) ? plane[y * g.W + x] : 0.f; };
      int64_t x = x0[q], y = y0[q];
      float nw = val(x, y), ne = val(x + 1, y), sw = val(x, y + 1), se = val(x + 1, y + 1);
      float v = go[q], ey = fy[q] + 1.f - iy[q], dy = iy[q] - fy[q], ex = fx[q] + 1.f - ix[q], dx = ix[q] - fx[q];
      gix[q] += v * (-nw * ey + ne * ey - sw * dy + se * dy);
      giy[q] += v * (-nw * ex - ne * dx + sw * ex + se * dx);
    }
  }
  for (int64_t q = 0; q < count; ++q) {
    ggrid[2 * (p0 + q)] = gix[q] * gx_mult[q];
    ggrid[2 * (p0 + q) + 1] = giy[q] * gy_mult[q];
  }
}
ANIMA_ISA_VERSIONS(grid_gradient_block,
                   (const GridGeometry& g, const float* in, const float* grid, const float* gout, float* ggrid,
                    int64_t block),
                   (g, in, grid, gout, ggrid, block))

// Input gradient: InputGradientPlane's scatter, one plane per thread in output order, from taps
// computed once per image instead of once per plane.
void input_gradient_cpu(const GridGeometry& g, const float* grid, const float* gout, float* gin) {
  const int64_t HoWo = g.Ho * g.Wo, per_image = blocks_per_image(g);
  std::vector<BlockTaps> taps(size_t(g.N * per_image));
  BlockTaps* pt = taps.data();
  cpu_for_rows(g.N * per_image, kPixelBlock * 4, [&](int64_t b) {
    PixelBlock blk = pixel_block(g, b);
    block_taps(g, grid, blk.n * HoWo + blk.q0, blk.count, pt[b]);
  });
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
  if (input.device().is_cpu() && !detail::g_pixelwise) {
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
    if (dev.is_cpu() && !detail::g_pixelwise && g.mode == GridMode::Bilinear) {
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
    if (dev.is_cpu() && !detail::g_pixelwise) {
      detail::input_gradient_cpu(g, grid.data<float>(), gout.data<float>(), r.input.data<float>());
      return r;
    }
    parallel_for(dev, g.N * g.C,
                 detail::InputGradientPlane{g, grid.data<float>(), gout.data<float>(), r.input.data<float>()});
  }
  return r;
}

}  // namespace anima::kernels
