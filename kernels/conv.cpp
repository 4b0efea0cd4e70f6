#include "kernels/conv.h"

#include <algorithm>

#include "kernels/conv_im2col.h"
#include "kernels/conv_ops.h"
#include "kernels/conv_winograd.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_isa.h"
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

// The direct path (row bodies in conv_ops.h). Its loops are compiled for AVX-512, AVX2 and plain
// x86-64 and run the widest the CPU has (kernels/cpu_isa.h); every version adds in the same order
// and none fuses a multiply-add, so all three give the same bits.
ANIMA_ISA_BODY void direct_row_body(const ops::ConvGeometry& g, const float* x, const float* wk, float bias, int64_t ho,
                                    float* out) {
  ops::conv_direct_row(g, x, wk, bias, ho, out);
}
ANIMA_ISA_VERSIONS(direct_row,
                   (const ops::ConvGeometry& g, const float* x, const float* wk, float bias, int64_t ho, float* out),
                   (g, x, wk, bias, ho, out))
ANIMA_ISA_BODY void direct_backward_input_row_body(const ops::ConvGeometry& g, int64_t Cog, const float* gout,
                                                   const float* w, int64_t c, int64_t h, float* dx_row) {
  ops::conv_direct_backward_input_row(g, Cog, gout, w, c, h, dx_row);
}
ANIMA_ISA_VERSIONS(direct_backward_input_row,
                   (const ops::ConvGeometry& g, int64_t Cog, const float* gout, const float* w, int64_t c, int64_t h,
                    float* dx_row),
                   (g, Cog, gout, w, c, h, dx_row))
ANIMA_ISA_BODY void direct_backward_weight_row_body(const ops::ConvGeometry& g, int64_t n_images, const float* x,
                                                    int64_t x_stride, const float* gout, int64_t g_stride, int64_t co,
                                                    int64_t c, int64_t i, float* acc, float* dw) {
  ops::conv_direct_backward_weight_row(g, n_images, x, x_stride, gout, g_stride, co, c, i, acc, dw);
}
ANIMA_ISA_VERSIONS(direct_backward_weight_row,
                   (const ops::ConvGeometry& g, int64_t n_images, const float* x, int64_t x_stride, const float* gout,
                    int64_t g_stride, int64_t co, int64_t c, int64_t i, float* acc, float* dw),
                   (g, n_images, x, x_stride, gout, g_stride, co, c, i, acc, dw))

// Tiles of up to kTileChannels output channels (ops::conv_tile_row<CO>). Eight accumulators of 16
// floats fill a quarter of AVX-512's registers and let each input load serve eight channels:
// the demo's training step took 166-177 ms with blocks of 4, 141-148 ms with blocks of 8.
constexpr int64_t kTileChannels = 8;
ANIMA_ISA_BODY void tile_row_body(int CO, const ops::ConvGeometry& g, int64_t Wp, const float* xw, const float* wk,
                                  int64_t w_stride, const float* bias, int64_t ho, float* out, int64_t out_stride) {
  // clang-format off
  switch (CO) {
    case 1: return ops::conv_tile_row<1>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 2: return ops::conv_tile_row<2>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 3: return ops::conv_tile_row<3>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 4: return ops::conv_tile_row<4>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 5: return ops::conv_tile_row<5>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 6: return ops::conv_tile_row<6>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    case 7: return ops::conv_tile_row<7>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
    default: return ops::conv_tile_row<8>(g, Wp, xw, wk, w_stride, bias, ho, out, out_stride);
  }
  // clang-format on
}
ANIMA_ISA_VERSIONS(tile_row,
                   (int CO, const ops::ConvGeometry& g, int64_t Wp, const float* xw, const float* wk, int64_t w_stride,
                    const float* bias, int64_t ho, float* out, int64_t out_stride),
                   (CO, g, Wp, xw, wk, w_stride, bias, ho, out, out_stride))
