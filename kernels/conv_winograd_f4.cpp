// Winograd F(4x4, 3x3)'s transforms (Lavin and Gray, 2016, with the interpolation points 0, 1,
// -1, 2, -2 and infinity), for the driver of conv_winograd.cpp:
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Each transform is written once as the combination of six values (or three, for G) and applied
// along rows, then along columns. As in F(2x2, 3x3), the loops run over contiguous tiles and
// compile for AVX-512, AVX2 and plain x86-64 with the same bits (no fused multiply-adds).
#include <algorithm>
#include <vector>

#include "kernels/conv_winograd_tiles.h"
#include "kernels/cpu_isa.h"

namespace anima::kernels::winograd::detail {
namespace {

constexpr int kSide = 6;  // the transformed tile is 6x6

// (t0 .. t5) = G (a, b, c)^T
#define ANIMA_WINOGRAD_G(t0, t1, t2, t3, t4, t5, a, b, c)          \
  do {                                                             \
    const float sixth = 1.f / 6, twelfth = 1.f / 12, f24 = 1.f / 24; \
    float ac = (a) + (c), outer = (a) * f24 + (c) * sixth;          \
    t0 = (a) * 0.25f;                                              \
    t1 = (ac + (b)) * -sixth;                                      \
    t2 = (ac - (b)) * -sixth;                                      \
    t3 = outer + (b) * twelfth;                                    \
    t4 = outer - (b) * twelfth;                                    \
    t5 = (c);                                                      \
  } while (0)

// U = G g G^T: G along the kernel's columns (t, 6x3), then along t's rows.
ANIMA_ISA_BODY void transform_weight_row_body(int64_t Co, int64_t C, int64_t co, const float* w, float* U) {
  std::vector<float> taps(size_t(9 * C));  // tap-major: the loop over c reads contiguous memory
  const float* g = w + co * C * 9;
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < 9; ++j) taps[size_t(j * C + c)] = g[c * 9 + j];
  const int64_t s = Co * C;  // between the 36 terms
  // t's rows i, 3 columns each, as contiguous runs over c; then each row's 6 terms
  std::vector<float> t(size_t(kSide * 3 * C));
  for (int j = 0; j < 3; ++j) {
    const float* __restrict k0 = taps.data() + j * C, * __restrict k1 = k0 + 3 * C, * __restrict k2 = k0 + 6 * C;
    float* __restrict t0 = t.data() + j * C;
    float* __restrict t1 = t0 + 3 * C, * __restrict t2 = t0 + 6 * C, * __restrict t3 = t0 + 9 * C;
    float* __restrict t4 = t0 + 12 * C, * __restrict t5 = t0 + 15 * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) ANIMA_WINOGRAD_G(t0[c], t1[c], t2[c], t3[c], t4[c], t5[c], k0[c], k1[c], k2[c]);
  }
  for (int i = 0; i < kSide; ++i) {
    const float* __restrict a = t.data() + 3 * i * C, * __restrict b = a + C, * __restrict e = a + 2 * C;
    float* __restrict u0 = U + kSide * i * s + co * C;
    float* __restrict u1 = u0 + s, * __restrict u2 = u0 + 2 * s, * __restrict u3 = u0 + 3 * s;
    float* __restrict u4 = u0 + 4 * s, * __restrict u5 = u0 + 5 * s;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) ANIMA_WINOGRAD_G(u0[c], u1[c], u2[c], u3[c], u4[c], u5[c], a[c], b[c], e[c]);
  }
}
#undef ANIMA_WINOGRAD_G
ANIMA_ISA_VERSIONS(transform_weight_row, (int64_t Co, int64_t C, int64_t co, const float* w, float* U),
                   (Co, C, co, w, U))

