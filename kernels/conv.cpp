#include "kernels/conv.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/conv_ops.h"
#include "kernels/cpu_blas.h"
#include "kernels/cudnn_backend.h"
#include "kernels/elementwise.h"
#include "kernels/launch.h"
#include "kernels/reduce.h"

namespace anima::kernels {
namespace {

void check_inputs(const char* op, const Tensor& x, const Tensor& w) {
  check_same_device(op, {&x, &w});
  check_dtype(op, x, DType::F32);
  check_dtype(op, w, DType::F32);
}

ops::ConvGeometry geometry(const Shape& x, const Shape& w, const Shape& out, const Conv2dParams& p) {
  return {x[1] / p.groups, x[2], x[3], w[2], w[3], out[2], out[3],
          p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w};
}

bool is_pointwise(const ops::ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// col (rows C*kh*kw, cols Ho*Wo) of one image-group; a 1x1 stride-1 conv reads x directly.
const float* im2col(const ops::ConvGeometry& g, const float* x, float* col) {
  if (is_pointwise(g)) return x;
  int64_t q = g.Ho * g.Wo;
#pragma omp parallel for schedule(static) if (g.C * g.kh * g.kw * q >= kOmpMinWork)
  for (int64_t r = 0; r < g.C * g.kh * g.kw; ++r) ops::im2col_row(g, x, r, col + r * q);
  return col;
}

// The CPU convolution is im2col + one single-threaded GEMM per image and group (cpu_blas.h). The
// images and groups run in parallel, each thread with its own column buffer; a single item
// parallelises its im2col / col2im instead (the nested regions then run on one thread).
struct ConvItems {
  int64_t count, threads;
  bool parallel() const { return threads > 1; }
};

ConvItems conv_items(int64_t n, int64_t groups, int64_t work_per_item) {
  cpu_blas_single_thread();
  int64_t count = n * groups;
  bool many = count > 1 && count * work_per_item >= kOmpMinWork;
  return {count, many ? std::min<int64_t>(count, cpu_max_threads()) : 1};
}

Tensor conv2d_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                  const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = geometry(x.shape(), w.shape(), out_shape, p);
  int64_t Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  ConvItems items = conv_items(x.size(0), p.groups, Cog * K * Q);
  int64_t col_size = is_pointwise(g) ? 1 : K * Q;
  Tensor col = Tensor::empty(Shape{items.threads * col_size});
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  float* po = out.data<float>();
  float* pcol = col.data<float>();
  // The bias initialises each output row and the GEMM adds to it (beta 1): acc + b, as an add after.
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t n = it / p.groups, grp = it % p.groups;
    float* o = po + (n * Co + grp * Cog) * Q;
    if (pb)
      for (int64_t co = 0; co < Cog; ++co) std::fill(o + co * Q, o + (co + 1) * Q, pb[grp * Cog + co]);
    const float* c = im2col(g, px + (n * p.groups + grp) * g.C * g.H * g.W, pcol + cpu_thread_index() * col_size);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(Cog), int(Q), int(K), 1.f, pw + grp * Cog * K, int(K),
                c, int(Q), pb ? 1.f : 0.f, o, int(Q));
  }
  return out;
}

Tensor conv2d_backward_input_cpu(const Tensor& gout, const Tensor& w, const Shape& x_shape,
                                 const Conv2dParams& p) {
  Tensor dx = Tensor::empty(x_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = geometry(x_shape, w.shape(), gout.shape(), p);
  int64_t Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  ConvItems items = conv_items(x_shape[0], p.groups, Cog * K * Q);
  bool direct = is_pointwise(g);
  Tensor col = Tensor::empty(Shape{direct ? 1 : items.threads * K * Q});
  float* pcol = col.data<float>();
  const float* pg = gout.data<float>();
  const float* pw = w.data<float>();
  float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t n = it / p.groups, grp = it % p.groups;
    float* dst = pdx + (n * p.groups + grp) * g.C * g.H * g.W;
    float* pc = direct ? dst : pcol + cpu_thread_index() * K * Q;
    // col = W_g^T @ grad_out (K x Q); a pointwise conv writes it straight into dx.
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), int(Q), int(Cog), 1.f, pw + grp * Cog * K, int(K),
                pg + (n * Co + grp * Cog) * Q, int(Q), 0.f, pc, int(Q));
    if (!direct) {
      std::fill(dst, dst + g.C * g.H * g.W, 0.f);
#pragma omp parallel for schedule(static) if (K * Q >= kOmpMinWork)
      for (int64_t c = 0; c < g.C; ++c) ops::col2im_channel(g, pc, c, dst + c * g.H * g.W);
    }
  }
  return dx;
}