ANIMA_ISA_BODY void tile_weight_row_body(int CO, const ops::ConvGeometry& g, int64_t Wp, int64_t Wt, int64_t n_images,
                                         const float* xw, int64_t x_stride, const float* gw, int64_t g_stride,
                                         int64_t g_co, int64_t c, int64_t i, float* dw, int64_t dw_stride) {
  // clang-format off
  switch (CO) {
    case 1: return ops::conv_tile_weight_row<1>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 2: return ops::conv_tile_weight_row<2>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 3: return ops::conv_tile_weight_row<3>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 4: return ops::conv_tile_weight_row<4>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 5: return ops::conv_tile_weight_row<5>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 6: return ops::conv_tile_weight_row<6>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    case 7: return ops::conv_tile_weight_row<7>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
    default: return ops::conv_tile_weight_row<8>(g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride);
  }
  // clang-format on
}
ANIMA_ISA_VERSIONS(tile_weight_row,
                   (int CO, const ops::ConvGeometry& g, int64_t Wp, int64_t Wt, int64_t n_images, const float* xw,
                    int64_t x_stride, const float* gw, int64_t g_stride, int64_t g_co, int64_t c, int64_t i, float* dw,
                    int64_t dw_stride),
                   (CO, g, Wp, Wt, n_images, xw, x_stride, gw, g_stride, g_co, c, i, dw, dw_stride))

int64_t round_up_to_tile(int64_t n) { return (n + ops::kTile - 1) / ops::kTile * ops::kTile; }

// `rows` rows of W floats, each padded to Wp with pad_left zeros in front (ops::pad_row), in parallel.
Tensor padded_rows(const float* src, int64_t rows, int64_t W, int64_t pad_left, int64_t Wp) {
  Tensor out = Tensor::empty(Shape{rows * Wp});
  float* po = out.data<float>();
  cpu_for_rows(rows, Wp, [&](int64_t r) { ops::pad_row(src + r * W, W, pad_left, Wp, po + r * Wp); });
  return out;
}

// The tiled forward convolution of stride 1 on raw arrays: x [N, groups*g.C, g.H, g.W], w
// [groups*Cog, g.C, kh, kw], bias [groups*Cog] or null, out [N, groups*Cog, g.Ho, g.Wo]. Output
// rows of up to 8 channels run in parallel.
void tiled_forward(const ops::ConvGeometry& g, int64_t N, int64_t groups, int64_t Cog, const float* x, const float* w,
                   const float* bias, float* out) {
  int64_t Ct = groups * g.C, Co = groups * Cog, K = g.C * g.kh * g.kw;
  int64_t Wp = round_up_to_tile(g.Wo) + (g.kw - 1) * g.dw;
  Tensor xw = padded_rows(x, N * Ct * g.H, g.W, g.pw, Wp);
  const float* pxw = xw.data<float>();
  int64_t blocks = (Cog + kTileChannels - 1) / kTileChannels;
  cpu_for_rows(N * groups * blocks * g.Ho, g.Wo * K * kTileChannels, [&](int64_t r) {
    int64_t ho = r % g.Ho, t = r / g.Ho, b = t % blocks, ng = t / blocks, grp = ng % groups, n = ng / groups;
    int64_t co0 = grp * Cog + b * kTileChannels;
    int CO = int(std::min(kTileChannels, Cog - b * kTileChannels));
    tile_row(CO, g, Wp, pxw + (n * Ct + grp * g.C) * g.H * Wp, w + co0 * K, K, bias ? bias + co0 : nullptr, ho,
             out + ((n * Co + co0) * g.Ho + ho) * g.Wo, g.Ho * g.Wo);
  });
}

// Whether the tiled kernels apply: stride 1, and for the input gradient (a convolution of the
// output gradient with the flipped kernel and padding (k - 1) d - p) padding no wider than the
// dilated kernel.
bool tiled_applies(const ops::ConvGeometry& g) { return g.sh == 1 && g.sw == 1; }
bool tiled_input_gradient_applies(const ops::ConvGeometry& g) {
  return tiled_applies(g) && g.ph <= (g.kh - 1) * g.dh && g.pw <= (g.kw - 1) * g.dw;
}

