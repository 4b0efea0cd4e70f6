#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/launch.h"
#include "kernels/select.h"

namespace anima::kernels {
namespace detail {

// Float -> uint32 key whose unsigned order is the float order (-0 sorts before +0).
ANIMA_HD inline uint32_t order_key(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
ANIMA_HD inline float from_order_key(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

#if ANIMA_CUDA && defined(__CUDACC__)
__global__ void kth_smallest_kernel(const float* x, const int32_t* k, float* out, int64_t K) {
  const float* row = x + int64_t(blockIdx.x) * K;
  uint32_t lo = 0, hi = 0xFFFFFFFFu;
  int64_t target = int64_t(k[blockIdx.x]) + 1;  // need at least this many keys <= answer
  __shared__ unsigned long long total;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    unsigned long long count = 0;
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) count += order_key(row[i]) <= mid;
    for (int off = 16; off > 0; off >>= 1) count += __shfl_down_sync(0xffffffffu, count, off);
    if (threadIdx.x == 0) total = 0;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) atomicAdd(&total, count);  // integer sum: order-independent
    __syncthreads();
    if (int64_t(total) >= target)
      hi = mid;
    else
      lo = mid + 1;
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = from_order_key(lo);
}
#endif

}  // namespace detail

Tensor kth_smallest(const Tensor& x, const Tensor& k) {
  check_same_device("kth_smallest", {&x, &k});
  check_dtype("kth_smallest", x, DType::F32);
  check_dtype("kth_smallest", k, DType::I32);
  ANIMA_CHECK(x.dim() == 2 && k.shape() == Shape{x.size(0)} && x.size(1) > 0, "kth_smallest: expected x [N, K>0] ",
              "and k [N], got ", x.shape().str(), " and ", k.shape().str());
  int64_t N = x.size(0), K = x.size(1);
  Tensor out = Tensor::empty(Shape{N}, DType::F32, x.device());
  if (x.is_cuda()) {
#if ANIMA_CUDA && defined(__CUDACC__)
    // Bounds of k are checked in the kernel's terms: clamp on the device would hide bugs, so the
    // contract (0 <= k < K) is the caller's; out-of-range k yields the row's extreme value.
    detail::kth_smallest_kernel<<<unsigned(N), 256>>>(x.data<float>(), k.data<int32_t>(), out.data<float>(), K);
    ANIMA_CUDA_CHECK_LAUNCH("kth_smallest_kernel");
    return out;
#endif
  }
  std::vector<int32_t> kv = k.to_vector<int32_t>();
  const float* px = x.data<float>();
  float* po = out.data<float>();
  for (int64_t n = 0; n < N; ++n)
    ANIMA_CHECK(kv[size_t(n)] >= 0 && kv[size_t(n)] < K, "kth_smallest: k = ", kv[size_t(n)], " for row ", n,
                " outside [0, ", K, ")");
  cpu_for_rows(N, K, [&](int64_t n) {
    std::vector<float> row(px + n * K, px + (n + 1) * K);
    std::nth_element(row.begin(), row.begin() + kv[size_t(n)], row.end());
    po[n] = row[size_t(kv[size_t(n)])];
  });
  return out;
}

Tensor row_median(const Tensor& x) {
  ANIMA_CHECK(x.dim() == 2 && x.size(1) > 0, "row_median: expected [N, K>0], got ", x.shape().str());
  return kth_smallest(x, full(Shape{x.size(0)}, double((x.size(1) - 1) / 2), DType::I32, x.device()));
}

Tensor row_percentile(const Tensor& x, double q) {
  ANIMA_CHECK(q >= 0 && q <= 1, "row_percentile: q must be in [0, 1], got ", q);
  ANIMA_CHECK(x.dim() == 2 && x.size(1) > 0, "row_percentile: expected [N, K>0], got ", x.shape().str());
  int64_t k = int64_t(q * double(x.size(1) - 1));
  return kth_smallest(x, full(Shape{x.size(0)}, double(k), DType::I32, x.device()));
}

}  // namespace anima::kernels