// dW sums over the images: each thread accumulates its images into its own copy of dW (the
// items are split statically, so the sum is the same on every run with the same thread count),
// and the copies are added in thread order.
Tensor conv2d_backward_weight_cpu(const Tensor& gout, const Tensor& x, const Shape& w_shape,
                                  const Conv2dParams& p) {
  ops::ConvGeometry g = geometry(x.shape(), w_shape, gout.shape(), p);
  int64_t Co = w_shape[0], Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo;
  ConvItems items = conv_items(x.size(0), p.groups, Cog * K * Q);
  int64_t col_size = is_pointwise(g) ? 1 : K * Q, dw_size = Co * K;
  Tensor col = Tensor::empty(Shape{items.threads * col_size});
  Tensor partial = Tensor::zeros(Shape{items.threads, dw_size});
  const float* px = x.data<float>();
  const float* pg = gout.data<float>();
  float* pcol = col.data<float>();
  float* ppart = partial.data<float>();
#pragma omp parallel for schedule(static) num_threads(items.threads) if (items.parallel())
  for (int64_t it = 0; it < items.count; ++it) {
    int64_t n = it / p.groups, grp = it % p.groups, t = cpu_thread_index();
    const float* c = im2col(g, px + (n * p.groups + grp) * g.C * g.H * g.W, pcol + t * col_size);
    // dW_g += grad_out (Cog x Q) @ col^T (Q x K)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(Cog), int(K), int(Q), 1.f, pg + (n * Co + grp * Cog) * Q,
                int(Q), c, int(Q), 1.f, ppart + t * dw_size + grp * Cog * K, int(K));
  }
  if (items.threads == 1) return raw::view(partial, w_shape);
  return raw::view(sum(partial, {0}), w_shape);
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  ANIMA_CHECK(x.ndim == 4 && w.ndim == 4, "conv2d: expected input [N, C, H, W] and weight ",
              "[Co, C/groups, kh, kw], got ", x.str(), " and ", w.str());
  ANIMA_CHECK(p.groups >= 1 && p.stride_h >= 1 && p.stride_w >= 1 && p.dil_h >= 1 &&
                  p.dil_w >= 1 && p.pad_h >= 0 && p.pad_w >= 0,
              "conv2d: invalid parameters (groups ", p.groups, ", stride ", p.stride_h, "x",
              p.stride_w, ", dilation ", p.dil_h, "x", p.dil_w, ", padding ", p.pad_h, "x", p.pad_w, ")");
  ANIMA_CHECK(x[1] % p.groups == 0 && w[0] % p.groups == 0 && w[1] * p.groups == x[1],
              "conv2d: input ", x.str(), " and weight ", w.str(), " do not match for ", p.groups,
              " groups (need C = weight[1] * groups, Co divisible by groups)");
  int64_t eff_h = p.dil_h * (w[2] - 1) + 1, eff_w = p.dil_w * (w[3] - 1) + 1;
  int64_t Ho = (x[2] + 2 * p.pad_h - eff_h) / p.stride_h + 1;
  int64_t Wo = (x[3] + 2 * p.pad_w - eff_w) / p.stride_w + 1;
  ANIMA_CHECK(x[2] + 2 * p.pad_h >= eff_h && x[3] + 2 * p.pad_w >= eff_w, "conv2d: kernel ",
              w[2], "x", w[3], " (dilation ", p.dil_h, "x", p.dil_w, ") is larger than the padded input ",
              x.str());
  return Shape{x[0], w[0], Ho, Wo};
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  check_inputs("conv2d", x, w);
  Shape out = conv2d_output_shape(x.shape(), w.shape(), p);
  if (bias.defined()) {
    check_same_device("conv2d", {&x, &bias});
    check_dtype("conv2d", bias, DType::F32);
    ANIMA_CHECK(bias.shape() == Shape{w.size(0)}, "conv2d: bias ", bias.shape().str(),
                " does not match ", w.size(0), " output channels");
  }
  if (out.numel() == 0 || x.numel() == 0) return kernels::full(out, 0.0, DType::F32, x.device());
  if (x.is_cuda()) return cudnn::conv2d_forward(x, w, bias, p, out);
  return conv2d_cpu(x, w, bias, p, out);
}

