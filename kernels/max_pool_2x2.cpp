#include "kernels/max_pool_2x2.h"

#include "kernels/cpu_isa.h"

namespace anima::kernels::detail {

ANIMA_ISA_BODY void max_pool_2x2_row_body(const float* r0, const float* r1, int32_t first, int32_t W, int64_t Wo,
                                          float* out, int32_t* idx) {
  for (int64_t wo = 0; wo < Wo; ++wo) {
    float a = r0[2 * wo], b = r0[2 * wo + 1], c = r1[2 * wo], d = r1[2 * wo + 1];
    int32_t ia = first + int32_t(2 * wo);
    bool take_b = a == a && (b > a || b != b);
    float m = take_b ? b : a;
    int32_t im = take_b ? ia + 1 : ia;
    bool take_c = c > m || c != c;
    m = take_c ? c : m;
    im = take_c ? ia + W : im;
    bool take_d = c == c && (d > m || d != d);
    out[wo] = take_d ? d : m;
    idx[wo] = take_d ? ia + W + 1 : im;
  }
}
ANIMA_ISA_VERSIONS(max_pool_2x2_row,
                   (const float* r0, const float* r1, int32_t first, int32_t W, int64_t Wo, float* out, int32_t* idx),
                   (r0, r1, first, W, Wo, out, idx))
ANIMA_ISA_BODY void max_pool_2x2_backward_row_body(const float* g, const int32_t* idx, int32_t self0, int64_t W,
                                                   int64_t Wo, float* dst) {
  for (int64_t wo = 0; wo < Wo; ++wo) {
    int32_t self = self0 + int32_t(2 * wo);
    float v = 0.f + g[wo];
    dst[2 * wo] = idx[wo] == self ? v : 0.f;
    dst[2 * wo + 1] = idx[wo] == self + 1 ? v : 0.f;
  }
  for (int64_t w = 2 * Wo; w < W; ++w) dst[w] = 0.f;
}
ANIMA_ISA_VERSIONS(max_pool_2x2_backward_row,
                   (const float* g, const int32_t* idx, int32_t self0, int64_t W, int64_t Wo, float* dst),
                   (g, idx, self0, W, Wo, dst))

}  // namespace anima::kernels::detail
