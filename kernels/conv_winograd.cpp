#include "kernels/conv_winograd.h"

#include <algorithm>
#include <vector>

#include "kernels/conv_winograd_tiles.h"
#include "kernels/cpu_blas.h"
#include "kernels/launch.h"
#include "kernels/math_mode.h"
#include "tensor/tensor.h"

namespace anima::kernels::winograd {
namespace {

using detail::Chunk;
using detail::padded_tile_rows;
using detail::store_tile_rows;
using detail::Transforms;

constexpr int64_t kTerms = 16;  // the 4x4 transformed tile

// The transforms' loops are compiled for AVX-512, AVX2 and plain x86-64 and run the widest the
// CPU has (kernels/cpu_isa.h); none fuses a multiply-add, so all give the same bits.

// U[xi][co][c] = (G g G^T)[xi] for the 3x3 kernel g of (co, c); G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
// The 9 taps of output channel co's kernels go to tap-major rows first (kt[tap][c]), so that the
// loop over c reads contiguous memory and vectorises.
ANIMA_ISA_BODY void transform_weight_row_body(int64_t Co, int64_t C, int64_t co, const float* w, float* U) {
  std::vector<float> taps(size_t(9 * C));
  const float* g = w + co * C * 9;
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < 9; ++j) taps[size_t(j * C + c)] = g[c * 9 + j];
  const float* __restrict kt = taps.data();
  float* __restrict u = U + co * C;
  const int64_t s = Co * C;  // between the 16 terms
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) {
    float k[9];
#pragma GCC unroll 9
    for (int j = 0; j < 9; ++j) k[j] = kt[j * C + c];
    // G g, column by column, then times G^T along each row: a, (a + b + c) / 2, (a - b + c) / 2, c
    float t[4][3];
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
      t[0][j] = k[j];
      t[1][j] = 0.5f * ((k[j] + k[3 + j]) + k[6 + j]);
      t[2][j] = 0.5f * ((k[j] - k[3 + j]) + k[6 + j]);
      t[3][j] = k[6 + j];
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      u[(4 * i + 0) * s + c] = t[i][0];
      u[(4 * i + 1) * s + c] = 0.5f * ((t[i][0] + t[i][1]) + t[i][2]);
      u[(4 * i + 2) * s + c] = 0.5f * ((t[i][0] - t[i][1]) + t[i][2]);
      u[(4 * i + 3) * s + c] = t[i][2];
    }
  }
}
ANIMA_ISA_VERSIONS(transform_weight_row, (int64_t Co, int64_t C, int64_t co, const float* w, float* U),
                   (Co, C, co, w, U))

// V[xi][c][t] = (B^T d B)[xi] for input channel c and each tile t of the chunk;
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Per tile row: the 4 input rows, padded with
// zeros (row copies), B^T's combination of them along whole rows, split into even and odd
// columns, then B's combination along the row: loops over contiguous columns (vectorised).
ANIMA_ISA_BODY void transform_input_channel_body(const ops::ConvGeometry& g, const Chunk& k, const float* x, int64_t c,
                                                 float* V, float* scratch) {
  const int64_t tw = k.tiles_w, tc = k.tiles(), Wp = 2 * tw + 2, stride_xi = g.C * tc;
  float* d = scratch;              // 4 padded input rows of Wp
  float* rows = scratch + 4 * Wp;  // the 4 rows of B^T d, Wp each
  float* e = scratch + 8 * Wp;     // their even columns (tw + 1 each), then the odd ones
  float* o = e + 4 * (tw + 1);
  for (int64_t rr = 0; rr < k.rows; ++rr) {
    padded_tile_rows(g, k, 2, 4, x, c, k.r0 + rr, Wp, d);
    const float* __restrict d0 = d, * __restrict d1 = d + Wp, * __restrict d2 = d + 2 * Wp, * __restrict d3 = d + 3 * Wp;
    float* __restrict r0 = rows, * __restrict r1 = rows + Wp, * __restrict r2 = rows + 2 * Wp, * __restrict r3 = rows + 3 * Wp;
#pragma omp simd
    for (int64_t j = 0; j < Wp; ++j) {
      r0[j] = d0[j] - d2[j];
      r1[j] = d1[j] + d2[j];
      r2[j] = d2[j] - d1[j];
      r3[j] = d1[j] - d3[j];
    }
    for (int i = 0; i < 4; ++i) {
      const float* __restrict ri = rows + i * Wp;
      float* __restrict ei = e + i * (tw + 1);
      float* __restrict oi = o + i * (tw + 1);
#pragma omp simd
      for (int64_t j = 0; j <= tw; ++j) {
        ei[j] = ri[2 * j];
        oi[j] = ri[2 * j + 1];
      }
    }
    float* v = V + c * tc + rr * tw;
    for (int i = 0; i < 4; ++i) {
      const float* __restrict ei = e + i * (tw + 1);
      const float* __restrict oi = o + i * (tw + 1);
      float* __restrict v0 = v + (4 * i + 0) * stride_xi;
      float* __restrict v1 = v + (4 * i + 1) * stride_xi;
      float* __restrict v2 = v + (4 * i + 2) * stride_xi;
      float* __restrict v3 = v + (4 * i + 3) * stride_xi;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {  // tile t reads columns 2t .. 2t + 3: e[t], o[t], e[t+1], o[t+1]
        v0[t] = ei[t] - ei[t + 1];
        v1[t] = oi[t] + ei[t + 1];
        v2[t] = ei[t + 1] - oi[t];
        v3[t] = oi[t] - oi[t + 1];
      }
    }
  }
}
ANIMA_ISA_VERSIONS(transform_input_channel,
                   (const ops::ConvGeometry& g, const Chunk& k, const float* x, int64_t c, float* V, float* scratch),
                   (g, k, x, c, V, scratch))

