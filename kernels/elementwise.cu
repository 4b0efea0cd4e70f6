// Elementwise ops: each public function names its element body (kernels/elementwise_ops.h) and
// hands it to one of the map templates below, which run it through parallel_for on either device.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_ops.h"
#include "kernels/launch.h"
#include "tensor/philox.h"

namespace anima::kernels {
namespace detail {

template <class Op>
Tensor map_unary(const char* name, const Tensor& x, Op op) {
  check_dtype(name, x, DType::F32);
  Tensor out = Tensor::empty(x.shape(), DType::F32, x.device());
  const float* px = x.data<float>();
  float* po = out.data<float>();
  parallel_for(x.device(), x.numel(), [=] ANIMA_HD(int64_t i) { po[i] = op(px[i]); });
  return out;
}

template <class Index, class Out, class Op>
void broadcast_binary(Device dev, int64_t n, BroadcastIndex<2> bi, const float* pa, const float* pb, Out* po, Op op) {
  if (n == 0) return;  // an empty output: no rows (and an innermost extent that may be 0)
  if (dev.is_cpu() && bi.ndim > 0) {
    // Row by row along the innermost (merged) dimension, where each input either walks (stride
    // 1) or stays (stride 0): the offsets are computed once per row, not per element.
    int last = bi.ndim - 1;
    int64_t inner = bi.extent[last], sa = bi.stride[0][last], sb = bi.stride[1][last];
    cpu_for_rows(n / inner, inner, [=](int64_t r) {
      int64_t off[2];
      bi.template offsets<Index>(r * inner, off);
      const float* a = pa + off[0];
      const float* b = pb + off[1];
      Out* o = po + r * inner;
      if (sa == 1 && sb == 0) {
        float bv = b[0];
        for (int64_t j = 0; j < inner; ++j) o[j] = op(a[j], bv);
      } else if (sa == 0 && sb == 1) {
        float av = a[0];
        for (int64_t j = 0; j < inner; ++j) o[j] = op(av, b[j]);
      } else {
        for (int64_t j = 0; j < inner; ++j) o[j] = op(a[j * sa], b[j * sb]);
      }
    });
    return;
  }
  parallel_for(dev, n, [=] ANIMA_HD(int64_t i) {
    int64_t off[2];
    bi.template offsets<Index>(i, off);
    po[i] = op(pa[off[0]], pb[off[1]]);
  });
}

template <class Out, class Op>
Tensor map_binary(const char* name, const Tensor& a, const Tensor& b, Op op) {
  check_same_device(name, {&a, &b});
  check_dtype(name, a, DType::F32);
  check_dtype(name, b, DType::F32);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, dtype_of<Out>::value, a.device());
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  Out* po = out.data<Out>();
  int64_t n = out.numel();
  Device dev = a.device();
  if (a.shape() == b.shape()) {
    parallel_for(dev, n, [=] ANIMA_HD(int64_t i) { po[i] = op(pa[i], pb[i]); });
  } else if (b.numel() == 1 && a.numel() == n) {
    parallel_for(dev, n, [=] ANIMA_HD(int64_t i) { po[i] = op(pa[i], pb[0]); });
  } else if (a.numel() == 1 && b.numel() == n) {
    parallel_for(dev, n, [=] ANIMA_HD(int64_t i) { po[i] = op(pa[0], pb[i]); });
  } else {
    const Shape* in[2] = {&a.shape(), &b.shape()};
    BroadcastIndex<2> bi = make_broadcast_index<2>(shape, in);
    if (n < (int64_t(1) << 32))
      broadcast_binary<uint32_t>(dev, n, bi, pa, pb, po, op);
    else
      broadcast_binary<int64_t>(dev, n, bi, pa, pb, po, op);
  }
  return out;
}

template <class C>
Tensor where_typed(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, DType::F32, a.device());
  const Shape* in[3] = {&cond.shape(), &a.shape(), &b.shape()};
  BroadcastIndex<3> bi = make_broadcast_index<3>(shape, in);
  const C* pc = cond.data<C>();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* po = out.data<float>();
  parallel_for(a.device(), out.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t off[3];
    bi.offsets(i, off);
    po[i] = pc[off[0]] != C(0) ? pa[off[1]] : pb[off[2]];
  });
  return out;
}

template <class T>
Tensor expand_typed(const Tensor& x, const Shape& shape) {
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const Shape* in[1] = {&x.shape()};
  BroadcastIndex<1> bi = make_broadcast_index<1>(shape, in);
  const T* px = x.data<T>();
  T* po = out.data<T>();
  parallel_for(x.device(), out.numel(), [=] ANIMA_HD(int64_t i) {
    int64_t off[1];
    bi.offsets(i, off);
    po[i] = px[off[0]];
  });
  return out;
}

