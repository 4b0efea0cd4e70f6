#include "kernels/softmax.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/elementwise_ops.h"
#include "kernels/launch.h"
#include "kernels/reduce.h"
#include "kernels/reduce_ops.h"
#include "kernels/reduce_order.h"

namespace anima::kernels {

// ---- composed: any device, any shape ----
namespace {

bool g_softmax_composed = false;  // set_softmax_composed_cpu

Tensor composed_softmax(const Tensor& x, int d) {
  Tensor e = exp(sub(x, amax(x, {d}, true)));
  return div(e, sum(e, {d}, true));
}
Tensor composed_log_softmax(const Tensor& x, int d) {
  Tensor shifted = sub(x, amax(x, {d}, true));
  return sub(shifted, log(sum(exp(shifted), {d}, true)));
}
Tensor composed_softmax_backward(const Tensor& grad, const Tensor& y, int d) {
  return mul(y, sub(grad, sum(mul(grad, y), {d}, true)));
}
Tensor composed_log_softmax_backward(const Tensor& grad, const Tensor& y, int d) {
  return sub(grad, mul(exp(y), sum(grad, {d}, true)));
}

// ---- fused, CPU: one pass per step over a row (or a block of columns) that stays in L1 ----
//
// The composed path makes five passes over the whole tensor (max, subtract, exp, sum, divide),
// each a parallel region and a fresh buffer. The fused path walks one softmax row at a time, or,
// over a dimension that is not the last, a block of 256 columns, and makes the same steps on it.
// Every sum and maximum takes the order of kernels/reduce_order.h that the composed path's
// reductions take, and every element the same float expression: the same bits (test "softmax:
// the fused CPU path gives the composed path's bits").

enum class Kind { Softmax, LogSoftmax, SoftmaxBackward, LogSoftmaxBackward };

// x (and y for a backward) viewed as [outer, K, inner] over the softmax dimension.
struct Axes {
  int64_t outer = 1, K = 1, inner = 1;
};
Axes axes_of(const Shape& s, int d) {
  Axes a;
  for (int i = 0; i < d; ++i) a.outer *= s[i];
  a.K = s[d];
  for (int i = d + 1; i < s.ndim; ++i) a.inner *= s[i];
  return a;
}

// The composed path's reductions follow reduce_row's order for a last dimension of any length,
// and reduce_middle_block's for another dimension of up to kCpuChunk (beyond, they permute).
// A single long row stays composed: its reductions split the row's chunks over the threads, the
// fused row kernel would run it on one.
bool fused_applies(const Tensor& x, const Axes& a) {
  bool one_long_row = a.outer == 1 && a.inner == 1 && a.K > detail::kCpuChunk;
  return !g_softmax_composed && x.device().is_cpu() && x.dtype() == DType::F32 && a.K > 0 && !one_long_row &&
         (a.inner == 1 || a.K <= detail::kCpuChunk);
}

// Row kernels: the softmax dimension is the last.
void fused_rows(Kind kind, const float* p, const float* g, float* o, const Axes& a) {
  int64_t K = a.K;
  cpu_for_rows(a.outer, K, [=](int64_t r) ANIMA_LOOP_BODY {
    const float *pr = p + r * K, *gr = g ? g + r * K : nullptr;
    float* out = o + r * K;
    switch (kind) {
      case Kind::Softmax: {
        float m = detail::reduce_row(detail::RowLoad{pr, 0}, 0, K, ops::MaxReduce{});
        auto store_exp = [=](int64_t, int64_t k) ANIMA_LOOP_BODY { return out[k] = ops::exp_f32(pr[k] - m); };
        float s = detail::reduce_row(store_exp, 0, K, ops::SumReduce{});
        for (int64_t k = 0; k < K; ++k) out[k] = out[k] / s;
        break;
      }
      case Kind::LogSoftmax: {
        float m = detail::reduce_row(detail::RowLoad{pr, 0}, 0, K, ops::MaxReduce{});
        float s = detail::reduce_row([=](int64_t, int64_t k) ANIMA_LOOP_BODY { return ops::exp_f32(pr[k] - m); }, 0,
                                     K, ops::SumReduce{});
        float lse = ::logf(s);
        for (int64_t k = 0; k < K; ++k) out[k] = (pr[k] - m) - lse;
        break;
      }
      case Kind::SoftmaxBackward: {
        float s = detail::reduce_row([=](int64_t, int64_t k) ANIMA_LOOP_BODY { return gr[k] * pr[k]; }, 0, K,
                                     ops::SumReduce{});
        for (int64_t k = 0; k < K; ++k) out[k] = pr[k] * (gr[k] - s);
        break;
      }
      case Kind::LogSoftmaxBackward: {
        float s = detail::reduce_row(detail::RowLoad{gr, 0}, 0, K, ops::SumReduce{});
        for (int64_t k = 0; k < K; ++k) out[k] = gr[k] - ops::exp_f32(pr[k]) * s;
        break;
      }
    }
  });
}

// Column-block kernels: the softmax dimension is not the last (K <= kCpuChunk).
void fused_middle(Kind kind, const float* p, const float* g, float* o, const Axes& a) {
  constexpr int64_t B = detail::kMiddleBlock;
  int64_t K = a.K, inner = a.inner, blocks = (inner + B - 1) / B;
  cpu_for_rows(a.outer * blocks, K * B, [=](int64_t t) ANIMA_LOOP_BODY {
    int64_t base = (t / blocks) * K * inner + (t % blocks) * B, w = std::min(B, inner - (t % blocks) * B);
    const float *pb = p + base, *gb = g ? g + base : nullptr;
    float* ob = o + base;
    float m[B], s[B];
    switch (kind) {
      case Kind::Softmax:
        detail::reduce_middle_block([=](int64_t k, int64_t l) ANIMA_LOOP_BODY { return pb[k * inner + l]; }, K, w,
                                    ops::MaxReduce{}, m);
        detail::reduce_middle_block(
            [&](int64_t k, int64_t l) ANIMA_LOOP_BODY { return ob[k * inner + l] = ops::exp_f32(pb[k * inner + l] - m[l]); },
            K, w, ops::SumReduce{}, s);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t l = 0; l < w; ++l) ob[k * inner + l] = ob[k * inner + l] / s[l];
        break;
      case Kind::LogSoftmax:
        detail::reduce_middle_block([=](int64_t k, int64_t l) ANIMA_LOOP_BODY { return pb[k * inner + l]; }, K, w,
                                    ops::MaxReduce{}, m);
        detail::reduce_middle_block(
            [&](int64_t k, int64_t l) ANIMA_LOOP_BODY { return ops::exp_f32(pb[k * inner + l] - m[l]); }, K, w,
            ops::SumReduce{}, s);
        for (int64_t l = 0; l < w; ++l) s[l] = ::logf(s[l]);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t l = 0; l < w; ++l) ob[k * inner + l] = (pb[k * inner + l] - m[l]) - s[l];
        break;
      case Kind::SoftmaxBackward:
        detail::reduce_middle_block(
            [=](int64_t k, int64_t l) ANIMA_LOOP_BODY { return gb[k * inner + l] * pb[k * inner + l]; }, K, w,
            ops::SumReduce{}, s);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t l = 0; l < w; ++l) ob[k * inner + l] = pb[k * inner + l] * (gb[k * inner + l] - s[l]);
        break;
      case Kind::LogSoftmaxBackward:
        detail::reduce_middle_block([=](int64_t k, int64_t l) ANIMA_LOOP_BODY { return gb[k * inner + l]; }, K, w,
                                    ops::SumReduce{}, s);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t l = 0; l < w; ++l)
            ob[k * inner + l] = gb[k * inner + l] - ops::exp_f32(pb[k * inner + l]) * s[l];
        break;
    }
  });
}