// out's 2x2 blocks for output channel co from M[xi][co][t]: A^T m A (+ bias), A^T = [1 1 1 0; 0 1 -1 -1];
// blocks past the image's last row or column write only their inside part.
ANIMA_ISA_BODY void transform_output_channel_body(const ops::ConvGeometry& g, const Chunk& k, int64_t Co,
                                                  const float* M, int64_t co, float bias, float* out, float* scratch) {
  const int64_t tw = k.tiles_w, tc = k.tiles(), stride_xi = Co * tc;
  float* a = scratch;           // rows 0 and 1 of A^T m, 4 columns of tw each
  float* y = scratch + 8 * tw;  // two output rows of 2 * tw
  for (int64_t rr = 0; rr < k.rows; ++rr) {
    const float* m = M + co * tc + rr * tw;
    for (int j = 0; j < 4; ++j) {
      const float* __restrict q0 = m + j * stride_xi, * __restrict q1 = m + (4 + j) * stride_xi, * __restrict q2 = m + (8 + j) * stride_xi, * __restrict q3 = m + (12 + j) * stride_xi;
      float* __restrict a0 = a + j * tw;
      float* __restrict a1 = a + (4 + j) * tw;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {
        a0[t] = (q0[t] + q1[t]) + q2[t];
        a1[t] = (q1[t] - q2[t]) - q3[t];
      }
    }
    for (int i = 0; i < 2; ++i) {
      const float* __restrict b0 = a + (4 * i) * tw, * __restrict b1 = b0 + tw, * __restrict b2 = b1 + tw, * __restrict b3 = b2 + tw;
      float* __restrict yi = y + i * 2 * tw;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {
        yi[2 * t] = ((b0[t] + b1[t]) + b2[t]) + bias;
        yi[2 * t + 1] = ((b1[t] - b2[t]) - b3[t]) + bias;
      }
    }
    store_tile_rows(g, k, 2, Co, co, k.r0 + rr, y, out);
  }
}
ANIMA_ISA_VERSIONS(transform_output_channel,
                   (const ops::ConvGeometry& g, const Chunk& k, int64_t Co, const float* M, int64_t co, float bias,
                    float* out, float* scratch),
                   (g, k, Co, M, co, bias, out, scratch))