// Float to integer: truncation toward zero, NaN to 0, saturation at the type's limits (C++
// leaves these undefined and x86 and GPUs disagree, so the body defines them).
template <class S, class D>
ANIMA_HD inline D convert(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (v != v) return D(0);
    constexpr double lo = double(std::numeric_limits<D>::lowest()), hi = double(std::numeric_limits<D>::max());
    double t = double(v);
    if (t <= lo) return std::numeric_limits<D>::lowest();
    if (t >= hi) return std::numeric_limits<D>::max();
    return D(t);
  } else {
    return D(v);
  }
}

template <class S, class D>
void cast_typed(const Tensor& x, const Tensor& out) {
  const S* px = x.data<S>();
  D* po = out.data<D>();
  parallel_for(x.device(), x.numel(), [=] ANIMA_HD(int64_t i) { po[i] = convert<S, D>(px[i]); });
}

template <class T>
void fill_typed(const Tensor& t, double value) {
  T v = T(value);
  T* p = t.data<T>();
  parallel_for(t.device(), t.numel(), [=] ANIMA_HD(int64_t i) { p[i] = v; });
}

template <class T>
void add_scalar_typed(const Tensor& t, double s) {
  T v = T(s);
  T* p = t.data<T>();
  parallel_for(t.device(), t.numel(), [=] ANIMA_HD(int64_t i) { p[i] += v; });
}

template <class T>
void arange_typed(const Tensor& out, double start, double step) {
  T* p = out.data<T>();
  parallel_for(out.device(), out.numel(),
               [=] ANIMA_HD(int64_t i) { p[i] = T(add_rn(start, mul_rn(double(i), step))); });
}

}  // namespace detail

using detail::map_binary;
using detail::map_unary;

Tensor neg(const Tensor& x) { return map_unary("neg", x, ops::Neg{}); }
Tensor exp(const Tensor& x) { return map_unary("exp", x, ops::Exp{}); }
Tensor log(const Tensor& x) { return map_unary("log", x, ops::Log{}); }
Tensor sqrt(const Tensor& x) { return map_unary("sqrt", x, ops::Sqrt{}); }
Tensor abs(const Tensor& x) { return map_unary("abs", x, ops::Abs{}); }
Tensor sign(const Tensor& x) { return map_unary("sign", x, ops::Sign{}); }
Tensor relu(const Tensor& x) { return map_unary("relu", x, ops::Relu{}); }
Tensor leaky_relu(const Tensor& x, float slope) { return map_unary("leaky_relu", x, ops::LeakyRelu{slope}); }
Tensor sigmoid(const Tensor& x) { return map_unary("sigmoid", x, ops::Sigmoid{}); }
Tensor tanh(const Tensor& x) { return map_unary("tanh", x, ops::Tanh{}); }
Tensor clamp(const Tensor& x, float lo, float hi) {
  ANIMA_CHECK(lo <= hi, "clamp: lower bound ", lo, " is above upper bound ", hi);
  return map_unary("clamp", x, ops::Clamp{lo, hi});
}
Tensor add_scalar(const Tensor& x, float s) { return map_unary("add_scalar", x, ops::AddScalar{s}); }
Tensor mul_scalar(const Tensor& x, float s) { return map_unary("mul_scalar", x, ops::MulScalar{s}); }
Tensor div_scalar(const Tensor& x, float s) { return map_unary("div_scalar", x, ops::DivScalar{s}); }
Tensor rsub_scalar(const Tensor& x, float s) { return map_unary("rsub_scalar", x, ops::RSubScalar{s}); }
Tensor pow_scalar(const Tensor& x, float p) { return map_unary("pow_scalar", x, ops::PowScalar{p}); }