// CpuConvAlgo::Auto's choice, from per-shape timings against OpenBLAS's SkylakeX GEMM
// (bench/RESULTS.md, "Direct CPU convolution"): the tiled kernels win clearly up to about 8
// output channels per group (7x7 16->3 at 64x64: 4.6 ms forward + both gradients against 34),
// are level around 16 and lose from 32 on, where the GEMM's register blocking reuses each load
// for many more channels (3x3 256->256 at 16x16: 61 ms against 41). So, for stride 1, after
// Winograd where it pays (winograd_pays, below: it comes first for 3x3 kernels): tiled
// for the forward pass and the input gradient up to 16 output channels per group, for the
// weight gradient up to 12 (3x3 64->16 at 128x128: 83 ms tiled, 50 im2col); rows narrower than
// a tile only up to 4. The direct rows for strided convolutions with at most 4 output channels
// per group; im2col for everything else, 1x1 stride-1 convolutions included (a plain GEMM on x).
constexpr int64_t kRowsMaxOutChannels = 4;

enum class Path { Im2col, Rows, Tiled, Winograd };
enum class Pass { Forward, InputGradient, WeightGradient };

// Winograd F(2x2, 3x3) (conv_winograd.h), ahead of the tiled kernels and im2col, from 16 input and
// output channels (48 together) and 1024 2x2 output blocks over the batch; the weight gradient
// also with fewer blocks: for any batch above 1, and at batch 1 from a block per 8 channels.
// Narrower, its GEMMs lose (bench/RESULTS.md, "Winograd"). The forward pass and the input
// gradient also on 16x16 maps and more with 384 channels on the two sides together and 64 4x4
// blocks, in F(4x4) (winograd::f4_pays_on_small_maps).
bool winograd_pays(const ops::ConvGeometry& g, int64_t N, int64_t Cog, Pass pass) {
  int64_t blocks = N * ((g.Ho + 1) / 2) * ((g.Wo + 1) / 2);
  if (g.C < 16 || Cog < 16) return false;
  if (pass == Pass::WeightGradient) return N > 1 || 8 * blocks >= std::max(g.C, Cog);
  return (g.C + Cog >= 48 && blocks >= 1024) || winograd::f4_pays_on_small_maps(g, N, Cog);
}

// tiled_ok: the tiled kernel computes this convolution; winograd_ok: Winograd does; N: the batch.
Path choose_path(const ops::ConvGeometry& g, int64_t Cog, bool tiled_ok, Pass pass, bool winograd_ok, int64_t N) {
  switch (cpu_conv_algo()) {
    case CpuConvAlgo::Im2col:
      return Path::Im2col;
    case CpuConvAlgo::DirectRows:
      return Path::Rows;
    case CpuConvAlgo::DirectTiled:
      return tiled_ok ? Path::Tiled : Path::Rows;
    case CpuConvAlgo::Winograd:
      if (winograd_ok) return Path::Winograd;
      break;  // elsewhere Auto's choice
    case CpuConvAlgo::Auto:
      break;
  }
  bool few_outputs = Cog <= kRowsMaxOutChannels;
  int64_t tiled_max = pass == Pass::WeightGradient ? 12 : 16;
  if (ops::is_pointwise(g)) return Path::Im2col;
  if (winograd_ok && winograd_pays(g, N, Cog, pass)) return Path::Winograd;
  if (tiled_ok && Cog <= tiled_max && (g.Wo >= ops::kTile || few_outputs)) return Path::Tiled;
  return few_outputs ? Path::Rows : Path::Im2col;
}

Tensor conv2d_tiled_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                        const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::F32, Device::cpu());
  tiled_forward(conv_geometry(x.shape(), w.shape(), out_shape, p), x.size(0), p.groups, w.size(0) / p.groups,
                x.data<float>(), w.data<float>(), bias.defined() ? bias.data<float>() : nullptr, out.data<float>());
  return out;
}

