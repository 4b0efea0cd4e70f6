// Element bodies of the elementwise ops, one small functor each, marked ANIMA_HD so the CPU loop
// and the CUDA grid run exactly this code. Backward bodies (…GradOp) take (upstream grad, saved
// value) and live here too, beside the forward they differentiate.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace anima::kernels::ops {

// ---- unary ----
// clang-format off
struct Neg { ANIMA_HD float operator()(float x) const { return -x; } };
struct Exp { ANIMA_HD float operator()(float x) const { return ::expf(x); } };
struct Log { ANIMA_HD float operator()(float x) const { return ::logf(x); } };
struct Sqrt { ANIMA_HD float operator()(float x) const { return ::sqrtf(x); } };
struct Abs { ANIMA_HD float operator()(float x) const { return ::fabsf(x); } };
struct Sign {
  ANIMA_HD float operator()(float x) const { return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f); }
};
struct Relu { ANIMA_HD float operator()(float x) const { return x > 0.f ? x : 0.f; } };
struct LeakyRelu {
  float slope;
  ANIMA_HD float operator()(float x) const { return x > 0.f ? x : x * slope; }
};
// Written so that exp never overflows: for x < 0 use e^x / (1 + e^x).
struct Sigmoid {
  ANIMA_HD float operator()(float x) const {
    if (x >= 0.f) return 1.f / (1.f + ::expf(-x));
    float e = ::expf(x);
    return e / (1.f + e);
  }
};
struct Tanh { ANIMA_HD float operator()(float x) const { return ::tanhf(x); } };
struct Clamp {
  float lo, hi;
  ANIMA_HD float operator()(float x) const { return x < lo ? lo : (x > hi ? hi : x); }
};
struct AddScalar {
  float s;
  ANIMA_HD float operator()(float x) const { return x + s; }
};
struct MulScalar {
  float s;
  ANIMA_HD float operator()(float x) const { return x * s; }
};
struct DivScalar {
  float s;
  ANIMA_HD float operator()(float x) const { return x / s; }
};
struct RSubScalar {  // s - x
  float s;
  ANIMA_HD float operator()(float x) const { return s - x; }
};
struct PowScalar {
  float p;
  ANIMA_HD float operator()(float x) const {
    if (p == 2.f) return x * x;
    if (p == 1.f) return x;
    if (p == 0.5f) return ::sqrtf(x);
    return ::powf(x, p);
  }
};

// ---- binary (also used with broadcasting) ----
struct Add { ANIMA_HD float operator()(float a, float b) const { return a + b; } };
struct Sub { ANIMA_HD float operator()(float a, float b) const { return a - b; } };
struct Mul { ANIMA_HD float operator()(float a, float b) const { return a * b; } };
struct Div { ANIMA_HD float operator()(float a, float b) const { return a / b; } };
struct Pow { ANIMA_HD float operator()(float a, float b) const { return ::powf(a, b); } };
struct Maximum { ANIMA_HD float operator()(float a, float b) const { return a >= b ? a : b; } };
struct Minimum { ANIMA_HD float operator()(float a, float b) const { return a <= b ? a : b; } };

// Comparisons give uint8 0/1.
struct Eq { ANIMA_HD uint8_t operator()(float a, float b) const { return a == b; } };
struct Ne { ANIMA_HD uint8_t operator()(float a, float b) const { return a != b; } };
struct Lt { ANIMA_HD uint8_t operator()(float a, float b) const { return a < b; } };
struct Le { ANIMA_HD uint8_t operator()(float a, float b) const { return a <= b; } };
struct Gt { ANIMA_HD uint8_t operator()(float a, float b) const { return a > b; } };
struct Ge { ANIMA_HD uint8_t operator()(float a, float b) const { return a >= b; } };

// ---- backward bodies: (g = upstream gradient, v = saved input x or output y) ----
struct ReluGrad { ANIMA_HD float operator()(float g, float x) const { return x > 0.f ? g : 0.f; } };
// clang-format on
struct LeakyReluGrad {
  float slope;
  ANIMA_HD float operator()(float g, float x) const { return x > 0.f ? g : g * slope; }
};
struct SigmoidGrad {  // v = y
  ANIMA_HD float operator()(float g, float y) const { return g * y * (1.f - y); }
};
struct TanhGrad {  // v = y
  ANIMA_HD float operator()(float g, float y) const { return g * (1.f - y * y); }
};
struct ClampGrad {  // PyTorch's convention: gradient passes where lo <= x <= hi
  float lo, hi;
  ANIMA_HD float operator()(float g, float x) const { return (x >= lo && x <= hi) ? g : 0.f; }
};
struct AbsGrad {
  ANIMA_HD float operator()(float g, float x) const { return x > 0.f ? g : (x < 0.f ? -g : 0.f); }
};
struct PowScalarGrad {  // d/dx x^p = p x^(p-1)
  float p;
  ANIMA_HD float operator()(float g, float x) const {
    if (p == 0.f) return 0.f;
    if (p == 1.f) return g;
    if (p == 2.f) return 2.f * x * g;
    return g * p * ::powf(x, p - 1.f);
  }
};

}  // namespace anima::kernels::ops
