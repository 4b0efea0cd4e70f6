#include "kernels/adam.h"

#include "kernels/launch.h"

namespace anima::kernels {

void adam_update(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, AdamStep s) {
  float* pp = p.data<float>();
  const float* pg = g.data<float>();
  float* pm = m.data<float>();
  float* pv = v.data<float>();
  parallel_for(p.device(), p.numel(), [=] ANIMA_HD(int64_t i) { s(pp[i], pg[i], pm[i], pv[i]); });
}

}  // namespace anima::kernels
