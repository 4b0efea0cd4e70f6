// Forward = a raw kernel call; backward = the rule recorded beside it. Rules run with grad mode
// off and capture only detached tensors.
#include "autograd/functions.h"

#include "autograd/node.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "kernels/softmax.h"

namespace anima {
namespace K = kernels;

namespace {
using Grads = std::vector<Tensor>;

// For ops whose gradient is one same-shape fused kernel of (grad, saved).
template <class Rule>
Tensor unary_op(const char* name, const Tensor& x, Tensor out, const Tensor& saved, Rule rule) {
  Tensor s = saved.detach();
  return record(name, out, {x}, [s, rule](const Tensor& g, const std::vector<bool>&) -> Grads { return {rule(g, s)}; });
}

Tensor scalar_zero(Device device) { return K::full(Shape{}, 0.0, DType::F32, device); }
}  // namespace

// ---------------- elementwise ----------------

Tensor neg(const Tensor& x) {
  return record("neg", K::neg(x), {x}, [](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::neg(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor y = K::exp(x);
  return unary_op("exp", x, y, y, [](const Tensor& g, const Tensor& y) { return K::mul(g, y); });
}

Tensor log(const Tensor& x) {
  return unary_op("log", x, K::log(x), x, [](const Tensor& g, const Tensor& x) { return K::div(g, x); });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = K::sqrt(x);
  return unary_op("sqrt", x, y, y, [](const Tensor& g, const Tensor& y) { return K::div(K::mul_scalar(g, 0.5f), y); });
}

Tensor abs(const Tensor& x) {
  return unary_op("abs", x, K::abs(x), x, [](const Tensor& g, const Tensor& x) { return K::abs_backward(g, x); });
}

Tensor relu(const Tensor& x) {
  return unary_op("relu", x, K::relu(x), x, [](const Tensor& g, const Tensor& x) { return K::relu_backward(g, x); });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  return unary_op("leaky_relu", x, K::leaky_relu(x, slope), x,
                  [slope](const Tensor& g, const Tensor& x) { return K::leaky_relu_backward(g, x, slope); });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = K::sigmoid(x);
  return unary_op("sigmoid", x, y, y, [](const Tensor& g, const Tensor& y) { return K::sigmoid_backward(g, y); });
}

Tensor tanh(const Tensor& x) {
  Tensor y = K::tanh(x);
  return unary_op("tanh", x, y, y, [](const Tensor& g, const Tensor& y) { return K::tanh_backward(g, y); });
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  return unary_op("clamp", x, K::clamp(x, lo, hi), x,
                  [lo, hi](const Tensor& g, const Tensor& x) { return K::clamp_backward(g, x, lo, hi); });
}

Tensor pow(const Tensor& x, float p) {
  return unary_op("pow", x, K::pow_scalar(x, p), x,
                  [p](const Tensor& g, const Tensor& x) { return K::pow_scalar_backward(g, x, p); });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = K::pow(a, b);
  Tensor sa = a.detach(), sb = b.detach(), sy = y.detach();
  return record("pow", y, {a, b}, [sa, sb, sy](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(2);
    // d/da a^b = b a^(b-1) = b y / a would divide by zero at a = 0; use pow directly.
    if (needs[0]) r[0] = K::sum_to(K::mul(g, K::mul(sb, K::pow(sa, K::add_scalar(sb, -1.f)))), sa.shape());
    if (needs[1]) r[1] = K::sum_to(K::mul(g, K::mul(sy, K::log(sa))), sb.shape());
    return r;
  });
}

Tensor add(const Tensor& a, const Tensor& b) {
  Shape sa = a.defined() ? a.shape() : Shape{}, sb = b.defined() ? b.shape() : Shape{};
  return record("add", K::add(a, b), {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    return {needs[0] ? K::sum_to(g, sa) : Tensor(), needs[1] ? K::sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Shape sa = a.defined() ? a.shape() : Shape{}, sb = b.defined() ? b.shape() : Shape{};
  return record("sub", K::sub(a, b), {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    return {needs[0] ? K::sum_to(g, sa) : Tensor(), needs[1] ? K::sum_to(K::neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = K::mul(a, b);
  Tensor sa = a.detach(), sb = b.detach();
  return record("mul", y, {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(2);
    if (needs[0]) r[0] = K::sum_to(K::mul(g, sb), sa.shape());
    if (needs[1]) r[1] = K::sum_to(K::mul(g, sa), sb.shape());
    return r;
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = K::div(a, b);
  Tensor sb = b.detach(), sy = y.detach();
  Shape sa = a.shape();
  return record("div", y, {a, b}, [sa, sb, sy](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(2);
    Tensor g_over_b = K::div(g, sb);
    if (needs[0]) r[0] = K::sum_to(g_over_b, sa);
    if (needs[1]) r[1] = K::sum_to(K::neg(K::mul(g_over_b, sy)), sb.shape());  // -g a / b^2
    return r;
  });
}

namespace {
// Gradient share of `a` in max/min(a, b): 1 where a wins, 1/2 on ties, 0 where b wins.
Tensor winner_share(const Tensor& a_wins, const Tensor& ties) {
  return K::add(K::cast(a_wins, DType::F32), K::mul_scalar(K::cast(ties, DType::F32), 0.5f));
}

Tensor extremum(const char* name, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor y = is_max ? K::maximum(a, b) : K::minimum(a, b);
  Tensor sa = a.detach(), sb = b.detach();
  return record(name, y, {a, b}, [sa, sb, is_max](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Tensor share_a = winner_share(is_max ? K::gt(sa, sb) : K::lt(sa, sb), K::eq(sa, sb));
    Grads r(2);
    if (needs[0]) r[0] = K::sum_to(K::mul(g, share_a), sa.shape());
    if (needs[1]) r[1] = K::sum_to(K::mul(g, K::rsub_scalar(share_a, 1.f)), sb.shape());
    return r;
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

Tensor add(const Tensor& x, float s) {
  return record("add_scalar", K::add_scalar(x, s), {x},
                [](const Tensor& g, const std::vector<bool>&) -> Grads { return {g}; });
}

Tensor mul(const Tensor& x, float s) {
  return record("mul_scalar", K::mul_scalar(x, s), {x},
                [s](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::mul_scalar(g, s)}; });
}

Tensor div(const Tensor& x, float s) {
  return record("div_scalar", K::div_scalar(x, s), {x},
                [s](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::div_scalar(g, s)}; });
}

Tensor rsub(const Tensor& x, float s) {
  return record("rsub_scalar", K::rsub_scalar(x, s), {x},
                [](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::neg(g)}; });
}

Tensor eq(const Tensor& a, const Tensor& b) { return K::eq(a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return K::ne(a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return K::lt(a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return K::le(a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return K::gt(a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return K::ge(a, b); }
Tensor cast(const Tensor& x, DType dtype) { return K::cast(x, dtype); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor c = cond.detach();
  Shape sa = a.shape(), sb = b.shape();
  return record("where", K::where(cond, a, b), {a, b},
                [c, sa, sb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
                  Tensor zero = scalar_zero(g.device());
                  Grads r(2);
                  if (needs[0]) r[0] = K::sum_to(K::where(c, g, zero), sa);
                  if (needs[1]) r[1] = K::sum_to(K::where(c, zero, g), sb);
                  return r;
                });
}

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& x, float s) { return add(x, s); }
Tensor operator-(const Tensor& x, float s) { return add(x, -s); }
Tensor operator*(const Tensor& x, float s) { return mul(x, s); }
Tensor operator/(const Tensor& x, float s) { return div(x, s); }
Tensor operator+(float s, const Tensor& x) { return add(x, s); }
Tensor operator-(float s, const Tensor& x) { return rsub(x, s); }
Tensor operator*(float s, const Tensor& x) { return mul(x, s); }
Tensor operator/(float s, const Tensor& x) { return mul(pow(x, -1.f), s); }

// ---------------- reductions ----------------

namespace {
// The gradient of a reduction, brought back to the input's shape: view it with the reduced
// dims kept as 1, then broadcast.
Tensor unreduce(const Tensor& g, const Shape& in_shape, const std::vector<int>& dims) {
  Shape kept = K::reduced_shape(in_shape, dims, true);
  return K::expand(raw::view(g, kept), in_shape);
}

int64_t reduced_count(const Shape& s, const std::vector<int>& dims) {
  int64_t n = 1;
  for (int d : dims) n *= s[d];
  return n;
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& dims_in, bool keepdim) {
  std::vector<int> dims = K::reduction_dims(x.shape(), dims_in, "sum");
  Shape s = x.shape();
  return record("sum", K::sum(x, dims, keepdim), {x},
                [s, dims](const Tensor& g, const std::vector<bool>&) -> Grads { return {unreduce(g, s, dims)}; });
}

Tensor mean(const Tensor& x, const std::vector<int>& dims_in, bool keepdim) {
  std::vector<int> dims = K::reduction_dims(x.shape(), dims_in, "mean");
  Shape s = x.shape();
  float inv = 1.f / float(reduced_count(s, dims));
  return record("mean", K::mean(x, dims, keepdim), {x},
                [s, dims, inv](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {K::mul_scalar(unreduce(g, s, dims), inv)};
                });
}

namespace {
Tensor extreme_reduce(const char* name, const Tensor& x, const std::vector<int>& dims_in, bool keepdim, bool is_max) {
  std::vector<int> dims = K::reduction_dims(x.shape(), dims_in, name);
  Tensor y = is_max ? K::amax(x, dims, keepdim) : K::amin(x, dims, keepdim);
  Tensor sx = x.detach(), sy = y.detach();
  return record(name, y, {x}, [sx, sy, dims](const Tensor& g, const std::vector<bool>&) -> Grads {
    Shape s = sx.shape();
    Tensor winners = K::cast(K::eq(sx, unreduce(sy, s, dims)), DType::F32);
    Tensor count = K::sum(winners, dims, true);
    Shape kept = K::reduced_shape(s, dims, true);
    return {K::mul(winners, K::expand(K::div(raw::view(g, kept), count), s))};
  });
}
}  // namespace

Tensor amax(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return extreme_reduce("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  return extreme_reduce("amin", x, dims, keepdim, false);
}

Tensor mean_abs_diff(const Tensor& a, const Tensor& b) {
  Tensor y = K::mean_abs_diff(a, b);
  Tensor sa = a.detach(), sb = b.detach();
  return record("mean_abs_diff", y, {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    // sign(a - b) * g / n, with g a scalar tensor on the device (no host read).
    Tensor ga = K::mul(K::sign(K::sub(sa, sb)), K::div_scalar(g, float(sa.numel())));
    return {needs[0] ? ga : Tensor(), needs[1] ? K::neg(ga) : Tensor()};
  });
}

// ---------------- shape ----------------

Tensor reshape(const Tensor& x, const std::vector<int64_t>& dims) {
  Shape s = x.shape();
  Tensor y = raw::view(x, raw::infer_shape(dims, x.numel(), "reshape"));
  return record("reshape", y, {x},
                [s](const Tensor& g, const std::vector<bool>&) -> Grads { return {raw::view(g, s)}; });
}

Tensor flatten(const Tensor& x, int start_dim, int end_dim) {
  const Shape& s = x.shape();
  if (s.ndim == 0) return reshape(x, {1});
  int a = s.wrap_dim(start_dim, "flatten"), b = s.wrap_dim(end_dim, "flatten");
  ANIMA_CHECK(a <= b, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  std::vector<int64_t> out;
  for (int d = 0; d < a; ++d) out.push_back(s[d]);
  int64_t n = 1;
  for (int d = a; d <= b; ++d) n *= s[d];
  out.push_back(n);
  for (int d = b + 1; d < s.ndim; ++d) out.push_back(s[d]);
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, int dim) {
  std::vector<int64_t> out = x.shape().vec();
  int d = dim < 0 ? dim + x.dim() + 1 : dim;
  ANIMA_CHECK(d >= 0 && d <= x.dim(), "unsqueeze: dimension ", dim, " out of range for shape ", x.shape().str());
  out.insert(out.begin() + d, 1);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "squeeze");
  ANIMA_CHECK(x.shape()[d] == 1, "squeeze: dimension ", dim, " of shape ", x.shape().str(), " is not 1");
  std::vector<int64_t> out = x.shape().vec();
  out.erase(out.begin() + d);
  return reshape(x, out);
}

Tensor permute(const Tensor& x, const std::vector<int>& perm) {
  Tensor y = K::permute(x, perm);
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[x.shape().wrap_dim(perm[i], "permute")] = int(i);
  return record("permute", y, {x},
                [inverse](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::permute(g, inverse)}; });
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  return permute(x, K::transpose_permutation(x.shape(), dim0, dim1));
}

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  Tensor y = K::concat(xs, dim);
  int d = xs[0].shape().wrap_dim(dim, "concat");
  std::vector<int64_t> lengths;
  for (const Tensor& x : xs) lengths.push_back(x.shape()[d]);
  return record("concat", y, xs, [d, lengths](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(lengths.size());
    int64_t at = 0;
    for (size_t i = 0; i < lengths.size(); ++i) {
      if (needs[i]) r[i] = K::slice(g, d, at, at + lengths[i]);
      at += lengths[i];
    }
    return r;
  });
}

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end, int64_t step) {
  Shape s = x.shape();
  return record("slice", K::slice(x, dim, start, end, step), {x},
                [s, dim, start, end, step](const Tensor& g, const std::vector<bool>&) -> Grads {
                  return {K::slice_backward(g, s, dim, start, end, step)};
                });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Shape s = x.shape();
  return record("expand", K::expand(x, shape), {x},
                [s](const Tensor& g, const std::vector<bool>&) -> Grads { return {K::sum_to(g, s)}; });
}

// ---------------- linear algebra, softmax ----------------

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  Tensor y = K::matmul(a, b, ta, tb);
  Tensor sa = a.detach(), sb = b.detach();
  // With C = op(A) op(B): dA = g op(B)^T (transposed back if A was used transposed), likewise dB.
  // sum_to folds the batch dimension when a plain matrix was shared by every batch.
  return record("matmul", y, {a, b}, [sa, sb, ta, tb](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(2);
    if (needs[0]) r[0] = K::sum_to(ta ? K::matmul(sb, g, tb, true) : K::matmul(g, sb, false, !tb), sa.shape());
    if (needs[1]) r[1] = K::sum_to(tb ? K::matmul(g, sa, true, ta) : K::matmul(sa, g, !ta, false), sb.shape());
    return r;
  });
}

Tensor softmax(const Tensor& x, int dim) {
  Tensor y = K::softmax(x, dim);
  Tensor sy = y.detach();
  return record("softmax", y, {x}, [sy, dim](const Tensor& g, const std::vector<bool>&) -> Grads {
    return {K::softmax_backward(g, sy, dim)};
  });
}

Tensor weighted_sum(const Tensor& w, const Tensor& v) {
  Tensor y = K::weighted_sum(w, v);
  Tensor sw = w.detach(), sv = v.detach();
  return record("weighted_sum", y, {w, v}, [sw, sv](const Tensor& g, const std::vector<bool>& needs) -> Grads {
    Grads r(2);
    if (needs[0]) r[0] = K::weighted_sum_backward_weights(g, sv);
    if (needs[1]) r[1] = K::weighted_sum_backward_values(g, sw);
    return r;
  });
}

Tensor log_softmax(const Tensor& x, int dim) {
  Tensor y = K::log_softmax(x, dim);
  Tensor sy = y.detach();
  return record("log_softmax", y, {x}, [sy, dim](const Tensor& g, const std::vector<bool>&) -> Grads {
    return {K::log_softmax_backward(g, sy, dim)};
  });
}

// ---------------- devices and copies ----------------

Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Device from = x.device();
  return record("to", raw::to_device(x, device), {x},
                [from](const Tensor& g, const std::vector<bool>&) -> Grads { return {raw::to_device(g, from)}; });
}

Tensor clone(const Tensor& x) {
  return record("clone", raw::to_device(x, x.device()), {x},
                [](const Tensor& g, const std::vector<bool>&) -> Grads { return {g}; });
}

// The differentiable Tensor methods declared in tensor/tensor.h.
Tensor Tensor::reshape(const std::vector<int64_t>& shape) const { return anima::reshape(*this, shape); }
Tensor Tensor::to(Device device) const { return anima::to(*this, device); }
Tensor Tensor::clone() const { return anima::clone(*this); }

Tensor sum_terms(const std::map<std::string, Tensor>& terms) {
  Tensor total;
  for (const auto& [name, v] : terms) total = total.defined() ? total + v : v;
  return total;
}

}  // namespace anima
