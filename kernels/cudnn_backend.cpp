#include "kernels/cudnn_backend.h"

#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "kernels/elementwise.h"
#include "kernels/math_mode.h"
#include "tensor/hd.h"

#if ANIMA_CUDA
#include "kernels/cuda_libraries.h"

#include "tensor/cuda_check.h"

#define ANIMA_CUDNN_CHECK(expr)                                                            \
  do {                                                                                     \
    cudnnStatus_t anima_st_ = (expr);                                                      \
    if (anima_st_ != CUDNN_STATUS_SUCCESS)                                                 \
      ::anima::detail::fail(__FILE__, __LINE__, "cuDNN error in ", #expr, ": ",            \
                            ::anima::kernels::cudnn_api().cudnnGetErrorString(anima_st_)); \
  } while (0)

namespace anima::kernels::cudnn {
namespace {

cudnnHandle_t handle() {
  static cudnnHandle_t h = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { ANIMA_CUDNN_CHECK(cudnn_api().cudnnCreate(&h)); });
  return h;
}

// The legacy cuDNN API takes int extents and tensors of fewer than 2^31 elements.
void check_int_extents(const char* what, const Shape& s) {
  ANIMA_CHECK(s.numel() < (int64_t(1) << 31), what, " ", s.str(), " has 2^31 or more elements");
}

// RAII wrappers: descriptors are cheap to create; they live for one call.
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  explicit TensorDesc(const Shape& s) {
    check_int_extents("cuDNN tensor", s);
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnCreateTensorDescriptor(&d));
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s[0]),
                                                             int(s[1]), int(s[2]), int(s[3])));
  }
  ~TensorDesc() {
    if (d) cudnn_api().cudnnDestroyTensorDescriptor(d);
  }
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  explicit FilterDesc(const Shape& s) {
    check_int_extents("cuDNN filter", s);
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnCreateFilterDescriptor(&d));
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetFilter4dDescriptor(d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(s[0]),
                                                             int(s[1]), int(s[2]), int(s[3])));
  }
  ~FilterDesc() {
    if (d) cudnn_api().cudnnDestroyFilterDescriptor(d);
  }
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  explicit ConvDesc(const Conv2dParams& p) {
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnCreateConvolutionDescriptor(&d));
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolution2dDescriptor(d, p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dil_h,
                                                                  p.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolutionGroupCount(d, p.groups));
    ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolutionMathType(d, allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  }
  ~ConvDesc() {
    if (d) cudnn_api().cudnnDestroyConvolutionDescriptor(d);
  }
};

enum class Direction { Forward, BackwardData, BackwardFilter };

struct AlgoChoice {
  int algo;
  size_t workspace;
  cudnnMathType_t math;  // the math type cuDNN ranked the algorithm with: set it before the call
};

std::mutex g_cache_mutex;
std::map<std::string, AlgoChoice> g_algo_cache;

std::string cache_key(Direction dir, const Shape& x, const Shape& w, const Conv2dParams& p) {
  std::ostringstream os;
  os << int(dir) << x.str() << w.str() << p.stride_h << ',' << p.stride_w << ',' << p.pad_h << ',' << p.pad_w << ','
     << p.dil_h << ',' << p.dil_w << ',' << p.groups << ',' << allow_tf32() << deterministic();
  return os.str();
}

// Picks the first algorithm of cuDNN's heuristic ranking that succeeded (and is deterministic
// when the run asks for it); cached per key so the ranking is computed once per shape.
template <class Perf, class Query>
AlgoChoice choose(const std::string& key, Query query) {
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = g_algo_cache.find(key);
    if (it != g_algo_cache.end()) return it->second;
  }
  constexpr int kMax = 16;
  Perf perf[kMax];
  int returned = 0;
  ANIMA_CUDNN_CHECK(query(kMax, &returned, perf));
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (deterministic() && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    if (!allow_tf32() && perf[i].mathType != CUDNN_FMA_MATH) continue;  // strict FP32 asked for
    AlgoChoice c{int(perf[i].algo), perf[i].memory, perf[i].mathType};
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    g_algo_cache[key] = c;
    return c;
  }
  ANIMA_FAIL("cuDNN: no usable ", deterministic() ? "deterministic " : "", allow_tf32() ? "" : "strict-FP32 ",
             "convolution algorithm for ", key);
}

Tensor workspace(size_t bytes) {
  return Tensor::empty(Shape{int64_t(bytes == 0 ? 1 : bytes)}, DType::U8, Device::cuda());
}

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                      const Shape& out_shape) {
  Tensor y = Tensor::empty(out_shape, DType::F32, Device::cuda());
  TensorDesc xd(x.shape()), yd(out_shape);
  FilterDesc wd(w.shape());
  ConvDesc cd(p);
  AlgoChoice c = choose<cudnnConvolutionFwdAlgoPerf_t>(
      cache_key(Direction::Forward, x.shape(), w.shape(), p), [&](int n, int* got, auto* perf) {
        return cudnn_api().cudnnGetConvolutionForwardAlgorithm_v7(handle(), xd.d, wd.d, cd.d, yd.d, n, got, perf);
      });
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolutionMathType(cd.d, c.math));
  Tensor ws = workspace(c.workspace);
  const float one = 1.f, zero = 0.f;
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnConvolutionForward(handle(), &one, xd.d, x.data_ptr(), wd.d, w.data_ptr(), cd.d,
                                                        cudnnConvolutionFwdAlgo_t(c.algo), ws.data_ptr(), c.workspace,
                                                        &zero, yd.d, y.data_ptr()));
  if (bias.defined()) return add(y, raw::view(bias, Shape{1, out_shape[1], 1, 1}));
  return y;
}

