#include <algorithm>
#include <vector>

#include "kernels/launch.h"
#include "kernels/reduce.h"
#include "kernels/reduce_ops.h"
#include "kernels/reduce_order.h"
#include "kernels/shape_ops.h"
#include "tensor/philox.h"

namespace anima::kernels {
namespace detail {

struct AbsDiffLoad {
  const float* a;
  const float* b;
  ANIMA_HD float operator()(int64_t, int64_t k) const {
    float d = a[k] - b[k];
    return d < 0.f ? -d : d;
  }
};

// The products summed by weighted_sum and its gradients (w [R, K], v [K, C], g [R, C]), each read
// in the order of the composed path it replaces (a product tensor, permuted, then summed by rows).
// mul_rn: the product rounded on its own, as the composed path stores it (nvcc would otherwise fuse
// it with the sum's add into one FMA).
struct WeightedSumLoad {  // row r * C + c, element k: w[r, k] * v[k, c]
  const float* w;
  const float* v;
  int64_t K, C;
  ANIMA_HD float operator()(int64_t row, int64_t k) const { return mul_rn(w[row / C * K + k], v[k * C + row % C]); }
};
struct WeightedSumGradWLoad {  // row r * K + k, element c: g[r, c] * v[k, c]
  const float* g;
  const float* v;
  int64_t K, C;
  ANIMA_HD float operator()(int64_t row, int64_t c) const { return mul_rn(g[row / K * C + c], v[row % K * C + c]); }
};
struct WeightedSumGradVLoad {  // row k * C + c, element r: g[r, c] * w[r, k]
  const float* g;
  const float* w;
  int64_t K, C;
  ANIMA_HD float operator()(int64_t row, int64_t r) const { return mul_rn(g[r * C + row % C], w[r * K + row / C]); }
};

// CPU: fixed chunks of each row reduced in parallel, then combined in chunk order. A task takes
// kChunkGroup consecutive chunks; when all are whole it walks them in lockstep, so that their
// accumulator chains overlap (one chain alone waits on the adder's latency), each chunk still
// summed in reduce_chunk's order: the same bits either way.
constexpr int64_t kChunkGroup = 4;

template <class Op, class Load>
void reduce_rows_cpu(Load in, float* out, int64_t rows, int64_t K, Op op) {
  int64_t nchunks = K == 0 ? 1 : (K + kCpuChunk - 1) / kCpuChunk, tasks = rows * nchunks;
  std::vector<float> partial(static_cast<size_t>(tasks));
  float* pp = partial.data();
  int64_t groups = (tasks + kChunkGroup - 1) / kChunkGroup;
  cpu_for_rows(groups, kChunkGroup * std::min(K, kCpuChunk), [=](int64_t grp) ANIMA_LOOP_BODY {
    int64_t t0 = grp * kChunkGroup, t1 = std::min(t0 + kChunkGroup, tasks);
    int64_t row[kChunkGroup], b[kChunkGroup];
    bool whole = t1 - t0 == kChunkGroup;
    for (int64_t g = 0; g < t1 - t0; ++g) {
      row[g] = (t0 + g) / nchunks;
      b[g] = ((t0 + g) % nchunks) * kCpuChunk;
      whole = whole && b[g] + kCpuChunk <= K;
    }
    if (!whole) {
      for (int64_t g = 0; g < t1 - t0; ++g)
        pp[t0 + g] = reduce_chunk(in, row[g], b[g], std::min(b[g] + kCpuChunk, K), op);
      return;
    }
    float acc[kChunkGroup][8];
    for (auto& a : acc)
      for (float& v : a) v = op.identity();
    // unrolled over the chunks (in the CPU build; nvcc's host side has no unroll pragma): the
    // accumulators stay in registers and each chunk's row offset is hoisted (rolled, GCC kept acc
    // in memory and reloaded row and b every step: 2.5x slower)
    for (int64_t k = 0; k < kCpuChunk; k += 8) {
      ANIMA_UNROLL
      for (int g = 0; g < kChunkGroup; ++g) {
        ANIMA_UNROLL
        for (int j = 0; j < 8; ++j) acc[g][j] = op.combine(acc[g][j], in(row[g], b[g] + k + j));
      }
    }
    for (int g = 0; g < kChunkGroup; ++g) {
      float r = acc[g][0];
      for (int j = 1; j < 8; ++j) r = op.combine(r, acc[g][j]);
      pp[t0 + g] = r;
    }
  });
  cpu_for_rows(rows, nchunks, [=](int64_t row) {
    float acc = op.identity();
    for (int64_t c = 0; c < nchunks; ++c) acc = op.combine(acc, pp[row * nchunks + c]);
    out[row] = op.finish(acc, K);
  });
}

// CPU, one reduced dimension that is not the last (softmax's channel max and sum, amax over C):
// x as [outer, K, inner] reduced over K in place, without the permuting copy, vectorised along
// the inner dimension, each output in reduce_rows_cpu's order (kernels/reduce_order.h), so the
// bits are those of the permuted path.
template <class Op>
void reduce_middle_cpu(const float* x, float* out, int64_t outer, int64_t K, int64_t inner, Op op) {
  constexpr int64_t B = kMiddleBlock;
  int64_t blocks = (inner + B - 1) / B;
  cpu_for_rows(outer * blocks, K * B, [=](int64_t t) ANIMA_LOOP_BODY {
    int64_t o = t / blocks, i0 = (t % blocks) * B, w = std::min(B, inner - i0);
    const float* base = x + o * K * inner + i0;
    reduce_middle_block([=](int64_t k, int64_t l) ANIMA_LOOP_BODY { return base[k * inner + l]; }, K, w, op, out + o * inner + i0);
  });
}

#if ANIMA_CUDA && defined(__CUDACC__)
template <class Op>
__device__ float warp_reduce(float v, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) v = op.combine(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

// Block (row, split) reduces elements [split*chunk, (split+1)*chunk) of its row: a strided loop
// per thread, a shuffle tree per warp, then one warp over the per-warp results.
// With `finish` set (last pass only) the result is op.finish(acc, count).
template <class Op, class Load>
__global__ void reduce_rows_kernel(Load in, float* out, int64_t K, int64_t chunk, Op op, bool finish, int64_t count) {
  int64_t row = blockIdx.x;
  int split = blockIdx.y, splits = gridDim.y;
  int64_t b = int64_t(split) * chunk, e = min(b + chunk, K);
  float acc = op.identity();
  for (int64_t k = b + threadIdx.x; k < e; k += blockDim.x) acc = op.combine(acc, in(row, k));
  acc = warp_reduce(acc, op);
  __shared__ float warp_acc[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_acc[warp] = acc;
  __syncthreads();
  if (warp == 0) {
    int nwarps = (blockDim.x + 31) >> 5;
    acc = lane < nwarps ? warp_acc[lane] : op.identity();
    acc = warp_reduce(acc, op);
    if (lane == 0) out[row * splits + split] = finish ? op.finish(acc, count) : acc;
  }
}

template <class Op, class Load>
void reduce_rows_cuda(Load in, float* out, int64_t rows, int64_t K, Op op) {
  if (rows == 0) return;
  // Threads per block: a power of two between 32 and 256, no larger than the row needs.
  auto threads_for = [](int64_t k) {
    int t = 32;
    while (t < 256 && t < k) t <<= 1;
    return t;
  };
  const int64_t kSplitChunk = 8192;
  int64_t splits = 1;
  if (rows < 256 && K > 2 * kSplitChunk) splits = std::min<int64_t>((K + kSplitChunk - 1) / kSplitChunk, 1024);
  ANIMA_CHECK(rows < (int64_t(1) << 31), "reduce: too many rows (", rows, ")");
  if (splits == 1) {
    reduce_rows_kernel<<<dim3(unsigned(rows), 1), threads_for(K)>>>(in, out, K, K, op, true, K);
    ANIMA_CUDA_CHECK_LAUNCH("reduce_rows_kernel");
    return;
  }
  int64_t chunk = (K + splits - 1) / splits;
  Tensor partial = Tensor::empty(Shape{rows, splits}, DType::F32, Device::cuda());
  float* pp = partial.data<float>();
  reduce_rows_kernel<<<dim3(unsigned(rows), unsigned(splits)), 256>>>(in, pp, K, chunk, op, false, K);
  ANIMA_CUDA_CHECK_LAUNCH("reduce_rows_kernel");
  // Second pass over the partials; `finish` must see the original count K (for the mean).
  reduce_rows_kernel<<<dim3(unsigned(rows), 1), threads_for(splits)>>>(RowLoad{pp, splits}, out, splits, splits, op,
                                                                       true, K);
  ANIMA_CUDA_CHECK_LAUNCH("reduce_rows_kernel");
}
#endif

template <class Op, class Load>
void reduce_rows(Device dev, Load in, float* out, int64_t rows, int64_t K, Op op) {
  if (dev.is_cpu()) {
    reduce_rows_cpu(in, out, rows, K, op);
    return;
  }
#if ANIMA_CUDA && defined(__CUDACC__)
  reduce_rows_cuda(in, out, rows, K, op);
#else
  ANIMA_FAIL("reduce: CUDA tensor in a build without CUDA");
#endif
}

}  // namespace detail

std::vector<int> reduction_dims(const Shape& shape, const std::vector<int>& dims, const char* op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (int d = 0; d < shape.ndim; ++d) out.push_back(d);
    return out;
  }
  for (int d : dims) out.push_back(shape.wrap_dim(d, op));
  std::sort(out.begin(), out.end());
  ANIMA_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": a dimension is listed twice for shape ",
              shape.str());
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int>& dims, bool keepdim) {
  std::vector<int64_t> out;
  for (int d = 0; d < shape.ndim; ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return Shape(out);
}

Tensor reduce(const Tensor& x, ReduceOp op, const std::vector<int>& dims_in, bool keepdim) {
  static const char* names[] = {"sum", "mean", "amax", "amin"};
  const char* name = names[int(op)];
  check_dtype(name, x, DType::F32);
  std::vector<int> dims = reduction_dims(x.shape(), dims_in, name);
  Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
  // Move reduced dims last (a copy only if they are not already the trailing dims).
  std::vector<int> perm;
  int64_t K = 1;
  for (int d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) perm.push_back(d);
  for (int d : dims) {
    perm.push_back(d);
    K *= x.shape()[d];
  }
  bool identity_perm = true;
  for (int d = 0; d < x.dim(); ++d) identity_perm = identity_perm && perm[d] == d;
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && K == 0)
    ANIMA_FAIL(name, ": cannot reduce zero elements (shape ", x.shape().str(), ")");
  // Reduced dims that end the shape are contiguous: reduce them first without a copy, then the
  // remaining dims on the much smaller result (a bias gradient, sum over {0, 2, 3}, becomes {2, 3}
  // then {0}). Sums of sums, means of equal-sized means and maxima of maxima are the same function.
  size_t t = dims.size();
  while (t > 0 && dims[t - 1] == x.dim() - int(dims.size() - t) - 1) --t;
  if (!identity_perm && t < dims.size()) {
    std::vector<int> trailing(dims.begin() + long(t), dims.end()), rest(dims.begin(), dims.begin() + long(t));
    Tensor partial = reduce(x, op, trailing, true);
    return raw::view(reduce(partial, op, rest, true), out_shape);
  }
  Tensor out = Tensor::empty(out_shape, DType::F32, x.device());
  float* po = out.data<float>();
  // run(reduction body): the body for `op`
  auto with_op = [op](auto run) {
    switch (op) {
      case ReduceOp::Sum:
        return run(ops::SumReduce{});
      case ReduceOp::Mean:
        return run(ops::MeanReduce{});
      case ReduceOp::Max:
        return run(ops::MaxReduce{});
      case ReduceOp::Min:
        return run(ops::MinReduce{});
    }
  };
  if (x.device().is_cpu() && dims.size() == 1 && dims[0] != x.dim() - 1 && K <= detail::kCpuChunk) {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dims[0]; ++d) outer *= x.shape()[d];
    for (int d = dims[0] + 1; d < x.dim(); ++d) inner *= x.shape()[d];
    const float* px = x.data<float>();
    with_op([&](auto body) { detail::reduce_middle_cpu(px, po, outer, K, inner, body); });
    return out;
  }
  Tensor rows = identity_perm ? x : permute(x, perm);
  detail::RowLoad in{rows.data<float>(), K};
  int64_t M = out.numel();
  Device dev = x.device();
  with_op([&](auto body) { detail::reduce_rows(dev, in, po, M, K, body); });
  return out;
}

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce(x, ReduceOp::Sum, dims, keepdim);
}
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce(x, ReduceOp::Mean, dims, keepdim);
}
Tensor amax(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce(x, ReduceOp::Max, dims, keepdim);
}
Tensor amin(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return reduce(x, ReduceOp::Min, dims, keepdim);
}