// (v0 .. v5) = B^T (d0 .. d5)
#define ANIMA_WINOGRAD_BT(v0, v1, v2, v3, v4, v5, d0, d1, d2, d3, d4, d5) \
  do {                                                                   \
    float d42 = (d4) - (d2), d31 = (d3) - (d1);                          \
    v0 = (4.f * (d0) - 5.f * (d2)) + (d4);                               \
    v1 = ((d3) + (d4)) - 4.f * ((d1) + (d2));                            \
    v2 = ((d4) - (d3)) + 4.f * ((d1) - (d2));                            \
    v3 = d42 + 2.f * d31;                                                \
    v4 = d42 - 2.f * d31;                                                \
    v5 = (4.f * (d1) - 5.f * (d3)) + (d5);                               \
  } while (0)

// Per tile row: the 6 input rows, padded with zeros (row copies); B^T's combination of them along
// whole rows; each such row split into its columns modulo 4; B's combination along the row (tile
// t reads columns 4t .. 4t + 5).
ANIMA_ISA_BODY void transform_input_channel_body(const ops::ConvGeometry& g, const Chunk& k, const float* x, int64_t c,
                                                 float* V, float* scratch) {
  const int64_t tw = k.tiles_w, tc = k.tiles(), Wp = 4 * tw + 2, stride_xi = g.C * tc;
  float* d = scratch;                   // 6 padded input rows of Wp
  float* rows = scratch + kSide * Wp;   // the 6 rows of B^T d
  float* p = scratch + 2 * kSide * Wp;  // one of them by columns modulo 4: 4 runs of tw + 1
  for (int64_t rr = 0; rr < k.rows; ++rr) {
    padded_tile_rows(g, k, 4, kSide, x, c, k.r0 + rr, Wp, d);
    {
      const float* __restrict d0 = d, * __restrict d1 = d + Wp, * __restrict d2 = d + 2 * Wp;
      const float* __restrict d3 = d + 3 * Wp, * __restrict d4 = d + 4 * Wp, * __restrict d5 = d + 5 * Wp;
      float* __restrict r0 = rows, * __restrict r1 = rows + Wp, * __restrict r2 = rows + 2 * Wp;
      float* __restrict r3 = rows + 3 * Wp, * __restrict r4 = rows + 4 * Wp, * __restrict r5 = rows + 5 * Wp;
#pragma omp simd
      for (int64_t j = 0; j < Wp; ++j)
        ANIMA_WINOGRAD_BT(r0[j], r1[j], r2[j], r3[j], r4[j], r5[j], d0[j], d1[j], d2[j], d3[j], d4[j], d5[j]);
    }
    float* v = V + c * tc + rr * tw;
    for (int i = 0; i < kSide; ++i) {
      const float* __restrict ri = rows + i * Wp;
      float* __restrict p0 = p, * __restrict p1 = p + (tw + 1), * __restrict p2 = p + 2 * (tw + 1);
      float* __restrict p3 = p + 3 * (tw + 1);
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {
        p0[t] = ri[4 * t];
        p1[t] = ri[4 * t + 1];
        p2[t] = ri[4 * t + 2];
        p3[t] = ri[4 * t + 3];
      }
      p0[tw] = ri[4 * tw];
      p1[tw] = ri[4 * tw + 1];
      float* __restrict v0 = v + (kSide * i + 0) * stride_xi, * __restrict v1 = v + (kSide * i + 1) * stride_xi;
      float* __restrict v2 = v + (kSide * i + 2) * stride_xi, * __restrict v3 = v + (kSide * i + 3) * stride_xi;
      float* __restrict v4 = v + (kSide * i + 4) * stride_xi, * __restrict v5 = v + (kSide * i + 5) * stride_xi;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t)
        ANIMA_WINOGRAD_BT(v0[t], v1[t], v2[t], v3[t], v4[t], v5[t], p0[t], p1[t], p2[t], p3[t], p0[t + 1], p1[t + 1]);
    }
  }
}
ANIMA_ISA_VERSIONS(transform_input_channel,
                   (const ops::ConvGeometry& g, const Chunk& k, const float* x, int64_t c, float* V, float* scratch),
                   (g, k, x, c, V, scratch))
#undef ANIMA_WINOGRAD_BT

