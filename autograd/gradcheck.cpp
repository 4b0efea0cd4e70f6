#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "kernels/random.h"

namespace anima {
namespace {

// L = sum(v * y) in double, and sum(|v * y|) for the noise bound.
std::pair<double, double> contract(const Tensor& y, const std::vector<float>& v) {
  std::vector<float> yv = y.to_vector<float>();
  double l = 0, mag = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    double t = double(yv[i]) * double(v[i]);
    l += t;
    mag += std::fabs(t);
  }
  return {l, mag};
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  GradcheckResult res;
  // Analytic gradients through a fresh graph on leaf copies of the inputs.
  std::vector<Tensor> leaves;
  for (const Tensor& x : inputs) {
    ANIMA_CHECK(x.dtype() == DType::F32 || !x.requires_grad(), "gradcheck: inputs must be float32");
    Tensor c = raw::to_device(x, x.device());
    if (x.requires_grad()) c.set_requires_grad(true);
    leaves.push_back(c);
  }
  Tensor y = f(leaves);
  ANIMA_CHECK(y.requires_grad(), "gradcheck: the function's output does not depend on any input ",
              "that requires grad");
  Generator gen(opt.seed);
  Tensor v = kernels::randn(y.shape(), gen, y.device());
  std::vector<float> v_host = v.to_vector<float>();
  sum(mul(y, v)).backward();
  double noise_mag = contract(y.detach(), v_host).second;

  std::ostringstream report;
  double noise = 8.0 * std::ldexp(1.0, -24) * noise_mag / (2.0 * opt.step);
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    Tensor g = leaves[k].grad();
    std::vector<float> analytic =
        g.defined() ? g.to_vector<float>() : std::vector<float>(size_t(inputs[k].numel()), 0.f);
    std::vector<float> base = inputs[k].to_vector<float>();
    for (size_t j = 0; j < base.size(); ++j) {
      auto eval = [&](float delta) {
        std::vector<float> moved = base;
        moved[j] += delta;
        std::vector<Tensor> args = inputs;
        for (Tensor& a : args) a = a.detach();
        args[k] = Tensor::from_vector(moved, inputs[k].shape(), inputs[k].device());
        NoGradGuard no_grad;
        return contract(f(args), v_host).first;
      };
      double numeric = (eval(opt.step) - eval(-opt.step)) / (2.0 * opt.step);
      double a = analytic[j];
      double tol = opt.atol + opt.rtol * std::fabs(numeric) + noise;
      double excess = std::fabs(a - numeric) - tol;
      res.checked++;
      if (excess > 0) {
        res.ok = false;
        if (res.mismatched++ < opt.max_reported)
          report << "  input " << k << " element " << j << ": analytic " << a << ", numeric " << numeric
                 << " (tolerance " << tol << ")\n";
      }
      if (res.checked == 1 || excess > res.worst_excess) res.worst_excess = excess;
    }
  }
  std::ostringstream head;
  head << "gradcheck: " << res.checked << " elements, " << res.mismatched << " mismatched; worst "
       << "excess over tolerance " << res.worst_excess << " (noise bound " << noise << ")\n";
  res.report = head.str() + report.str();
  return res;
}

}  // namespace anima