Tensor mean_abs_diff(const Tensor& a, const Tensor& b) {
  check_same_device("mean_abs_diff", {&a, &b});
  check_dtype("mean_abs_diff", a, DType::F32);
  check_dtype("mean_abs_diff", b, DType::F32);
  ANIMA_CHECK(a.shape() == b.shape(), "mean_abs_diff: shapes ", a.shape().str(), " and ", b.shape().str(), " differ");
  Tensor out = Tensor::empty(Shape{}, DType::F32, a.device());
  detail::reduce_rows(a.device(), detail::AbsDiffLoad{a.data<float>(), b.data<float>()}, out.data<float>(), 1,
                      a.numel(), ops::MeanReduce{});
  return out;
}

namespace {
void check_weighted_sum(const char* op, const char* expected, const Tensor& a, const Tensor& b, bool match) {
  check_same_device(op, {&a, &b});
  check_dtype(op, a, DType::F32);
  check_dtype(op, b, DType::F32);
  ANIMA_CHECK(a.dim() == 2 && b.dim() == 2 && match, op, ": expected ", expected, ", got ", a.shape().str(), " and ",
              b.shape().str());
}

// A [rows, cols] tensor on `dev` whose element i is the sum of in(i, 0 .. K).
template <class Load>
Tensor summed_rows(Device dev, int64_t rows, int64_t cols, Load in, int64_t K) {
  Tensor out = Tensor::empty(Shape{rows, cols}, DType::F32, dev);
  detail::reduce_rows(dev, in, out.data<float>(), rows * cols, K, ops::SumReduce{});
  return out;
}
}  // namespace

