// Row bodies of the CPU convolutions (the GPU convolves with cuDNN): im2col, direct rows, and
// the tiled direct kernels.
//
// The column matrix of one image and group has rows r = (c, i, j) (input channel, kernel row,
// kernel column) and columns q = (ho, wo): col[r][q] = x[c][ho*s_h - p_h + i*d_h][wo*s_w - p_w + j*d_w]
// (zero outside the image). Then out = W (Co x C*kh*kw) @ col.
#pragma once
#include <algorithm>
#include <cstdint>

namespace anima::kernels::ops {

struct ConvGeometry {
  int64_t C, H, W;  // input channels (of one group), height, width
  int64_t kh, kw;
  int64_t Ho, Wo;
  int64_t sh, sw, ph, pw, dh, dw;
};

// A 1x1 stride-1 convolution without padding: its column matrix is the image itself.
inline bool is_pointwise(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// The output columns wo that read inside the image for kernel column j: input column
// wo*sw + off with off = j*dw - pw lies in [0, W) exactly for wo in [lo, hi).
struct ValidColumns {
  int64_t off, lo, hi;
};
inline ValidColumns valid_columns(const ConvGeometry& g, int64_t j) {
  int64_t off = j * g.dw - g.pw;
  int64_t lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  int64_t hi = off > g.W - 1 ? 0 : (g.W - 1 - off) / g.sw + 1;
  lo = std::min(lo, g.Wo);
  return {off, lo, std::max(lo, std::min(hi, g.Wo))};
}

// Row r = (c, i, j) of col (Ho*Wo values), read from one image-group `x` of C*H*W floats: zeros
// outside the image, a plain copy (stride 1) or a strided gather inside. im2col_row_range: the
// part of it for output rows [ho0, ho1) only ((ho1 - ho0) Wo floats).
inline void im2col_row_range(const ConvGeometry& g, const float* x, int64_t r, int64_t ho0, int64_t ho1, float* row) {
  int64_t j = r % g.kw, i = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
  const float* plane = x + c * g.H * g.W;
  ValidColumns v = valid_columns(g, j);
  for (int64_t ho = ho0; ho < ho1; ++ho) {
    int64_t h = ho * g.sh - g.ph + i * g.dh;
    float* out = row + (ho - ho0) * g.Wo;
    if (h < 0 || h >= g.H || v.lo == v.hi) {
      std::fill(out, out + g.Wo, 0.f);
      continue;
    }
    const float* src = plane + h * g.W + v.off;
    std::fill(out, out + v.lo, 0.f);
    if (g.sw == 1)
      std::copy(src + v.lo, src + v.hi, out + v.lo);
    else
      for (int64_t wo = v.lo; wo < v.hi; ++wo) out[wo] = src[wo * g.sw];
    std::fill(out + v.hi, out + g.Wo, 0.f);
  }
}
inline void im2col_row(const ConvGeometry& g, const float* x, int64_t r, float* row) {
  im2col_row_range(g, x, r, 0, g.Ho, row);
}

// The adjoint of im2col for one input channel c: dx[c] (H*W, zeroed by the caller) gathers every
// column entry that read it. Rows (i, j) are added in increasing order, so each element's sum
// runs over its kernel taps in the same order on every run.
// col's rows are ld floats apart (Ho*Wo for one image's matrix, more when several images share it).
inline void col2im_channel(const ConvGeometry& g, const float* col, int64_t ld, int64_t c, float* dx_plane) {
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const float* row = col + ((c * g.kh + i) * g.kw + j) * ld;
      ValidColumns v = valid_columns(g, j);
      for (int64_t ho = 0; ho < g.Ho; ++ho) {
        int64_t h = ho * g.sh - g.ph + i * g.dh;
        if (h < 0 || h >= g.H) continue;
        float* dst = dx_plane + h * g.W + v.off;
        const float* src = row + ho * g.Wo;
        if (g.sw == 1)
          for (int64_t wo = v.lo; wo < v.hi; ++wo) dst[wo] += src[wo];
        else
          for (int64_t wo = v.lo; wo < v.hi; ++wo) dst[wo * g.sw] += src[wo];
      }
    }
}

// The direct convolution, row by row: the readable version of the tiled kernels below, their
// test oracle, and what conv.cpp runs for strided convolutions with at most 4 output channels
// per group (there the im2col GEMM has one to four rows and spends its time packing a column
// matrix C*kh*kw times the image). The three bodies work on whole rows, so the inner loops run
// over contiguous output or input columns and vectorise. They are always inlined, so that each
// of conv.cpp's per-CPU versions compiles them with its own vector width.

// y[k] += a * x[k * stride] for k in [0, n).
[[gnu::always_inline]] inline void axpy_strided(float* __restrict y, const float* __restrict x, float a, int64_t n,
                                                int64_t stride) {
  if (stride == 1)
    for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
  else
    for (int64_t k = 0; k < n; ++k) y[k] += a * x[k * stride];
}

// Output row ho of one output channel, from one image-group x (C*H*W floats) and that channel's
// weights wk (C*kh*kw): out[wo] = bias + the sum over (c, i, j), in that order, of
// wk[c][i][j] * x[c][ho*s_h - p_h + i*d_h][wo*s_w - p_w + j*d_w] (taps outside the image skipped).
[[gnu::always_inline]] inline void conv_direct_row(const ConvGeometry& g, const float* x, const float* wk, float bias,
                                                   int64_t ho, float* out) {
  std::fill(out, out + g.Wo, bias);
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i) {
      int64_t h = ho * g.sh - g.ph + i * g.dh;
      if (h < 0 || h >= g.H) continue;
      const float* row = x + (c * g.H + h) * g.W;
      for (int64_t j = 0; j < g.kw; ++j) {
        ValidColumns v = valid_columns(g, j);
        if (v.lo == v.hi) continue;
        axpy_strided(out + v.lo, row + v.lo * g.sw + v.off, wk[(c * g.kh + i) * g.kw + j], v.hi - v.lo, g.sw);
      }
    }
}

