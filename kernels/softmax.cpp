#include "kernels/softmax.h"

#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace anima::kernels {

Tensor softmax(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "softmax");
  Tensor e = exp(sub(x, amax(x, {d}, true)));
  return div(e, sum(e, {d}, true));
}

Tensor log_softmax(const Tensor& x, int dim) {
  int d = x.shape().wrap_dim(dim, "log_softmax");
  Tensor shifted = sub(x, amax(x, {d}, true));
  return sub(shifted, log(sum(exp(shifted), {d}, true)));
}

Tensor softmax_backward(const Tensor& grad, const Tensor& y, int dim) {
  int d = y.shape().wrap_dim(dim, "softmax_backward");
  return mul(y, sub(grad, sum(mul(grad, y), {d}, true)));
}

Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int dim) {
  int d = y.shape().wrap_dim(dim, "log_softmax_backward");
  return sub(grad, mul(exp(y), sum(grad, {d}, true)));
}

}  // namespace anima::kernels