// G_hat[xi][co][t] = (A dy A^T)[xi] for the 2x2 block dy of the output gradient of channel co
// under each tile t of the chunk (zero past the image's last row or column);
// A = [1 0; 1 1; 1 -1; 0 -1]. The weight gradient's counterpart of the output transform.
ANIMA_ISA_BODY void transform_gradient_channel_body(const ops::ConvGeometry& g, const Chunk& k, int64_t Co,
                                                    const float* gout, int64_t co, float* Ghat, float* scratch) {
  const int64_t tw = k.tiles_w, tc = k.tiles(), stride_xi = Co * tc;
  float* e = scratch;  // rows of A dy (dy0, dy0 + dy1, dy0 - dy1, -dy1): even columns (4 of tw), then odd ones
  float* o = scratch + 4 * tw;
  for (int64_t rr = 0; rr < k.rows; ++rr) {
    int64_t r = k.r0 + rr, n = r / k.tiles_h, ho = 2 * (r % k.tiles_h);
    const float* gc = gout + (n * Co + co) * g.Ho * g.Wo;
    for (int i = 0; i < 2; ++i) {  // the two gradient rows, split into even and odd columns, zero outside
      float* __restrict ei = e + i * tw;
      float* __restrict oi = o + i * tw;
      if (ho + i >= g.Ho) {
        std::fill(ei, ei + tw, 0.f);
        std::fill(oi, oi + tw, 0.f);
        continue;
      }
      const float* __restrict row = gc + (ho + i) * g.Wo;
      int64_t pairs = g.Wo / 2;
#pragma omp simd
      for (int64_t t = 0; t < pairs; ++t) {
        ei[t] = row[2 * t];
        oi[t] = row[2 * t + 1];
      }
      if (pairs < tw) {  // an odd width: the last block's second column is outside
        ei[pairs] = row[2 * pairs];
        oi[pairs] = 0.f;
      }
    }
    {
      float* __restrict e0 = e, * __restrict e1 = e + tw, * __restrict e2 = e + 2 * tw, * __restrict e3 = e + 3 * tw;
      float* __restrict o0 = o, * __restrict o1 = o + tw, * __restrict o2 = o + 2 * tw, * __restrict o3 = o + 3 * tw;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {  // rows 2 and 3 first: row 1 is overwritten
        e2[t] = e0[t] - e1[t];
        e3[t] = -e1[t];
        o2[t] = o0[t] - o1[t];
        o3[t] = -o1[t];
        e1[t] = e0[t] + e1[t];
        o1[t] = o0[t] + o1[t];
      }
    }
    float* gh = Ghat + co * tc + rr * tw;
    for (int i = 0; i < 4; ++i) {
      const float* __restrict ai = e + i * tw, * __restrict bi = o + i * tw;
      float* __restrict h0 = gh + (4 * i + 0) * stride_xi;
      float* __restrict h1 = gh + (4 * i + 1) * stride_xi;
      float* __restrict h2 = gh + (4 * i + 2) * stride_xi;
      float* __restrict h3 = gh + (4 * i + 3) * stride_xi;
#pragma omp simd
      for (int64_t t = 0; t < tw; ++t) {  // times A^T along the row: a, a + b, a - b, -b
        h0[t] = ai[t];
        h1[t] = ai[t] + bi[t];
        h2[t] = ai[t] - bi[t];
        h3[t] = -bi[t];
      }
    }
  }
}
ANIMA_ISA_VERSIONS(transform_gradient_channel,
                   (const ops::ConvGeometry& g, const Chunk& k, int64_t Co, const float* gout, int64_t co, float* Ghat,
                    float* scratch),
                   (g, k, Co, gout, co, Ghat, scratch))

// dW[co][c] = G^T dU G for dU[xi][co][c]; G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
ANIMA_ISA_BODY void transform_weight_gradient_row_body(int64_t Co, int64_t C, int64_t co, const float* dU, float* dw) {
  for (int64_t c = 0; c < C; ++c) {
    float x[4][4], r[3][4];
    for (int xi = 0; xi < kTerms; ++xi) x[xi / 4][xi % 4] = dU[(xi * Co + co) * C + c];
    for (int j = 0; j < 4; ++j) {
      r[0][j] = x[0][j] + 0.5f * (x[1][j] + x[2][j]);
      r[1][j] = 0.5f * (x[1][j] - x[2][j]);
      r[2][j] = 0.5f * (x[1][j] + x[2][j]) + x[3][j];
    }
    float* d = dw + (co * C + c) * 9;
    for (int i = 0; i < 3; ++i) {
      d[3 * i + 0] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
      d[3 * i + 1] = 0.5f * (r[i][1] - r[i][2]);
      d[3 * i + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
    }
  }
}
ANIMA_ISA_VERSIONS(transform_weight_gradient_row, (int64_t Co, int64_t C, int64_t co, const float* dU, float* dw),
                   (Co, C, co, dU, dw))

// Scratch floats per thread for the transforms of a chunk with rows of tw tiles.
int64_t scratch_size(int64_t tw) { return 8 * (2 * tw + 2) + 8 * (tw + 1) + 12 * tw; }

// One chunk: the input transform, the GEMMs, the output transform. `parallel`: each phase
// splits among the threads (a chunk that is all the work); else one thread does it all.
void run_chunk(const Transforms& T, const ops::ConvGeometry& g, int64_t Co, const Chunk& k, const float* x,
               const float* U, const float* bias, float* V, float* M, float* out, bool parallel) {
  int64_t tc = k.tiles();
#pragma omp parallel if (parallel)
  {
    std::vector<float> scratch(size_t(T.scratch_size(k.tiles_w)));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < g.C; ++c) T.input_channel(g, k, x, c, V, scratch.data());
#pragma omp for schedule(static)
    for (int64_t xi = 0; xi < T.terms; ++xi)
      cpu_sgemm(false, false, Co, tc, g.C, 1.f, U + xi * Co * g.C, g.C, V + xi * g.C * tc, tc, 0.f, M + xi * Co * tc,
                tc);
#pragma omp for schedule(static)
    for (int64_t co = 0; co < Co; ++co) T.output_channel(g, k, Co, M, co, bias ? bias[co] : 0.f, out, scratch.data());
  }
}

