#include "kernels/matmul.h"

#include <cblas.h>

#include <string>

#include "kernels/cpu_blas.h"
#include "kernels/launch.h"
#include "tensor/hd.h"
#include "tensor/runtime.h"

#if ANIMA_CUDA
#include "kernels/cuda_libraries.h"

#include <mutex>

#include "tensor/cuda_check.h"

#define ANIMA_CUBLAS_CHECK(expr)                                                 \
  do {                                                                           \
    cublasStatus_t anima_st_ = (expr);                                           \
    if (anima_st_ != CUBLAS_STATUS_SUCCESS) {                                    \
      const auto& anima_api_ = ::anima::kernels::cublas_api();                   \
      ::anima::detail::fail(__FILE__, __LINE__, "cuBLAS error in ", #expr, ": ", \
                            anima_api_.cublasGetStatusName(anima_st_), " (",     \
                            anima_api_.cublasGetStatusString(anima_st_), ")");   \
    }                                                                            \
  } while (0)
#endif

namespace anima::kernels {
namespace {

struct GemmPlan {
  int64_t batch, M, N, K;
  int64_t a_batch_stride, b_batch_stride;  // 0 when the operand is shared by all batches
  Shape out_shape;
};

GemmPlan plan_gemm(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  check_same_device("matmul", {&a, &b});
  check_dtype("matmul", a, DType::F32);
  check_dtype("matmul", b, DType::F32);
  const Shape &sa = a.shape(), &sb = b.shape();
  ANIMA_CHECK(sa.ndim >= 2 && sb.ndim >= 2, "matmul: operands need at least 2 dims, got ", sa.str(), " and ", sb.str());
  GemmPlan p{};
  int64_t a_rows = sa[sa.ndim - 2], a_cols = sa[sa.ndim - 1];
  int64_t b_rows = sb[sb.ndim - 2], b_cols = sb[sb.ndim - 1];
  p.M = ta ? a_cols : a_rows;
  p.K = ta ? a_rows : a_cols;
  int64_t kb = tb ? b_cols : b_rows;
  p.N = tb ? b_rows : b_cols;
  ANIMA_CHECK(p.K == kb, "matmul: inner dimensions differ: ", sa.str(), (ta ? "^T" : ""), " @ ", sb.str(),
              (tb ? "^T" : ""), " (", p.K, " vs ", kb, ")");
  int64_t a_batch = sa.numel() / (a_rows * a_cols == 0 ? 1 : a_rows * a_cols);
  int64_t b_batch = sb.numel() / (b_rows * b_cols == 0 ? 1 : b_rows * b_cols);
  const Shape& batch_shape = sa.ndim >= sb.ndim ? sa : sb;
  if (sa.ndim > 2 && sb.ndim > 2) {
    bool same = sa.ndim == sb.ndim;
    for (int d = 0; same && d < sa.ndim - 2; ++d) same = sa[d] == sb[d];
    ANIMA_CHECK(same, "matmul: batch dimensions of ", sa.str(), " and ", sb.str(), " differ");
  }
  p.batch = sa.ndim > 2 ? a_batch : (sb.ndim > 2 ? b_batch : 1);
  p.a_batch_stride = sa.ndim > 2 ? a_rows * a_cols : 0;
  p.b_batch_stride = sb.ndim > 2 ? b_rows * b_cols : 0;
  std::vector<int64_t> out = batch_shape.vec();
  out.resize(out.size() - 2);
  out.push_back(p.M);
  out.push_back(p.N);
  p.out_shape = Shape(out);
  const int64_t kIntMax = 2147483647;
  ANIMA_CHECK(p.M <= kIntMax && p.N <= kIntMax && p.K <= kIntMax && p.batch <= kIntMax, "matmul: ", sa.str(), " @ ",
              sb.str(), " has an extent beyond the BLAS int range");
  return p;
}

#if ANIMA_CUDA
cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { ANIMA_CUBLAS_CHECK(cublas_api().cublasCreate_v2(&handle)); });
  return handle;
}
#endif

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  GemmPlan p = plan_gemm(a, b, ta, tb);
  if (p.K == 0) return Tensor::zeros(p.out_shape, DType::F32, a.device());
  Tensor c = Tensor::empty(p.out_shape, DType::F32, a.device());
  if (c.numel() == 0) return c;
  int64_t lda = ta ? p.M : p.K, ldb = tb ? p.K : p.N;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = c.data<float>();
  if (a.device().is_cpu()) {
    // The batch items run in parallel; a single one splits its GEMM among the threads (cpu_blas.h).
    bool parallel = p.batch > 1 && p.batch * p.M * p.N * p.K >= kOmpMinWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i = 0; i < p.batch; ++i)
      cpu_sgemm(ta, tb, p.M, p.N, p.K, 1.f, pa + i * p.a_batch_stride, lda, pb + i * p.b_batch_stride, ldb, 0.f,
                pc + i * p.M * p.N, p.N);
    return c;
  }
#if ANIMA_CUDA
  // cuBLAS is column-major: a row-major X is a column-major X^T, so compute C^T = B^T A^T.
  const float one = 1.f, zero = 0.f;
  ANIMA_CUBLAS_CHECK(cublas_api().cublasSgemmStridedBatched(
      cublas_handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(p.N), int(p.M), int(p.K),
      &one, pb, int(ldb), p.b_batch_stride, pa, int(lda), p.a_batch_stride, &zero, pc, int(p.N), p.M * p.N,
      int(p.batch)));
  return c;
#else
  ANIMA_FAIL("matmul: CUDA tensor in a CUDA=0 build");
#endif
}

Tensor matmul_reference(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  ANIMA_CHECK(a.device().is_cpu() && b.device().is_cpu(), "matmul_reference: CPU tensors only");
  GemmPlan p = plan_gemm(a, b, ta, tb);
  Tensor c = Tensor::empty(p.out_shape, DType::F32, Device::cpu());
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = c.data<float>();
  for (int64_t bi = 0; bi < p.batch; ++bi)
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < p.K; ++k) {
          float av = ta ? pa[bi * p.a_batch_stride + k * p.M + i] : pa[bi * p.a_batch_stride + i * p.K + k];
          float bv = tb ? pb[bi * p.b_batch_stride + j * p.K + k] : pb[bi * p.b_batch_stride + k * p.N + j];
          acc += double(av) * double(bv);
        }
        pc[(bi * p.M + i) * p.N + j] = float(acc);
      }
  return c;
}

}  // namespace anima::kernels