// dx = the stride-1 convolution of the output gradient with the kernel flipped in both axes and
// its channel axes swapped (w'[grp][c][co][i][j] = w[grp][co][c][kh-1-i][kw-1-j]), padding
// (k - 1) d - p.
struct InputGradientConv {
  Tensor wt;             // [groups * g.C, Cog, kh, kw]: w flipped, its channel axes swapped
  ops::ConvGeometry gt;  // gout -> dx
};
InputGradientConv input_gradient_conv(const ops::ConvGeometry& g, const Tensor& w, int64_t groups) {
  int64_t Co = w.size(0), Cog = Co / groups, kk = g.kh * g.kw;
  Tensor wt = Tensor::empty(Shape{groups * g.C, Cog, g.kh, g.kw});
  const float* pw = w.data<float>();
  float* pwt = wt.data<float>();
  for (int64_t grp = 0; grp < groups; ++grp)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t co = 0; co < Cog; ++co)
        for (int64_t t = 0; t < kk; ++t)
          pwt[((grp * g.C + c) * Cog + co) * kk + t] = pw[((grp * Cog + co) * g.C + c) * kk + (kk - 1 - t)];
  ops::ConvGeometry gt{Cog,  g.Ho, g.Wo, g.kh, g.kw, g.H, g.W, 1, 1, (g.kh - 1) * g.dh - g.ph, (g.kw - 1) * g.dw - g.pw,
                       g.dh, g.dw};
  return {wt, gt};
}

Tensor conv2d_tiled_backward_input_cpu(const Tensor& gout, const Tensor& w, const Shape& x_shape,
                                       const Conv2dParams& p) {
  ops::ConvGeometry g = conv_geometry(x_shape, w.shape(), gout.shape(), p);
  InputGradientConv t = input_gradient_conv(g, w, p.groups);
  Tensor dx = Tensor::empty(x_shape, DType::F32, Device::cpu());
  tiled_forward(t.gt, x_shape[0], p.groups, g.C, gout.data<float>(), t.wt.data<float>(), nullptr, dx.data<float>());
  return dx;
}

// As the tiled one: a stride-1 convolution of gout with the flipped kernel.
Tensor conv2d_winograd_backward_input_cpu(const Tensor& gout, const Tensor& w, const Shape& x_shape,
                                          const Conv2dParams& p) {
  ops::ConvGeometry g = conv_geometry(x_shape, w.shape(), gout.shape(), p);
  InputGradientConv t = input_gradient_conv(g, w, 1);
  return winograd::conv2d(gout, t.wt, Tensor(), t.gt, x_shape);
}

// dw: tasks (block of up to 8 output channels, input channel, kernel row) in parallel, each
// summing over all images in a fixed order.
Tensor conv2d_tiled_backward_weight_cpu(const Tensor& gout, const Tensor& x, const Shape& w_shape,
                                        const Conv2dParams& p) {
  ops::ConvGeometry g = conv_geometry(x.shape(), w_shape, gout.shape(), p);
  int64_t N = x.size(0), Ct = x.size(1), Co = w_shape[0], Cog = Co / p.groups, K = g.C * g.kh * g.kw;
  int64_t Wt = round_up_to_tile(g.Wo), Wp = Wt + (g.kw - 1) * g.dw;
  Tensor xw = padded_rows(x.data<float>(), N * Ct * g.H, g.W, g.pw, Wp);
  Tensor gw = padded_rows(gout.data<float>(), N * Co * g.Ho, g.Wo, 0, Wt);
  Tensor dw = Tensor::empty(w_shape, DType::F32, Device::cpu());
  const float* pxw = xw.data<float>();
  const float* pgw = gw.data<float>();
  float* pdw = dw.data<float>();
  int64_t blocks = (Cog + kTileChannels - 1) / kTileChannels;
  cpu_for_rows(p.groups * blocks * g.C * g.kh, N * g.Ho * Wt * g.kw * kTileChannels, [&](int64_t r) {
    int64_t i = r % g.kh, t = r / g.kh, c = t % g.C, gb = t / g.C, b = gb % blocks, grp = gb / blocks;
    int64_t co0 = grp * Cog + b * kTileChannels;
    int CO = int(std::min(kTileChannels, Cog - b * kTileChannels));
    tile_weight_row(CO, g, Wp, Wt, N, pxw + grp * g.C * g.H * Wp, Ct * g.H * Wp, pgw + co0 * g.Ho * Wt, Co * g.Ho * Wt,
                    g.Ho * Wt, c, i, pdw + ((co0 * g.C + c) * g.kh + i) * g.kw, K);
  });
  return dw;
}

