#include "kernels/conv_im2col.h"

#include <algorithm>

#include "kernels/cpu_blas.h"
#include "kernels/launch.h"
#include "kernels/math_mode.h"
#include "kernels/reduce.h"

namespace anima::kernels {

ops::ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Shape& out, const Conv2dParams& p) {
  return {x[1] / p.groups, x[2],       x[3],    w[2],    w[3],    out[2], out[3],
          p.stride_h,      p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w};
}

namespace im2col {

int64_t images_per_gemm(const ops::ConvGeometry& g, int64_t N, bool per_thread) {
  if (deterministic() || ops::is_pointwise(g)) return 1;
  int64_t n = std::max<int64_t>(N, 1), threads = per_thread ? std::min<int64_t>(n, cpu_max_threads()) : 1;
  return std::clamp<int64_t>(kBatchColumns / (g.Ho * g.Wo), 1, (n + threads - 1) / threads);
}

namespace {

// The work: `count` GEMMs (runs of up to `per_gemm` images, times the groups), in parallel on
// `threads` threads when there are several and enough work.
struct Items {
  int64_t count, threads;
  bool parallel() const { return threads > 1; }
};

Items items_of(int64_t gemms, int64_t work_per_gemm) {
  cpu_blas_single_thread();
  bool many = gemms > 1 && gemms * work_per_gemm >= kOmpMinWork;
  return {gemms, many ? std::min<int64_t>(gemms, cpu_max_threads()) : 1};
}

// The images [n0, n0 + count) of a run: image i's C*H*W floats (of one group) at x + i * stride.
// col [K, count * Q] gets image i's column matrix in columns [i Q, (i + 1) Q). A 1x1 stride-1
// convolution (one image per GEMM) reads x directly.
const float* columns(const ops::ConvGeometry& g, const float* x, int64_t stride, int64_t count, float* col) {
  if (ops::is_pointwise(g)) return x;
  int64_t Q = g.Ho * g.Wo, K = g.C * g.kh * g.kw, ld = count * Q;
#pragma omp parallel for schedule(static) if (K * ld >= kOmpMinWork)
  for (int64_t r = 0; r < K; ++r)
    for (int64_t i = 0; i < count; ++i) ops::im2col_row(g, x + i * stride, r, col + r * ld + i * Q);
  return col;
}

// Between `count` images' [rows, Q] blocks (image i's at blocks + i * stride) and one matrix
// [rows, count * Q] holding them side by side.
void gather(const float* blocks, int64_t stride, int64_t rows, int64_t Q, int64_t count, float* matrix) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count; ++i)
      std::copy(blocks + i * stride + r * Q, blocks + i * stride + (r + 1) * Q, matrix + (r * count + i) * Q);
}
void scatter(const float* matrix, int64_t rows, int64_t Q, int64_t count, float* blocks, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count; ++i)
      std::copy(matrix + (r * count + i) * Q, matrix + (r * count + i + 1) * Q, blocks + i * stride + r * Q);
}

// The output gradient of the run of `count` images from n0 (group grp) as one [Cog, count * Q]
// matrix: in place for one image, else gathered into `staged`.
const float* gradient_matrix(const float* gout, int64_t n0, int64_t count, int64_t Co, int64_t grp, int64_t Cog,
                             int64_t Q, float* staged) {
  const float* gm = gout + (n0 * Co + grp * Cog) * Q;
  if (count == 1) return gm;
  gather(gm, Co * Q, Cog, Q, count, staged);
  return staged;
}

}  // namespace

// One image and group whose column matrix is large (batch 1: the generators' 7x7 convolutions
// at 256x256, 38 MB of columns for 3 input channels): blocks of whole output rows, each thread
// building a block's columns (about kBlockFloats) and running its GEMM while they are in its
// cache. Each output is the same dot product as in the whole GEMM, up to the kernel OpenBLAS
// picks for a block of that width; so deterministic mode keeps the whole GEMM.
constexpr int64_t kBlockFloats = int64_t(1) << 18;
bool by_row_blocks(const ops::ConvGeometry& g, int64_t N, int64_t groups) {
  return N == 1 && groups == 1 && !ops::is_pointwise(g) && !deterministic() &&
         g.C * g.kh * g.kw * g.Ho * g.Wo >= 8 * kBlockFloats;
}

