#include "kernels/grid_sample.h"
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

Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleOptions& o) {
  detail::GridGeometry g = detail::geometry(input, grid, o);
  Tensor out = Tensor::empty(Shape{g.N, g.C, g.Ho, g.Wo}, DType::F32, input.device());
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
    parallel_for(
        dev, g.N * g.Ho * g.Wo,
        detail::GridGradient{g, input.data<float>(), grid.data<float>(), gout.data<float>(), r.grid.data<float>()});
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
    parallel_for(dev, g.N * g.C,
                 detail::InputGradientPlane{g, grid.data<float>(), gout.data<float>(), r.input.data<float>()});
  }
  return r;
}

}  // namespace anima::kernels