Tensor add(const Tensor& a, const Tensor& b) { return map_binary<float>("add", a, b, ops::Add{}); }
Tensor sub(const Tensor& a, const Tensor& b) { return map_binary<float>("sub", a, b, ops::Sub{}); }
Tensor mul(const Tensor& a, const Tensor& b) { return map_binary<float>("mul", a, b, ops::Mul{}); }
Tensor div(const Tensor& a, const Tensor& b) { return map_binary<float>("div", a, b, ops::Div{}); }
Tensor pow(const Tensor& a, const Tensor& b) { return map_binary<float>("pow", a, b, ops::Pow{}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return map_binary<float>("maximum", a, b, ops::Maximum{}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return map_binary<float>("minimum", a, b, ops::Minimum{}); }
Tensor eq(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("eq", a, b, ops::Eq{}); }
Tensor ne(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("ne", a, b, ops::Ne{}); }
Tensor lt(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("lt", a, b, ops::Lt{}); }
Tensor le(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("le", a, b, ops::Le{}); }
Tensor gt(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("gt", a, b, ops::Gt{}); }
Tensor ge(const Tensor& a, const Tensor& b) { return map_binary<uint8_t>("ge", a, b, ops::Ge{}); }

// The backward bodies are same-shape binary maps; checking the shapes keeps a wrong rule from
// silently broadcasting.
namespace detail {
template <class Op>
Tensor map_grad(const char* name, const Tensor& grad, const Tensor& saved, Op op) {
  ANIMA_CHECK(grad.shape() == saved.shape(), name, ": gradient shape ", grad.shape().str(),
              " differs from saved tensor shape ", saved.shape().str());
  return map_binary<float>(name, grad, saved, op);
}
}  // namespace detail
using detail::map_grad;

Tensor relu_backward(const Tensor& g, const Tensor& x) { return map_grad("relu_backward", g, x, ops::ReluGrad{}); }
Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, float slope) {
  return map_grad("leaky_relu_backward", g, x, ops::LeakyReluGrad{slope});
}
Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  return map_grad("sigmoid_backward", g, y, ops::SigmoidGrad{});
}
Tensor tanh_backward(const Tensor& g, const Tensor& y) { return map_grad("tanh_backward", g, y, ops::TanhGrad{}); }
Tensor clamp_backward(const Tensor& g, const Tensor& x, float lo, float hi) {
  return map_grad("clamp_backward", g, x, ops::ClampGrad{lo, hi});
}
Tensor abs_backward(const Tensor& g, const Tensor& x) { return map_grad("abs_backward", g, x, ops::AbsGrad{}); }
Tensor pow_scalar_backward(const Tensor& g, const Tensor& x, float p) {
  return map_grad("pow_scalar_backward", g, x, ops::PowScalarGrad{p});
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device("where", {&cond, &a, &b});
  check_dtype("where", a, DType::F32);
  check_dtype("where", b, DType::F32);
  if (cond.dtype() == DType::U8) return detail::where_typed<uint8_t>(cond, a, b);
  ANIMA_CHECK(cond.dtype() == DType::F32, "where: condition must be uint8 or float32, got ", dtype_name(cond.dtype()));
  return detail::where_typed<float>(cond, a, b);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  ANIMA_CHECK(broadcast_shapes(x.shape(), shape, "expand") == shape, "expand: cannot expand ", x.shape().str(), " to ",
              shape.str());
  return dispatch_dtype(x.dtype(), [&](auto zero) { return detail::expand_typed<decltype(zero)>(x, shape); });
}

Tensor cast(const Tensor& x, DType dtype) {
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  dispatch_dtype(x.dtype(), [&](auto src) {
    dispatch_dtype(dtype, [&](auto dst) { detail::cast_typed<decltype(src), decltype(dst)>(x, out); });
  });
  return out;
}

void add_inplace(const Tensor& dst, const Tensor& src, float alpha) {
  check_same_device("add_inplace", {&dst, &src});
  check_dtype("add_inplace", dst, DType::F32);
  check_dtype("add_inplace", src, DType::F32);
  ANIMA_CHECK(dst.shape() == src.shape(), "add_inplace: destination ", dst.shape().str(), " and source ",
              src.shape().str(), " differ");
  float* pd = dst.data<float>();
  const float* ps = src.data<float>();
  parallel_for(dst.device(), dst.numel(), [=] ANIMA_HD(int64_t i) { pd[i] += alpha * ps[i]; });
}

void fill(const Tensor& t, double value) {
  dispatch_dtype(t.dtype(), [&](auto zero) { detail::fill_typed<decltype(zero)>(t, value); });
}

Tensor eye(int64_t rows, int64_t cols, Device device) {
  ANIMA_CHECK(rows >= 0 && cols >= 0, "eye: negative size ", rows, "x", cols);
  Tensor out = Tensor::empty(Shape{rows, cols}, DType::F32, device);
  float* p = out.data<float>();
  parallel_for(device, rows * cols, [=] ANIMA_HD(int64_t i) { p[i] = (i / cols == i % cols) ? 1.f : 0.f; });
  return out;
}

void add_scalar_(const Tensor& t, double s) {
  dispatch_dtype(t.dtype(), [&](auto zero) { detail::add_scalar_typed<decltype(zero)>(t, s); });
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  fill(t, value);
  return t;
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  ANIMA_CHECK(step != 0, "arange: step must be nonzero");
  ANIMA_CHECK((end - start) / step >= 0, "arange: step ", step, " does not lead from ", start, " to ", end);
  int64_t n = int64_t(std::ceil((end - start) / step));
  Tensor out = Tensor::empty(Shape{n}, dtype, device);
  dispatch_dtype(dtype, [&](auto zero) { detail::arange_typed<decltype(zero)>(out, start, step); });
  return out;
}

Tensor linspace(float start, float end, int64_t steps, Device device) {
  ANIMA_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  Tensor out = Tensor::empty(Shape{steps}, DType::F32, device);
  float* p = out.data<float>();
  float step = steps > 1 ? (end - start) / float(steps - 1) : 0.f;
  int64_t half = steps / 2;
  // As PyTorch: the first half counts up from start, the second half down from end, so that
  // both ends are exact and the sequence is symmetric.
  parallel_for(device, steps, [=] ANIMA_HD(int64_t i) {
    p[i] = i < half ? start + step * float(i) : end - step * float(steps - 1 - i);
  });
  return out;
}

}  // namespace anima::kernels