namespace {

void forward_by_row_blocks(const ops::ConvGeometry& g, int64_t Co, const float* x, const float* w, const float* bias,
                           float* out) {
  int64_t K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  int64_t rows = std::max<int64_t>(1, kBlockFloats / (K * g.Wo)), blocks = (g.Ho + rows - 1) / rows;
  int64_t threads = std::min<int64_t>(blocks, cpu_max_threads());
  Tensor col = Tensor::empty(Shape{threads * K * rows * g.Wo});
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(threads))
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t ho0 = b * rows, ho1 = std::min(g.Ho, ho0 + rows), n = (ho1 - ho0) * g.Wo;
    float* c = col.data<float>() + cpu_thread_index() * K * rows * g.Wo;
    for (int64_t r = 0; r < K; ++r) ops::im2col_row_range(g, x, r, ho0, ho1, c + r * n);
    float* o = out + ho0 * g.Wo;
    if (bias)
      for (int64_t co = 0; co < Co; ++co) std::fill(o + co * Q, o + co * Q + n, bias[co]);
    cpu_sgemm(false, false, Co, n, K, 1.f, w, K, c, n, bias ? 1.f : 0.f, o, Q);
  }
}

}  // namespace

Tensor forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = conv_geometry(x.shape(), w.shape(), out_shape, p);
  int64_t N = x.size(0), Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  if (by_row_blocks(g, N, p.groups)) {
    forward_by_row_blocks(g, Co, x.data<float>(), w.data<float>(), pb, out.data<float>());
    return out;
  }
  int64_t per_gemm = images_per_gemm(g, N), runs = (N + per_gemm - 1) / per_gemm, plane = g.C * g.H * g.W;
  Items items = items_of(runs * p.groups, Cog * K * Q * per_gemm);
  int64_t col_size = ops::is_pointwise(g) ? 1 : K * Q * per_gemm, out_size = per_gemm > 1 ? Cog * Q * per_gemm : 1;
  Tensor col = Tensor::empty(Shape{items.threads * col_size});
  Tensor staged = Tensor::empty(Shape{items.threads * out_size});
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  float* po = out.data<float>();
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t run = it / p.groups, grp = it % p.groups, t = cpu_thread_index();
    int64_t n0 = run * per_gemm, count = std::min(per_gemm, N - n0), ld = count * Q;
    float* dst = po + (n0 * Co + grp * Cog) * Q;
    float* o = count == 1 ? dst : staged.data<float>() + t * out_size;
    // The bias initialises each output row and the GEMM adds to it (beta 1): acc + b, as an add after.
    if (pb)
      for (int64_t co = 0; co < Cog; ++co) std::fill(o + co * ld, o + (co + 1) * ld, pb[grp * Cog + co]);
    const float* c =
        columns(g, px + (n0 * p.groups + grp) * plane, p.groups * plane, count, col.data<float>() + t * col_size);
    cpu_sgemm(false, false, Cog, ld, K, 1.f, pw + grp * Cog * K, K, c, ld, pb ? 1.f : 0.f, o, ld);
    if (count > 1) scatter(o, Cog, Q, count, dst, Co * Q);
  }
  return out;
}