// The adjoint, one input row at a time: row h of input channel c of one image-group's gradient,
// from the group's output gradient gout (Cog*Ho*Wo) and weights w (Cog*C*kh*kw):
// dx[c][h][x] = the sum over (co, i, j), in that order, of w[co][c][i][j] * gout[co][ho][wo] over
// the taps with ho*s_h - p_h + i*d_h = h and wo*s_w - p_w + j*d_w = x. Each row is written by one
// call, so rows can run in parallel without atomics.
[[gnu::always_inline]] inline void conv_direct_backward_input_row(const ConvGeometry& g, int64_t Cog, const float* gout,
                                                                  const float* w, int64_t c, int64_t h, float* dx_row) {
  std::fill(dx_row, dx_row + g.W, 0.f);
  for (int64_t co = 0; co < Cog; ++co)
    for (int64_t i = 0; i < g.kh; ++i) {
      int64_t t = h + g.ph - i * g.dh;  // = ho * s_h for the output row that read input row h
      if (t < 0 || t % g.sh != 0 || t / g.sh >= g.Ho) continue;
      const float* grow = gout + (co * g.Ho + t / g.sh) * g.Wo;
      const float* wk = w + ((co * g.C + c) * g.kh + i) * g.kw;
      for (int64_t j = 0; j < g.kw; ++j) {
        ValidColumns v = valid_columns(g, j);
        if (v.lo == v.hi) continue;
        float* dst = dx_row + v.lo * g.sw + v.off;
        if (g.sw == 1)
          for (int64_t k = 0; k < v.hi - v.lo; ++k) dst[k] += wk[j] * grow[v.lo + k];
        else
          for (int64_t k = 0; k < v.hi - v.lo; ++k) dst[k * g.sw] += wk[j] * grow[v.lo + k];
      }
    }
}

// Weight gradient of kernel row i, all kernel columns, for output channel co and input channel c
// of one group, summed over the group's n_images images (x: images of C*H*W floats, `x_stride`
// floats apart; gout: images of Cog*Ho*Wo floats, `g_stride` apart):
// dw[j] = sum over images, ho and wo of gout[co][ho][wo] * x[c][ho*s_h - p_h + i*d_h][wo*s_w - p_w + j*d_w].
// acc (kw*Wo floats) holds one partial sum per (j, wo) while the images and rows run, so the
// inner loop is elementwise; the partial sums are then added in wo order.
[[gnu::always_inline]] inline void conv_direct_backward_weight_row(const ConvGeometry& g, int64_t n_images,
                                                                   const float* x, int64_t x_stride, const float* gout,
                                                                   int64_t g_stride, int64_t co, int64_t c, int64_t i,
                                                                   float* acc, float* dw) {
  std::fill(acc, acc + g.kw * g.Wo, 0.f);
  for (int64_t n = 0; n < n_images; ++n)
    for (int64_t ho = 0; ho < g.Ho; ++ho) {
      int64_t h = ho * g.sh - g.ph + i * g.dh;
      if (h < 0 || h >= g.H) continue;
      const float* grow = gout + n * g_stride + (co * g.Ho + ho) * g.Wo;
      const float* row = x + n * x_stride + (c * g.H + h) * g.W;
      for (int64_t j = 0; j < g.kw; ++j) {
        ValidColumns v = valid_columns(g, j);
        if (v.lo == v.hi) continue;
        float* a = acc + j * g.Wo;
        const float* src = row + v.lo * g.sw + v.off;
        if (g.sw == 1)
          for (int64_t k = 0; k < v.hi - v.lo; ++k) a[v.lo + k] += grow[v.lo + k] * src[k];
        else
          for (int64_t k = 0; k < v.hi - v.lo; ++k) a[v.lo + k] += grow[v.lo + k] * src[k * g.sw];
      }
    }
  for (int64_t j = 0; j < g.kw; ++j) {
    float s = 0.f;
    for (int64_t wo = 0; wo < g.Wo; ++wo) s += acc[j * g.Wo + wo];
    dw[j] = s;
  }
}

