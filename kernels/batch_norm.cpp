#include "kernels/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cpu_blas.h"
#include "kernels/cudnn_backend.h"
#include "kernels/launch.h"

namespace anima::kernels {
namespace {

void check_bn(const char* op, const Tensor& x, std::initializer_list<const Tensor*> per_channel) {
  ANIMA_CHECK(x.dim() == 4, op, ": expected [N, C, H, W], got ", x.shape().str());
  check_dtype(op, x, DType::F32);
  for (const Tensor* t : per_channel) {
    check_same_device(op, {&x, t});
    ANIMA_CHECK(t->shape() == Shape{x.size(1)}, op, ": per-channel tensor ", t->shape().str(), " does not match ",
                x.size(1), " channels of ", x.shape().str());
  }
}

// The CPU sums run in double, each channel's in one sequential order (n, then k): fixed bits,
// but a single chain of dependent adds waits on the adder's latency at every element. So a task
// takes up to kGroup channels (fewer when that leaves a thread without one) and walks their
// chains side by side: the same sums, overlapped, whatever the grouping. [2, 64, 128, 128]
// forward + backward, 2 threads, Xeon: 4.3-4.6 ms one channel per task, 3.8-3.9 with 4, 3.0-3.2
// with 8 (PyTorch 2.15: 3.3-3.5).
constexpr int64_t kGroup = 8;

struct TrainArgs {
  const float *x, *weight, *bias;
  float *y, *mean, *invstd, *running_mean, *running_var;
  int64_t N, C, HW;
  double momentum, eps;
};

template <int G>
[[gnu::always_inline]] inline void train_channels(const TrainArgs& a, int64_t c0) {
  const int64_t count = a.N * a.HW;
  double s[G] = {}, ss[G] = {}, mean[G];
  for (int64_t n = 0; n < a.N; ++n) {
    const float* x = a.x + (n * a.C + c0) * a.HW;
    for (int64_t k = 0; k < a.HW; ++k)
      for (int j = 0; j < G; ++j) s[j] += x[j * a.HW + k];
  }
  for (int j = 0; j < G; ++j) mean[j] = s[j] / double(count);
  for (int64_t n = 0; n < a.N; ++n) {
    const float* x = a.x + (n * a.C + c0) * a.HW;
    for (int64_t k = 0; k < a.HW; ++k)
      for (int j = 0; j < G; ++j) {
        double d = x[j * a.HW + k] - mean[j];
        ss[j] += d * d;
      }
  }
  for (int j = 0; j < G; ++j) {
    int64_t c = c0 + j;
    double var = ss[j] / double(count), invstd = 1.0 / std::sqrt(var + a.eps);
    a.mean[c] = float(mean[j]);
    a.invstd[c] = float(invstd);
    a.running_mean[c] = float((1 - a.momentum) * a.running_mean[c] + a.momentum * mean[j]);
    a.running_var[c] =
        float((1 - a.momentum) * a.running_var[c] + a.momentum * var * double(count) / double(count - 1));
    float scale = float(a.weight[c] * invstd), shift = float(a.bias[c] - mean[j] * a.weight[c] * invstd);
    for (int64_t n = 0; n < a.N; ++n) {
      const float* x = a.x + (n * a.C + c) * a.HW;
      float* y = a.y + (n * a.C + c) * a.HW;
      for (int64_t k = 0; k < a.HW; ++k) y[k] = x[k] * scale + shift;
    }
  }
}

struct BackwardArgs {
  const float *gy, *x, *weight, *mean, *invstd;
  float *dx, *dweight, *dbias;
  int64_t N, C, HW;
};

// With xhat = (x - mean) invstd: dbias = sum g, dweight = sum g xhat,
// dx = weight invstd (g - dbias / count - xhat dweight / count).
template <int G>
[[gnu::always_inline]] inline void backward_channels(const BackwardArgs& a, int64_t c0) {
  double count = double(a.N * a.HW), sg[G] = {}, sgx[G] = {}, m[G], inv[G];
  for (int j = 0; j < G; ++j) m[j] = a.mean[c0 + j], inv[j] = a.invstd[c0 + j];
  for (int64_t n = 0; n < a.N; ++n) {
    const float* g = a.gy + (n * a.C + c0) * a.HW;
    const float* x = a.x + (n * a.C + c0) * a.HW;
    for (int64_t k = 0; k < a.HW; ++k)
      for (int j = 0; j < G; ++j) {
        float gv = g[j * a.HW + k];
        sg[j] += gv;
        sgx[j] += double(gv) * (double(x[j * a.HW + k]) - m[j]) * inv[j];
      }
  }
  for (int j = 0; j < G; ++j) {
    int64_t c = c0 + j;
    a.dbias[c] = float(sg[j]);
    a.dweight[c] = float(sgx[j]);
    double w = double(a.weight[c]) * inv[j];
    for (int64_t n = 0; n < a.N; ++n) {
      const float* g = a.gy + (n * a.C + c) * a.HW;
      const float* x = a.x + (n * a.C + c) * a.HW;
      float* dx = a.dx + (n * a.C + c) * a.HW;
      for (int64_t k = 0; k < a.HW; ++k) {
        double xhat = (double(x[k]) - m[j]) * inv[j];
        dx[k] = float(w * (g[k] - sg[j] / count - xhat * sgx[j] / count));
      }
    }
  }
}

// f<G>(c0) for the groups of up to kGroup channels, in parallel by element count (C alone rarely
// reaches the threshold).
template <class F>
void for_channel_groups(int64_t C, int64_t per_channel, F f) {
  int64_t group = std::clamp<int64_t>(C / cpu_max_threads(), 1, kGroup);
  cpu_for_rows((C + group - 1) / group, group * per_channel, [=](int64_t grp) ANIMA_LOOP_BODY {
    int64_t c0 = grp * group;
    switch (std::min(group, C - c0)) {
      case 1:
        return f(std::integral_constant<int, 1>{}, c0);
      case 2:
        return f(std::integral_constant<int, 2>{}, c0);
      case 3:
        return f(std::integral_constant<int, 3>{}, c0);
      case 4:
        return f(std::integral_constant<int, 4>{}, c0);
      case 5:
        return f(std::integral_constant<int, 5>{}, c0);
      case 6:
        return f(std::integral_constant<int, 6>{}, c0);
      case 7:
        return f(std::integral_constant<int, 7>{}, c0);
      default:
        return f(std::integral_constant<int, 8>{}, c0);
    }
  });
}

}  // namespace

BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                                  const Tensor& running_var, double momentum, double eps) {
  check_bn("batch_norm", x, {&weight, &bias, &running_mean, &running_var});
  int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), count = N * HW;
  ANIMA_CHECK(count > 1, "batch_norm: training needs more than one value per channel, got input ", x.shape().str());
  BatchNormForward r{Tensor::empty(x.shape(), DType::F32, x.device()), Tensor::empty(Shape{C}, DType::F32, x.device()),
                     Tensor::empty(Shape{C}, DType::F32, x.device())};
  if (x.is_cuda()) {
    cudnn::batch_norm_train(x, weight, bias, running_mean, running_var, momentum, eps, r.y, r.save_mean, r.save_invstd);
    return r;
  }
  TrainArgs a{x.data<float>(),
              weight.data<float>(),
              bias.data<float>(),
              r.y.data<float>(),
              r.save_mean.data<float>(),
              r.save_invstd.data<float>(),
              running_mean.data<float>(),
              running_var.data<float>(),
              N,
              C,
              HW,
              momentum,
              eps};
  for_channel_groups(C, count, [=](auto g, int64_t c0) ANIMA_LOOP_BODY { train_channels<decltype(g)::value>(a, c0); });
  return r;
}