// Output rows (image, channel, ho) in parallel.
Tensor conv2d_direct_cpu(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                         const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = conv_geometry(x.shape(), w.shape(), out_shape, p);
  int64_t Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw;
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  float* po = out.data<float>();
  cpu_for_rows(out_shape[0] * Co * g.Ho, g.Wo * K, [&](int64_t r) {
    int64_t ho = r % g.Ho, nc = r / g.Ho, co = nc % Co, n = nc / Co, grp = co / Cog;
    direct_row(g, px + (n * p.groups + grp) * g.C * g.H * g.W, pw + co * K, pb ? pb[co] : 0.f, ho, po + r * g.Wo);
  });
  return out;
}

// Input rows (image, channel, h) in parallel; each row gathers its taps, no atomics.
Tensor conv2d_direct_backward_input_cpu(const Tensor& gout, const Tensor& w, const Shape& x_shape,
                                        const Conv2dParams& p) {
  Tensor dx = Tensor::empty(x_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = conv_geometry(x_shape, w.shape(), gout.shape(), p);
  int64_t Co = w.size(0), Cog = Co / p.groups, K = g.C * g.kh * g.kw, Q = g.Ho * g.Wo, Ct = x_shape[1];
  const float* pg = gout.data<float>();
  const float* pw = w.data<float>();
  float* pdx = dx.data<float>();
  cpu_for_rows(x_shape[0] * Ct * g.H, g.W * Cog * g.kh * g.kw, [&](int64_t r) {
    int64_t h = r % g.H, nc = r / g.H, c = nc % Ct, n = nc / Ct, grp = c / g.C;
    direct_backward_input_row(g, Cog, pg + (n * Co + grp * Cog) * Q, pw + grp * Cog * K, c % g.C, h, pdx + r * g.W);
  });
  return dx;
}

// Weight rows (output channel, input channel, kernel row) in parallel, each summing over all
// images in a fixed order, so the result is the same whatever the thread count.
Tensor conv2d_direct_backward_weight_cpu(const Tensor& gout, const Tensor& x, const Shape& w_shape,
                                         const Conv2dParams& p) {
  Tensor dw = Tensor::empty(w_shape, DType::F32, Device::cpu());
  ops::ConvGeometry g = conv_geometry(x.shape(), w_shape, gout.shape(), p);
  int64_t N = x.size(0), Co = w_shape[0], Cog = Co / p.groups, Q = g.Ho * g.Wo;
  int64_t acc_size = g.kw * g.Wo;
  Tensor acc = Tensor::empty(Shape{cpu_max_threads() * acc_size});
  const float* px = x.data<float>();
  const float* pg = gout.data<float>();
  float* pacc = acc.data<float>();
  float* pdw = dw.data<float>();
  cpu_for_rows(Co * g.C * g.kh, N * Q * g.kw, [&](int64_t r) {
    int64_t i = r % g.kh, t = r / g.kh, c = t % g.C, co = t / g.C, grp = co / Cog;
    direct_backward_weight_row(g, N, px + grp * g.C * g.H * g.W, x.size(1) * g.H * g.W, pg + grp * Cog * Q, Co * Q,
                               co % Cog, c, i, pacc + cpu_thread_index() * acc_size, pdw + r * g.kw);
  });
  return dw;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  check_inputs("conv2d", x, w);
  Shape out = conv2d_output_shape(x.shape(), w.shape(), p);
  if (bias.defined()) {
    check_same_device("conv2d", {&x, &bias});
    check_dtype("conv2d", bias, DType::F32);
    ANIMA_CHECK(bias.shape() == Shape{w.size(0)}, "conv2d: bias ", bias.shape().str(), " does not match ", w.size(0),
                " output channels");
  }
  if (out.numel() == 0 || x.numel() == 0) return kernels::full(out, 0.0, DType::F32, x.device());
  if (x.is_cuda()) return cudnn::conv2d_forward(x, w, bias, p, out);
  ops::ConvGeometry g = conv_geometry(x.shape(), w.shape(), out, p);
  switch (choose_path(g, w.size(0) / p.groups, tiled_applies(g), Pass::Forward, winograd::applies(g, p.groups),
                      x.size(0))) {
    case Path::Tiled:
      return conv2d_tiled_cpu(x, w, bias, p, out);
    case Path::Rows:
      return conv2d_direct_cpu(x, w, bias, p, out);
    case Path::Winograd:
      return winograd::conv2d(x, w, bias, g, out);
    case Path::Im2col:
      break;
  }
  return im2col::forward(x, w, bias, p, out);
}

Tensor conv2d_backward_input(const Tensor& gout, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  check_inputs("conv2d_backward_input", gout, w);
  ANIMA_CHECK(conv2d_output_shape(x_shape, w.shape(), p) == gout.shape(), "conv2d_backward_input: gradient ",
              gout.shape().str(), " does not match the output of ", x_shape.str(), " * ", w.shape().str());
  if (gout.numel() == 0 || x_shape.numel() == 0) return kernels::full(x_shape, 0.0, DType::F32, gout.device());
  if (gout.is_cuda()) return cudnn::conv2d_backward_data(gout, w, x_shape, p);
  ops::ConvGeometry g = conv_geometry(x_shape, w.shape(), gout.shape(), p);
  bool winograd_ok = winograd::applies(g, p.groups) && tiled_input_gradient_applies(g);
  switch (choose_path(g, w.size(0) / p.groups, tiled_input_gradient_applies(g), Pass::InputGradient, winograd_ok,
                      x_shape[0])) {
    case Path::Tiled:
      return conv2d_tiled_backward_input_cpu(gout, w, x_shape, p);
    case Path::Rows:
      return conv2d_direct_backward_input_cpu(gout, w, x_shape, p);
    case Path::Winograd:
      return conv2d_winograd_backward_input_cpu(gout, w, x_shape, p);
    case Path::Im2col:
      break;
  }
  return im2col::backward_input(gout, w, x_shape, p);
}

Tensor conv2d_backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape, const Conv2dParams& p) {
  check_inputs("conv2d_backward_weight", gout, x);
  ANIMA_CHECK(conv2d_output_shape(x.shape(), w_shape, p) == gout.shape(), "conv2d_backward_weight: gradient ",
              gout.shape().str(), " does not match the output of ", x.shape().str(), " * ", w_shape.str());
  if (gout.numel() == 0 || x.numel() == 0) return kernels::full(w_shape, 0.0, DType::F32, gout.device());
  if (gout.is_cuda()) return cudnn::conv2d_backward_filter(gout, x, w_shape, p);
  ops::ConvGeometry g = conv_geometry(x.shape(), w_shape, gout.shape(), p);
  switch (choose_path(g, w_shape[0] / p.groups, tiled_applies(g), Pass::WeightGradient, winograd::applies(g, p.groups),
                      x.size(0))) {
    case Path::Tiled:
      return conv2d_tiled_backward_weight_cpu(gout, x, w_shape, p);
    case Path::Rows:
      return conv2d_direct_backward_weight_cpu(gout, x, w_shape, p);
    case Path::Winograd:
      return winograd::conv2d_backward_weight(gout, x, w_shape, g);
    case Path::Im2col:
      break;
  }
  return im2col::backward_weight(gout, x, w_shape, p);
}

Tensor conv2d_backward_bias(const Tensor& gout) { return sum(gout, {0, 2, 3}); }

}  // namespace anima::kernels