Tensor backward_input(const Tensor& gout, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  Tensor dx = Tensor::empty(x_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = conv_geometry(x_shape, w.shape(), gout.shape(), p);
  int64_t N = x_shape[0], Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  int64_t per_gemm = images_per_gemm(g, N), runs = (N + per_gemm - 1) / per_gemm, plane = g.C * g.H * g.W;
  Items items = items_of(runs * p.groups, Cog * K * Q * per_gemm);
  bool direct = ops::is_pointwise(g);  // one image per GEMM, which writes dx itself
  int64_t col_size = direct ? 1 : K * Q * per_gemm, gout_size = per_gemm > 1 ? Cog * Q * per_gemm : 1;
  Tensor col = Tensor::empty(Shape{items.threads * col_size});
  Tensor staged = Tensor::empty(Shape{items.threads * gout_size});
  const float* pg = gout.data<float>();
  const float* pw = w.data<float>();
  float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t run = it / p.groups, grp = it % p.groups, t = cpu_thread_index();
    int64_t n0 = run * per_gemm, count = std::min(per_gemm, N - n0), ld = count * Q;
    float* dst = pdx + (n0 * p.groups + grp) * plane;
    const float* gm = gradient_matrix(pg, n0, count, Co, grp, Cog, Q, staged.data<float>() + t * gout_size);
    float* pc = direct ? dst : col.data<float>() + t * col_size;
    // col = W_g^T @ grad_out (K x count Q); a pointwise conv writes it straight into dx.
    cpu_sgemm(true, false, K, ld, Cog, 1.f, pw + grp * Cog * K, K, gm, ld, 0.f, pc, ld);
    if (direct) continue;
    for (int64_t i = 0; i < count; ++i) {
      float* d = dst + i * p.groups * plane;
      std::fill(d, d + plane, 0.f);
#pragma omp parallel for schedule(static) if (K * Q >= kOmpMinWork)
      for (int64_t c = 0; c < g.C; ++c) ops::col2im_channel(g, pc + i * Q, ld, c, d + c * g.H * g.W);
    }
  }
  return dx;
}

// dW sums over the images. The images are cut into two contiguous halves (a fixed count, not one
// per thread; one range below the parallel threshold); each half accumulates its runs of images
// in order into its own copy of dW, the halves (and groups) run in parallel, and the copies are
// added. So the sum is the same at every thread count, and (one image per GEMM) equals what two
// threads computed when each thread kept its own copy (the runs before 7c11464 on 2-core machines).
Tensor backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape, const Conv2dParams& p) {
  ops::ConvGeometry g = conv_geometry(x.shape(), w_shape, gout.shape(), p);
  int64_t N = x.size(0), Co = w_shape[0], Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  int64_t dw_size = Co * K, plane = g.C * g.H * g.W;
  // Small convolutions (below the parallel threshold) sum all images in one range.
  bool split = N * p.groups > 1 && N * p.groups * Cog * K * Q >= kOmpMinWork;
  int64_t ranges = split ? std::min<int64_t>(N, 2) : 1;
  int64_t per_gemm = images_per_gemm(g, (N + ranges - 1) / ranges, false);
  Items items = items_of(ranges * p.groups, (N / ranges) * Cog * K * Q);
  int64_t col_size = ops::is_pointwise(g) ? 1 : K * Q * per_gemm, gout_size = per_gemm > 1 ? Cog * Q * per_gemm : 1;
  Tensor col = Tensor::empty(Shape{items.threads * col_size});
  Tensor staged = Tensor::empty(Shape{items.threads * gout_size});
  Tensor partial = Tensor::zeros(Shape{ranges, dw_size});
  const float* px = x.data<float>();
  const float* pg = gout.data<float>();
  float* ppart = partial.data<float>();
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t range = it / p.groups, grp = it % p.groups, t = cpu_thread_index();
    int64_t end = (range + 1) * N / ranges;
    for (int64_t n0 = range * N / ranges; n0 < end; n0 += per_gemm) {
      int64_t count = std::min(per_gemm, end - n0), ld = count * Q;
      const float* c =
          columns(g, px + (n0 * p.groups + grp) * plane, p.groups * plane, count, col.data<float>() + t * col_size);
      const float* gm = gradient_matrix(pg, n0, count, Co, grp, Cog, Q, staged.data<float>() + t * gout_size);
      // dW_g += grad_out (Cog x count Q) @ col^T (count Q x K)
      cpu_sgemm(false, true, Cog, K, ld, 1.f, gm, ld, c, ld, 1.f, ppart + range * dw_size + grp * Cog * K, K);
    }
  }
  if (ranges == 1) return raw::view(partial, w_shape);
  return raw::view(sum(partial, {0}), w_shape);
}

}  // namespace im2col
}  // namespace anima::kernels