Tensor conv2d_backward_data(const Tensor& gout, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  Tensor dx = Tensor::empty(x_shape, DType::F32, Device::cuda());
  TensorDesc xd(x_shape), yd(gout.shape());
  FilterDesc wd(w.shape());
  ConvDesc cd(p);
  AlgoChoice c = choose<cudnnConvolutionBwdDataAlgoPerf_t>(
      cache_key(Direction::BackwardData, x_shape, w.shape(), p), [&](int n, int* got, auto* perf) {
        return cudnn_api().cudnnGetConvolutionBackwardDataAlgorithm_v7(handle(), wd.d, yd.d, cd.d, xd.d, n, got, perf);
      });
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolutionMathType(cd.d, c.math));
  Tensor ws = workspace(c.workspace);
  const float one = 1.f, zero = 0.f;
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnConvolutionBackwardData(handle(), &one, wd.d, w.data_ptr(), yd.d, gout.data_ptr(),
                                                             cd.d, cudnnConvolutionBwdDataAlgo_t(c.algo), ws.data_ptr(),
                                                             c.workspace, &zero, xd.d, dx.data_ptr()));
  return dx;
}

Tensor conv2d_backward_filter(const Tensor& gout, const Tensor& x, const Shape& w_shape, const Conv2dParams& p) {
  Tensor dw = Tensor::empty(w_shape, DType::F32, Device::cuda());
  TensorDesc xd(x.shape()), yd(gout.shape());
  FilterDesc wd(w_shape);
  ConvDesc cd(p);
  AlgoChoice c = choose<cudnnConvolutionBwdFilterAlgoPerf_t>(
      cache_key(Direction::BackwardFilter, x.shape(), w_shape, p), [&](int n, int* got, auto* perf) {
        return cudnn_api().cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle(), xd.d, yd.d, cd.d, wd.d, n, got,
                                                                         perf);
      });
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnSetConvolutionMathType(cd.d, c.math));
  Tensor ws = workspace(c.workspace);
  const float one = 1.f, zero = 0.f;
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnConvolutionBackwardFilter(
      handle(), &one, xd.d, x.data_ptr(), yd.d, gout.data_ptr(), cd.d, cudnnConvolutionBwdFilterAlgo_t(c.algo),
      ws.data_ptr(), c.workspace, &zero, wd.d, dw.data_ptr()));
  return dw;
}

void batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                      const Tensor& running_var, double momentum, double eps, const Tensor& y, const Tensor& save_mean,
                      const Tensor& save_invstd) {
  TensorDesc xd(x.shape());
  TensorDesc pd(Shape{1, x.size(1), 1, 1});
  const float one = 1.f, zero = 0.f;
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnBatchNormalizationForwardTraining(
      handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd.d, x.data_ptr(), xd.d, y.data_ptr(), pd.d, weight.data_ptr(),
      bias.data_ptr(), momentum, running_mean.data_ptr(), running_var.data_ptr(), eps, save_mean.data_ptr(),
      save_invstd.data_ptr()));
}

void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd, double eps, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias) {
  TensorDesc xd(x.shape());
  TensorDesc pd(Shape{1, x.size(1), 1, 1});
  const float one = 1.f, zero = 0.f;
  ANIMA_CUDNN_CHECK(cudnn_api().cudnnBatchNormalizationBackward(
      handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd.d, x.data_ptr(), xd.d, gy.data_ptr(), xd.d,
      dx.data_ptr(), pd.d, weight.data_ptr(), dweight.data_ptr(), dbias.data_ptr(), eps, save_mean.data_ptr(),
      save_invstd.data_ptr()));
}

size_t conv_algorithm_cache_size() {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  return g_algo_cache.size();
}

}  // namespace anima::kernels::cudnn

#else  // CPU-only build: no CUDA tensor can exist, so these are never reached.

namespace anima::kernels::cudnn {
namespace {
[[noreturn]] void no_cuda(const char* op) {
  ANIMA_FAIL(op, ": a CUDA tensor reached a build without CUDA (make CUDA=0)");
}
}  // namespace
Tensor conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, const Shape&) {
  no_cuda("conv2d");
}
Tensor conv2d_backward_data(const Tensor&, const Tensor&, const Shape&, const Conv2dParams&) {
  no_cuda("conv2d_backward_input");
}
Tensor conv2d_backward_filter(const Tensor&, const Tensor&, const Shape&, const Conv2dParams&) {
  no_cuda("conv2d_backward_weight");
}
void batch_norm_train(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double, double,
                      const Tensor&, const Tensor&, const Tensor&) {
  no_cuda("batch_norm");
}
void batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double,
                         const Tensor&, const Tensor&, const Tensor&) {
  no_cuda("batch_norm_backward");
}
size_t conv_algorithm_cache_size() { return 0; }
}  // namespace anima::kernels::cudnn

#endif
