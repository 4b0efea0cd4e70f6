// Element bodies of the im2col convolution.
//
// The column matrix of one image and group has rows r = (c, i, j) (input channel, kernel row,
// kernel column) and columns q = (ho, wo): col[r][q] = x[c][ho*s_h - p_h + i*d_h][wo*s_w - p_w + j*d_w]
// (zero outside the image). Then out = W (Co x C*kh*kw) @ col.
#pragma once
#include <cstdint>

#include "tensor/hd.h"

namespace anima::kernels::ops {

struct ConvGeometry {
  int64_t C, H, W;      // input channels (of one group), height, width
  int64_t kh, kw;
  int64_t Ho, Wo;
  int64_t sh, sw, ph, pw, dh, dw;
};

// Row r = (c, i, j) of col (Ho*Wo values), read from one image-group `x` of C*H*W floats.
// One row per call keeps the index arithmetic out of the inner loop.
ANIMA_HD inline void im2col_row(const ConvGeometry& g, const float* x, int64_t r, float* row) {
  int64_t j = r % g.kw, i = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
  const float* plane = x + c * g.H * g.W;
  for (int64_t ho = 0; ho < g.Ho; ++ho) {
    int64_t h = ho * g.sh - g.ph + i * g.dh;
    float* out = row + ho * g.Wo;
    if (h < 0 || h >= g.H) {
      for (int64_t wo = 0; wo < g.Wo; ++wo) out[wo] = 0.f;
      continue;
    }
    const float* src = plane + h * g.W;
    for (int64_t wo = 0; wo < g.Wo; ++wo) {
      int64_t w = wo * g.sw - g.pw + j * g.dw;
      out[wo] = (w >= 0 && w < g.W) ? src[w] : 0.f;
    }
  }
}

// The adjoint: input-gradient element (c, h, w) gathers every column entry that read it.
ANIMA_HD inline float col2im_value(const ConvGeometry& g, const float* col, int64_t idx) {
  int64_t w = idx % g.W, h = (idx / g.W) % g.H, c = idx / (g.W * g.H);
  float acc = 0.f;
  for (int64_t i = 0; i < g.kh; ++i) {
    int64_t hs = h + g.ph - i * g.dh;  // = ho * sh
    if (hs < 0 || hs % g.sh != 0) continue;
    int64_t ho = hs / g.sh;
    if (ho >= g.Ho) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      int64_t ws = w + g.pw - j * g.dw;
      if (ws < 0 || ws % g.sw != 0) continue;
      int64_t wo = ws / g.sw;
      if (wo >= g.Wo) continue;
      int64_t r = (c * g.kh + i) * g.kw + j;
      acc += col[r * g.Ho * g.Wo + ho * g.Wo + wo];
    }
  }
  return acc;
}

}  // namespace anima::kernels::ops
