// Element bodies of the colour operations: torchvision's tensor formulas, per pixel.
#pragma once
#include <cmath>

#include "tensor/hd.h"

namespace anima::kernels::ops {

ANIMA_HD inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }
ANIMA_HD inline float gray(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

// torchvision's _rgb2hsv (hue in [0, 1)).
ANIMA_HD inline void rgb_to_hsv(float r, float g, float b, float* h, float* s, float* v) {
  float maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
  float minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
  bool eqc = maxc == minc;
  float cr = maxc - minc;
  *s = cr / (eqc ? 1.f : maxc);
  float div = eqc ? 1.f : cr;
  float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  float hr = maxc == r ? bc - gc : 0.f;
  float hg = (maxc == g && maxc != r) ? 2.f + rc - bc : 0.f;
  float hb = (maxc != g && maxc != r) ? 4.f + gc - rc : 0.f;
  *h = ::fmodf((hr + hg + hb) / 6.f + 1.f, 1.f);
  *v = maxc;
}

// torchvision's _hsv2rgb.
ANIMA_HD inline void hsv_to_rgb(float h, float s, float v, float* r, float* g, float* b) {
  float i = ::floorf(h * 6.f);
  float f = h * 6.f - i;
  int k = int(i) % 6;
  if (k < 0) k += 6;
  float p = clamp01(v * (1.f - s)), q = clamp01(v * (1.f - s * f)), t = clamp01(v * (1.f - s * (1.f - f)));
  const float rs[6] = {v, q, p, p, t, v}, gs[6] = {t, v, v, q, p, p}, bs[6] = {p, p, t, v, v, q};
  *r = rs[k];
  *g = gs[k];
  *b = bs[k];
}

// One jitter operation on one pixel; `mean` is the image's mean grey (contrast only).
ANIMA_HD inline void color_op(int op, float f, float mean, float* r, float* g, float* b) {
  switch (op) {
    case 0:  // brightness
      *r = clamp01(f * *r), *g = clamp01(f * *g), *b = clamp01(f * *b);
      break;
    case 1:  // contrast
      *r = clamp01(f * *r + (1.f - f) * mean), *g = clamp01(f * *g + (1.f - f) * mean),
      *b = clamp01(f * *b + (1.f - f) * mean);
      break;
    case 2: {  // saturation
      float l = gray(*r, *g, *b);
      *r = clamp01(f * *r + (1.f - f) * l), *g = clamp01(f * *g + (1.f - f) * l), *b = clamp01(f * *b + (1.f - f) * l);
      break;
    }
    default: {  // hue
      float h, s, v;
      rgb_to_hsv(*r, *g, *b, &h, &s, &v);
      h = h + f;
      h = h - ::floorf(h);  // Python's % 1.0
      hsv_to_rgb(h, s, v, r, g, b);
    }
  }
}

}  // namespace anima::kernels::ops
