// Row bodies of the CPU im2col convolution (the GPU convolves with cuDNN).
//
// The column matrix of one image and group has rows r = (c, i, j) (input channel, kernel row,
// kernel column) and columns q = (ho, wo): col[r][q] = x[c][ho*s_h - p_h + i*d_h][wo*s_w - p_w + j*d_w]
// (zero outside the image). Then out = W (Co x C*kh*kw) @ col.
#pragma once
#include <algorithm>
#include <cstdint>

namespace anima::kernels::ops {

struct ConvGeometry {
  int64_t C, H, W;      // input channels (of one group), height, width
  int64_t kh, kw;
  int64_t Ho, Wo;
  int64_t sh, sw, ph, pw, dh, dw;
};

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
// outside the image, a plain copy (stride 1) or a strided gather inside.
inline void im2col_row(const ConvGeometry& g, const float* x, int64_t r, float* row) {
  int64_t j = r % g.kw, i = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
  const float* plane = x + c * g.H * g.W;
  ValidColumns v = valid_columns(g, j);
  for (int64_t ho = 0; ho < g.Ho; ++ho) {
    int64_t h = ho * g.sh - g.ph + i * g.dh;
    float* out = row + ho * g.Wo;
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

// The adjoint of im2col for one input channel c: dx[c] (H*W, zeroed by the caller) gathers every
// column entry that read it. Rows (i, j) are added in increasing order, so each element's sum
// runs over its kernel taps in the same order on every run.
inline void col2im_channel(const ConvGeometry& g, const float* col, int64_t c, float* dx_plane) {
  int64_t q = g.Ho * g.Wo;
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const float* row = col + ((c * g.kh + i) * g.kw + j) * q;
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

}  // namespace anima::kernels::ops
