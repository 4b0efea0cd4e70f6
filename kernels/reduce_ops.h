// Element bodies of the reductions: an identity, an associative combine and a finish step.
// Shared by the CPU chunked loop and the GPU tree, so both compute the same function.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace anima::kernels::ops {

struct SumReduce {
  ANIMA_HD float identity() const { return 0.f; }
  ANIMA_HD float combine(float a, float b) const { return a + b; }
  ANIMA_HD float finish(float acc, int64_t) const { return acc; }
};
struct MeanReduce {
  ANIMA_HD float identity() const { return 0.f; }
  ANIMA_HD float combine(float a, float b) const { return a + b; }
  ANIMA_HD float finish(float acc, int64_t count) const { return acc / float(count); }
};
// NaN propagates, as in PyTorch: a NaN beats any number.
struct MaxReduce {
  ANIMA_HD float identity() const { return -INFINITY; }
  ANIMA_HD float combine(float a, float b) const { return (a != a || a >= b) ? a : b; }
  ANIMA_HD float finish(float acc, int64_t) const { return acc; }
};
struct MinReduce {
  ANIMA_HD float identity() const { return INFINITY; }
  ANIMA_HD float combine(float a, float b) const { return (a != a || a <= b) ? a : b; }
  ANIMA_HD float finish(float acc, int64_t) const { return acc; }
};

}  // namespace anima::kernels::ops