// The tiled direct convolution: the fast twin of conv_direct_row for stride 1, which conv.cpp
// runs for stride-1 convolutions with up to 16 output channels per group (CpuConvAlgo::Auto). A tile is kTile adjacent
// outputs of up to 8 output channels, held in vector registers while the taps run; each input load serves all the
// tile's channels. The input is first copied into rows padded with zeros to the left and right (xw below), so a tile
// never tests a bound. Each output still adds bias, then its taps in (c, i, j) order, with a multiply and an add per
// tap: the same operations in the same order as conv_direct_row, so the two give the same bits. The channel loops are
// unrolled so that the accumulators stay in registers (a rolled loop kept them in memory: a store per tap, 2x slower).
constexpr int kTile = 16;
// GCC warns that a 64-byte vector passed by value has an ABI that depends on AVX-512; every
// function below is inlined, so no such value crosses a call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float TileVec __attribute__((vector_size(kTile * sizeof(float))));

[[gnu::always_inline]] inline TileVec tile_load(const float* p) {
  TileVec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// One width-padded row: the W floats of src go to dst + pad_left, and the rest of the Wp floats
// of dst are zero.
inline void pad_row(const float* src, int64_t W, int64_t pad_left, int64_t Wp, float* dst) {
  std::fill(dst, dst + pad_left, 0.f);
  std::copy(src, src + W, dst + pad_left);
  std::fill(dst + pad_left + W, dst + Wp, 0.f);
}

// CO output channels (weights wk, `w_stride` floats apart, each C*kh*kw), output row ho, the
// tiles of columns [0, Wo). xw: one image-group's input, C*H rows of Wp floats, column w of the
// image at w + pad_w (Wp >= Wo rounded up to kTile, plus (kw - 1)*dw). out: CO rows, `out_stride`
// floats apart. bias: CO values (or null).
template <int CO>
[[gnu::always_inline]] inline void conv_tile_row(const ConvGeometry& g, int64_t Wp, const float* xw, const float* wk,
                                                 int64_t w_stride, const float* bias, int64_t ho, float* out,
                                                 int64_t out_stride) {
  for (int64_t t0 = 0; t0 < g.Wo; t0 += kTile) {
    TileVec acc[CO];
#pragma GCC unroll 8
    for (int co = 0; co < CO; ++co) acc[co] = TileVec{} + (bias ? bias[co] : 0.f);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t i = 0; i < g.kh; ++i) {
        int64_t h = ho - g.ph + i * g.dh;
        if (h < 0 || h >= g.H) continue;
        const float* xr = xw + (c * g.H + h) * Wp + t0;
        const float* wr = wk + (c * g.kh + i) * g.kw;
        for (int64_t j = 0; j < g.kw; ++j) {
          TileVec xv = tile_load(xr + j * g.dw);
#pragma GCC unroll 8
          for (int co = 0; co < CO; ++co) acc[co] += wr[co * w_stride + j] * xv;
        }
      }
    int64_t n = std::min<int64_t>(kTile, g.Wo - t0);
#pragma GCC unroll 8
    for (int co = 0; co < CO; ++co) __builtin_memcpy(out + co * out_stride + t0, &acc[co], n * sizeof(float));
  }
}

// Weight gradient, tiled, for stride 1: dw[co][j] for CO output channels (gradient planes `g_co`
// floats apart) of input channel c, kernel row i, summed over n_images images. gw: the output
// gradient with rows padded to Wt (a multiple of kTile, zeros past Wo), images g_stride apart;
// xw as in conv_tile_row, images x_stride apart. Each (co, j) sums one vector of partial sums
// over the images, rows and tiles, then its lanes in order.
template <int CO>
[[gnu::always_inline]] inline void conv_tile_weight_row(const ConvGeometry& g, int64_t Wp, int64_t Wt, int64_t n_images,
                                                        const float* xw, int64_t x_stride, const float* gw,
                                                        int64_t g_stride, int64_t g_co, int64_t c, int64_t i, float* dw,
                                                        int64_t dw_stride) {
  for (int64_t j = 0; j < g.kw; ++j) {
    TileVec acc[CO];
#pragma GCC unroll 8
    for (int co = 0; co < CO; ++co) acc[co] = TileVec{};
    for (int64_t n = 0; n < n_images; ++n)
      for (int64_t ho = 0; ho < g.Ho; ++ho) {
        int64_t h = ho - g.ph + i * g.dh;
        if (h < 0 || h >= g.H) continue;
        const float* xr = xw + n * x_stride + (c * g.H + h) * Wp + j * g.dw;
        const float* gr = gw + n * g_stride + ho * Wt;
        for (int64_t t0 = 0; t0 < Wt; t0 += kTile) {
          TileVec xv = tile_load(xr + t0);
#pragma GCC unroll 8
          for (int co = 0; co < CO; ++co) acc[co] += tile_load(gr + co * g_co + t0) * xv;
        }
      }
#pragma GCC unroll 8
    for (int co = 0; co < CO; ++co) {
      float s = 0.f;
      for (int l = 0; l < kTile; ++l) s += acc[co][l];
      dw[co * dw_stride + j] = s;
    }
  }
}

#pragma GCC diagnostic pop

}  // namespace anima::kernels::ops