// Tiles per chunk: the transformed tiles of one chunk (V, M) fill about 1-4 MiB each; F(4x4)'s
// chunks of at least kF4ChunkTiles tiles can hold more (36 (C + Co) floats per tile: 18 MiB for
// 256->256).
constexpr int64_t kChunkFloats = int64_t(1) << 18;
constexpr int64_t kF4ChunkTiles = 256;

}  // namespace

namespace detail {
const Transforms& f2x2() {
  static const Transforms t{2, 16, transform_weight_row, transform_input_channel, transform_output_channel,
                            scratch_size};
  return t;
}
}  // namespace detail

bool applies(const ops::ConvGeometry& g, int64_t groups) {
  return groups == 1 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1;
}

bool f4_pays_on_small_maps(const ops::ConvGeometry& g, int64_t N, int64_t Co) {
  // The smaller of input and output sides: the input gradient's convolution swaps them (conv.cpp
  // asks with the forward geometry, choose_tile with the gradient's), so both see the same answer.
  int64_t h = std::min(g.H, g.Ho), w = std::min(g.W, g.Wo), blocks = N * ((h + 3) / 4) * ((w + 3) / 4);
  return !deterministic() && std::min(h, w) >= kF4WideMinSide && g.C + Co >= kF4WideChannels &&
         blocks >= kF4WideMinBlocks;
}

Tile choose_tile(const ops::ConvGeometry& g, int64_t N, int64_t Co) {
  if (deterministic()) return Tile::F2x2;
  bool large = std::min(g.Ho, g.Wo) >= kF4MinSide && std::min(g.C, Co) >= kF4MinChannels;
  return large || f4_pays_on_small_maps(g, N, Co) ? Tile::F4x4 : Tile::F2x2;
}

void forward(const ops::ConvGeometry& g, int64_t N, int64_t Co, const float* x, const float* w, const float* bias,
             float* out, int64_t chunk_tiles, Tile tile) {
  if (tile == Tile::Auto) tile = choose_tile(g, N, Co);
  const Transforms& T = tile == Tile::F4x4 ? detail::f4x4() : detail::f2x2();
  Tensor u = Tensor::empty(Shape{T.terms * Co * g.C});
  float* U = u.data<float>();
  cpu_for_rows(Co, g.C * 9 * T.terms, [&](int64_t co) { T.weight_row(Co, g.C, co, w, U); });
  int64_t tiles_h = (g.Ho + T.m - 1) / T.m, tiles_w = (g.Wo + T.m - 1) / T.m, all_rows = N * tiles_h;
  // Large chunks repack each GEMM's kernel matrix U less often; several chunks per thread
  // balance the dynamic schedule. So: the largest chunk up to 4 kChunkFloats that leaves 4, and
  // never below kChunkFloats' size. The chunking depends on the shape only, never on the thread
  // count: OpenBLAS's Haswell kernels round a GEMM of other width differently (cpu_blas.h).
  int64_t threads = cpu_max_threads(), per_tile = T.terms * std::max(g.C, Co);
  int64_t most = std::max<int64_t>(1, 4 * kChunkFloats / per_tile / tiles_w);
  int64_t least = std::max<int64_t>(1, kChunkFloats / per_tile / tiles_w);
  // Every chunk repacks all the kernel matrices, F(4x4)'s 36 against F(2x2)'s 16: its chunks hold
  // at least kF4ChunkTiles tiles (3x3 256->256 at 64x64: one chunk per image, 13 ms against 17-21
  // with four).
  if (T.m == 4) least = std::max(least, (kF4ChunkTiles + tiles_w - 1) / tiles_w);
  int64_t rows = std::clamp<int64_t>(all_rows / 4, least, std::max(least, most));
  if (chunk_tiles > 0) rows = std::max<int64_t>(1, chunk_tiles / tiles_w);
  rows = std::min(rows, all_rows);
  int64_t chunks = (all_rows + rows - 1) / rows;
  // Fewer chunks than a few per thread: chunks one after another, each phase split among the threads.
  bool by_chunks = threads > 1 && chunks >= 4 * threads;
  int64_t per_thread = T.terms * (g.C + Co) * rows * tiles_w;
  Tensor buffers = Tensor::empty(Shape{(by_chunks ? threads : 1) * per_thread});
  float* buf = buffers.data<float>();
#pragma omp parallel for schedule(dynamic, 1) if (by_chunks)
  for (int64_t i = 0; i < chunks; ++i) {
    float* V = buf + (by_chunks ? cpu_thread_index() : 0) * per_thread;
    Chunk k{tiles_h, tiles_w, i * rows, std::min(rows, all_rows - i * rows)};
    run_chunk(T, g, Co, k, x, U, bias, V, V + T.terms * g.C * k.tiles(), out, !by_chunks);
  }
}