Tensor fused(Kind kind, const Tensor& p, const Tensor* g, const Axes& a) {
  Tensor out = Tensor::empty(p.shape(), DType::F32, p.device());
  const float* pg = g ? g->data<float>() : nullptr;
  (a.inner == 1 ? fused_rows : fused_middle)(kind, p.data<float>(), pg, out.data<float>(), a);
  return out;
}

void check_pair(const char* op, const Tensor& grad, const Tensor& y) {
  ANIMA_CHECK(grad.shape() == y.shape() && grad.dtype() == y.dtype() && grad.device() == y.device(), op,
              ": the gradient ", grad.shape().str(), " does not match the output ", y.shape().str());
}

}  // namespace

bool set_softmax_composed_cpu(bool on) {
  bool before = g_softmax_composed;
  g_softmax_composed = on;
  return before;
}

Tensor softmax(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "softmax");
  Axes a = axes_of(x.shape(), d);
  return fused_applies(x, a) ? fused(Kind::Softmax, x, nullptr, a) : composed_softmax(x, d);
}

Tensor log_softmax(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "log_softmax");
  Axes a = axes_of(x.shape(), d);
  return fused_applies(x, a) ? fused(Kind::LogSoftmax, x, nullptr, a) : composed_log_softmax(x, d);
}

Tensor softmax_backward(const Tensor& grad, const Tensor& y, int dim) {
  int d = y.shape().wrap_dim(dim, "softmax_backward");
  check_pair("softmax_backward", grad, y);
  Axes a = axes_of(y.shape(), d);
  return fused_applies(y, a) ? fused(Kind::SoftmaxBackward, y, &grad, a) : composed_softmax_backward(grad, y, d);
}

Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int dim) {
  int d = y.shape().wrap_dim(dim, "log_softmax_backward");
  check_pair("log_softmax_backward", grad, y);
  Axes a = axes_of(y.shape(), d);
  return fused_applies(y, a) ? fused(Kind::LogSoftmaxBackward, y, &grad, a)
                             : composed_log_softmax_backward(grad, y, d);
}

}  // namespace anima::kernels
