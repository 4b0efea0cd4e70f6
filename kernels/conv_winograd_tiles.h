// The two tile sizes of the CPU's Winograd convolution (conv_winograd.h), for its driver: the
// transforms of F(2x2, 3x3) (conv_winograd.cpp) and of F(4x4, 3x3) (conv_winograd_f4.cpp), each
// behind the same four functions, so that one chunked schedule runs either.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv_ops.h"

namespace anima::kernels::winograd::detail {

// A chunk is a run of whole tile rows: rows [r0, r0 + rows) of the N * tiles_h tile rows of the
// batch (row r: image r / tiles_h, tile row r % tiles_h), tiles_w tiles each, so a chunk's tile t
// is tile t % tiles_w of its row t / tiles_w.
struct Chunk {
  int64_t tiles_h, tiles_w, r0, rows;
  int64_t tiles() const { return rows * tiles_w; }
};

// The `side` input rows under tile row r of a chunk (image r / tiles_h, first row m (r % tiles_h)
// - ph), each padded to Wp floats: pw zeros in front, zeros past the image and above or below it.
inline void padded_tile_rows(const ops::ConvGeometry& g, const Chunk& k, int m, int side, const float* x, int64_t c,
                             int64_t r, int64_t Wp, float* d) {
  const int64_t left = std::min<int64_t>(g.pw, Wp), inside = std::max<int64_t>(0, std::min(g.W, Wp - left));
  int64_t n = r / k.tiles_h, h0 = m * (r % k.tiles_h) - g.ph;
  const float* xc = x + (n * g.C + c) * g.H * g.W;
  for (int i = 0; i < side; ++i) {
    float* di = d + i * Wp;
    int64_t h = h0 + i;
    if (h < 0 || h >= g.H) {
      std::fill(di, di + Wp, 0.f);
      continue;
    }
    std::fill(di, di + left, 0.f);
    std::copy(xc + h * g.W, xc + h * g.W + inside, di + left);
    std::fill(di + left + inside, di + Wp, 0.f);
  }
}

// Writes the m output rows of tile row r (m rows of m * tiles_w floats in y, m apart) into output
// channel co: only the rows and Wo columns inside the image.
inline void store_tile_rows(const ops::ConvGeometry& g, const Chunk& k, int m, int64_t Co, int64_t co, int64_t r,
                            const float* y, float* out) {
  int64_t n = r / k.tiles_h, ho = m * (r % k.tiles_h), row = m * k.tiles_w;
  float* o = out + ((n * Co + co) * g.Ho + ho) * g.Wo;
  for (int i = 0; i < m && ho + i < g.Ho; ++i) std::copy(y + i * row, y + i * row + g.Wo, o + i * g.Wo);
}

// F(m x m, 3x3): each m x m block of output pixels of one channel comes from the (m + 2)^2
// input tile under it, through terms = (m + 2)^2 element-wise products summed over the input
// channels (terms GEMMs).
struct Transforms {
  int m;      // output block side: 2 or 4
  int terms;  // (m + 2)^2
  // U[xi][co][c] = (G g G^T)[xi] for the 3x3 kernel g of (co, c), one output channel co.
  void (*weight_row)(int64_t Co, int64_t C, int64_t co, const float* w, float* U);
  // V[xi][c][t] = (B^T d B)[xi] for input channel c and each tile t of the chunk.
  void (*input_channel)(const ops::ConvGeometry& g, const Chunk& k, const float* x, int64_t c, float* V,
                        float* scratch);
  // out's m x m blocks of output channel co from M[xi][co][t]: A^T M A + bias, the inside part.
  void (*output_channel)(const ops::ConvGeometry& g, const Chunk& k, int64_t Co, const float* M, int64_t co,
                         float bias, float* out, float* scratch);
  // scratch floats per thread for a chunk with rows of tw tiles
  int64_t (*scratch_size)(int64_t tw);
};

const Transforms& f2x2();
const Transforms& f4x4();

}  // namespace anima::kernels::winograd::detail