// (y0 .. y3) = A^T (q0 .. q5)
#define ANIMA_WINOGRAD_AT(y0, y1, y2, y3, q0, q1, q2, q3, q4, q5) \
  do {                                                           \
    float s12 = (q1) + (q2), d12 = (q1) - (q2);                  \
    float s34 = (q3) + (q4), d34 = (q3) - (q4);                  \
    y0 = ((q0) + s12) + s34;                                     \
    y1 = d12 + 2.f * d34;                                        \
    y2 = s12 + 4.f * s34;                                        \
    y3 = (d12 + 8.f * d34) + (q5);                               \
  } while (0)

// A^T along the tile's columns of M (6 rows into 4), then along its rows, the bias added last;
// blocks past the image's last row or column write only their inside part.
ANIMA_ISA_BODY void transform_output_channel_body(const ops::ConvGeometry& g, const Chunk& k, int64_t Co,
                                                  const float* M, int64_t co, float bias, float* out, float* scratch) {
  const int64_t tw = k.tiles_w, tc = k.tiles(), stride_xi = Co * tc;
  float* a = scratch;                   // A^T m: 4 rows of 6 columns, tw each (row r, column j at (6 r + j) tw)
  float* y = scratch + 4 * kSide * tw;  // 4 output rows of 4 * tw
  for (int64_t rr = 0; rr < k.rows; ++rr) {
    const float* m = M + co * tc + rr * tw;
    for (int j = 0; j < kSide; ++j) {
      const float* __restrict q0 = m + j * stride_xi, * __restrict q1 = m + (kSide + j) * stride_xi;
      const float* __restrict q2 = m + (2 * kSide + j) * stride_xi, * __restrict q3 = m + (3 * kSide + j) * stride_xi;
      const float* __restrict q4 = m + (4 * kSide + j) * stride_xi, * __restrict q5 = m + (5 * kSide + j) * stride_xi;
      float* __restrict a0 = a + j * tw, * __restrict a1 = a + (kSide + j) * tw;
      float* __restrict a2 = a + (2 * kSide + j) * tw, * __restrict a3 = a + (3 * kSide + j) * tw;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t)
        ANIMA_WINOGRAD_AT(a0[t], a1[t], a2[t], a3[t], q0[t], q1[t], q2[t], q3[t], q4[t], q5[t]);
    }
    for (int i = 0; i < 4; ++i) {
      const float* __restrict b0 = a + kSide * i * tw, * __restrict b1 = b0 + tw, * __restrict b2 = b1 + tw;
      const float* __restrict b3 = b2 + tw, * __restrict b4 = b3 + tw, * __restrict b5 = b4 + tw;
      float* __restrict yi = y + i * 4 * tw;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {
        float y0, y1, y2, y3;
        ANIMA_WINOGRAD_AT(y0, y1, y2, y3, b0[t], b1[t], b2[t], b3[t], b4[t], b5[t]);
        yi[4 * t] = y0 + bias;
        yi[4 * t + 1] = y1 + bias;
        yi[4 * t + 2] = y2 + bias;
        yi[4 * t + 3] = y3 + bias;
      }
    }
    store_tile_rows(g, k, 4, Co, co, k.r0 + rr, y, out);
  }
}
ANIMA_ISA_VERSIONS(transform_output_channel,
                   (const ops::ConvGeometry& g, const Chunk& k, int64_t Co, const float* M, int64_t co, float bias,
                    float* out, float* scratch),
                   (g, k, Co, M, co, bias, out, scratch))
#undef ANIMA_WINOGRAD_AT

// The input transform's rows, their split and the output transform's rows, side by side.
int64_t scratch_size(int64_t tw) { return 2 * kSide * (4 * tw + 2) + 4 * (tw + 1) + 4 * kSide * tw + 16 * tw; }

}  // namespace

const Transforms& f4x4() {
  static const Transforms t{4, kSide * kSide, transform_weight_row, transform_input_channel, transform_output_channel,
                            scratch_size};
  return t;
}

}  // namespace anima::kernels::winograd::detail