Tensor conv2d_backward_input(const Tensor& gout, const Tensor& w, const Shape& x_shape,
                             const Conv2dParams& p) {
  check_inputs("conv2d_backward_input", gout, w);
  ANIMA_CHECK(conv2d_output_shape(x_shape, w.shape(), p) == gout.shape(),
              "conv2d_backward_input: gradient ", gout.shape().str(), " does not match the output of ",
              x_shape.str(), " * ", w.shape().str());
  if (gout.numel() == 0 || x_shape.numel() == 0) return kernels::full(x_shape, 0.0, DType::F32, gout.device());
  if (gout.is_cuda()) return cudnn::conv2d_backward_data(gout, w, x_shape, p);
  return conv2d_backward_input_cpu(gout, w, x_shape, p);
}

Tensor conv2d_backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape,
                              const Conv2dParams& p) {
  check_inputs("conv2d_backward_weight", gout, x);
  ANIMA_CHECK(conv2d_output_shape(x.shape(), w_shape, p) == gout.shape(),
              "conv2d_backward_weight: gradient ", gout.shape().str(), " does not match the output of ",
              x.shape().str(), " * ", w_shape.str());
  if (gout.numel() == 0 || x.numel() == 0) return kernels::full(w_shape, 0.0, DType::F32, gout.device());
  if (gout.is_cuda()) return cudnn::conv2d_backward_filter(gout, x, w_shape, p);
  return conv2d_backward_weight_cpu(gout, x, w_shape, p);
}

Tensor conv2d_backward_bias(const Tensor& gout) { return sum(gout, {0, 2, 3}); }

Tensor conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  ANIMA_CHECK(x.device().is_cpu(), "conv2d_reference: CPU tensors only");
  Shape os = conv2d_output_shape(x.shape(), w.shape(), p);
  Tensor out = Tensor::empty(os);
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  float* po = out.data<float>();
  int64_t C = x.size(1), H = x.size(2), W = x.size(3), Cg = C / p.groups, Cog = os[1] / p.groups;
  for (int64_t n = 0; n < os[0]; ++n)
    for (int64_t co = 0; co < os[1]; ++co)
      for (int64_t ho = 0; ho < os[2]; ++ho)
        for (int64_t wo = 0; wo < os[3]; ++wo) {
          double acc = pb ? pb[co] : 0.0;
          int64_t grp = co / Cog;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < w.size(2); ++i)
              for (int64_t j = 0; j < w.size(3); ++j) {
                int64_t h = ho * p.stride_h - p.pad_h + i * p.dil_h;
                int64_t ww = wo * p.stride_w - p.pad_w + j * p.dil_w;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += double(px[((n * C + grp * Cg + c) * H + h) * W + ww]) *
                       double(pw[((co * Cg + c) * w.size(2) + i) * w.size(3) + j]);
              }
          po[((n * os[1] + co) * os[2] + ho) * os[3] + wo] = float(acc);
        }
  return out;
}

}  // namespace anima::kernels