void backward_weight(const ops::ConvGeometry& g, int64_t N, int64_t Co, const float* gout, const float* x, float* dw,
                     int64_t chunk_tiles) {
  int64_t tiles_h = (g.Ho + 1) / 2, tiles_w = (g.Wo + 1) / 2, all_rows = N * tiles_h;
  int64_t target = chunk_tiles > 0 ? chunk_tiles : kChunkFloats / (kTerms * std::max(g.C, Co));
  int64_t rows = std::clamp<int64_t>(target / tiles_w, 1, all_rows);
  int64_t tmax = rows * tiles_w;
  Tensor buffers = Tensor::empty(Shape{kTerms * (g.C + Co) * tmax});
  Tensor du = Tensor::empty(Shape{kTerms * Co * g.C});
  float* V = buffers.data<float>();
  float* Ghat = V + kTerms * g.C * tmax;
  float* dU = du.data<float>();
  // The chunks one after another in a fixed order, each GEMM adding to dU: the same sums at any
  // thread count.
  for (int64_t r0 = 0; r0 < all_rows; r0 += rows) {
    Chunk k{tiles_h, tiles_w, r0, std::min(rows, all_rows - r0)};
    int64_t tc = k.tiles();
    float beta = r0 == 0 ? 0.f : 1.f;
#pragma omp parallel
    {
      std::vector<float> scratch(size_t(scratch_size(tiles_w)));
#pragma omp for schedule(static)
      for (int64_t c = 0; c < g.C; ++c) transform_input_channel(g, k, x, c, V, scratch.data());
#pragma omp for schedule(static)
      for (int64_t co = 0; co < Co; ++co) transform_gradient_channel(g, k, Co, gout, co, Ghat, scratch.data());
#pragma omp for schedule(static)
      for (int64_t xi = 0; xi < kTerms; ++xi)  // dU_xi (Co x C) += G_hat_xi (Co x tc) @ V_xi^T (tc x C)
        cpu_sgemm(false, true, Co, g.C, tc, 1.f, Ghat + xi * Co * tc, tc, V + xi * g.C * tc, tc, beta,
                  dU + xi * Co * g.C, g.C);
    }
  }
  cpu_for_rows(Co, g.C * 9 * kTerms, [&](int64_t co) { transform_weight_gradient_row(Co, g.C, co, dU, dw); });
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ops::ConvGeometry& g,
              const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, DType::F32, Device::cpu());
  forward(g, x.size(0), w.size(0), x.data<float>(), w.data<float>(), bias.defined() ? bias.data<float>() : nullptr,
          out.data<float>());
  return out;
}

Tensor conv2d_backward_weight(const Tensor& gout, const Tensor& x, const Shape& w_shape, const ops::ConvGeometry& g) {
  Tensor dw = Tensor::empty(w_shape, DType::F32, Device::cpu());
  backward_weight(g, x.size(0), w_shape[0], gout.data<float>(), x.data<float>(), dw.data<float>());
  return dw;
}

}  // namespace anima::kernels::winograd
