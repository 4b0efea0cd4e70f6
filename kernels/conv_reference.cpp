// The plain loop every convolution path (cuDNN, im2col + GEMM, direct rows, tiled) is tested
// against: double accumulation, no blocking, no threads.
#include "kernels/conv.h"

namespace anima::kernels {

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