BatchNormGrads batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, double eps) {
  check_bn("batch_norm_backward", x, {&weight, &save_mean, &save_invstd});
  ANIMA_CHECK(gy.shape() == x.shape(), "batch_norm_backward: gradient ", gy.shape().str(), " does not match input ",
              x.shape().str());
  int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  BatchNormGrads g{Tensor::empty(x.shape(), DType::F32, x.device()), Tensor::empty(Shape{C}, DType::F32, x.device()),
                   Tensor::empty(Shape{C}, DType::F32, x.device())};
  if (x.is_cuda()) {
    cudnn::batch_norm_backward(gy, x, weight, save_mean, save_invstd, eps, g.dx, g.dweight, g.dbias);
    return g;
  }
  BackwardArgs a{gy.data<float>(),
                 x.data<float>(),
                 weight.data<float>(),
                 save_mean.data<float>(),
                 save_invstd.data<float>(),
                 g.dx.data<float>(),
                 g.dweight.data<float>(),
                 g.dbias.data<float>(),
                 N,
                 C,
                 HW};
  for_channel_groups(C, N * HW,
                     [=](auto grp, int64_t c0) ANIMA_LOOP_BODY { backward_channels<decltype(grp)::value>(a, c0); });
  return g;
}

}  // namespace anima::kernels