Tensor weighted_sum(const Tensor& w, const Tensor& v) {
  check_weighted_sum("weighted_sum", "[R, K] and [K, C]", w, v, w.dim() == 2 && v.dim() == 2 && w.size(1) == v.size(0));
  int64_t R = w.size(0), K = w.size(1), C = v.size(1);
  return summed_rows(w.device(), R, C, detail::WeightedSumLoad{w.data<float>(), v.data<float>(), K, C}, K);
}

Tensor weighted_sum_backward_weights(const Tensor& g, const Tensor& v) {
  check_weighted_sum("weighted_sum_backward_weights", "g [R, C] and v [K, C]", g, v, g.dim() == 2 && v.dim() == 2 && g.size(1) == v.size(1));
  int64_t R = g.size(0), K = v.size(0), C = v.size(1);
  return summed_rows(g.device(), R, K, detail::WeightedSumGradWLoad{g.data<float>(), v.data<float>(), K, C}, C);
}

Tensor weighted_sum_backward_values(const Tensor& g, const Tensor& w) {
  check_weighted_sum("weighted_sum_backward_values", "w [R, K] and g [R, C]", w, g, w.dim() == 2 && g.dim() == 2 && w.size(0) == g.size(0));
  int64_t R = w.size(0), K = w.size(1), C = g.size(1);
  return summed_rows(w.device(), K, C, detail::WeightedSumGradVLoad{g.data<float>(), w.data<float>(), K, C}, R);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  ANIMA_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: ", x.shape().str(),
              " is not a broadcast of ", shape.str());
  int lead = x.dim() - shape.ndim;
  std::vector<int> dims;
  for (int d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  if (dims.empty()) return raw::view(x, shape);
  return raw::view(sum(x, dims, true), shape);
}

}  // namespace anima::kernels
