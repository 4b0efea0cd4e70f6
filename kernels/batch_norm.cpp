#include "kernels/batch_norm.h"

#include <cmath>

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
  const float* px = x.data<float>();
  const float* pw = weight.data<float>();
  const float* pb = bias.data<float>();
  float* py = r.y.data<float>();
  float* pm = r.save_mean.data<float>();
  float* pi = r.save_invstd.data<float>();
  float* prm = running_mean.data<float>();
  float* prv = running_var.data<float>();
  cpu_for_rows(C, N * HW, [=](int64_t c) ANIMA_LOOP_BODY {  // by element count: C alone rarely reaches the threshold
    double s = 0, ss = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) s += px[(n * C + c) * HW + k];
    double mean = s / double(count);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        double d = px[(n * C + c) * HW + k] - mean;
        ss += d * d;
      }
    double var = ss / double(count);
    double invstd = 1.0 / std::sqrt(var + eps);
    pm[c] = float(mean);
    pi[c] = float(invstd);
    prm[c] = float((1 - momentum) * prm[c] + momentum * mean);
    prv[c] = float((1 - momentum) * prv[c] + momentum * var * double(count) / double(count - 1));
    float scale = float(pw[c] * invstd), shift = float(pb[c] - mean * pw[c] * invstd);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        int64_t i = (n * C + c) * HW + k;
        py[i] = px[i] * scale + shift;
      }
  });
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
  const float* pg = gy.data<float>();
  const float* px = x.data<float>();
  const float* pw = weight.data<float>();
  const float* pm = save_mean.data<float>();
  const float* pi = save_invstd.data<float>();
  float* pdx = g.dx.data<float>();
  float* pdw = g.dweight.data<float>();
  float* pdb = g.dbias.data<float>();
  double count = double(N * HW);
  // With xhat = (x - mean) invstd: dbias = sum g, dweight = sum g xhat,
  // dx = weight invstd (g - dbias / count - xhat dweight / count).
  cpu_for_rows(C, N * HW, [=](int64_t c) ANIMA_LOOP_BODY {  // by element count: C alone rarely reaches the threshold
    double sg = 0, sgx = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        int64_t i = (n * C + c) * HW + k;
        sg += pg[i];
        sgx += double(pg[i]) * (double(px[i]) - pm[c]) * pi[c];
      }
    pdb[c] = float(sg);
    pdw[c] = float(sgx);
    double a = double(pw[c]) * pi[c];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        int64_t i = (n * C + c) * HW + k;
        double xhat = (double(px[i]) - pm[c]) * pi[c];
        pdx[i] = float(a * (pg[i] - sg / count - xhat * sgx / count));
      }
  });
  return g;
}

}  // namespace anima::kernels
