// Element bodies of the elementwise ops, one small functor each, marked ANIMA_HD so the CPU loop
// and the CUDA grid run exactly this code. Backward bodies (…GradOp) take (upstream grad, saved
// value) and live here too, beside the forward they differentiate.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/hd.h"

namespace anima::kernels::ops {

// e^x in float. The GPU runs CUDA's expf. The CPU runs this polynomial instead of libm's expf,
// which is a call the compiler cannot vectorise: Cody-Waite reduction x = n ln2 + r with
// |r| <= ln2 / 2, Cephes' degree-6 polynomial for e^r (within 2 ulp of the exact value, test
// "exp: ..." in tests/kernels/test_elementwise.cpp), then times 2^n as two powers of two, so that
// results down to the smallest denormal round once. Plain adds and multiplies in a fixed order
// (no fused multiply-add): the same bits in every SIMD width the loop is vectorised for.
// x > 88.72... gives +inf, x < -103.97... gives 0, NaN stays NaN.
ANIMA_HD inline float exp_f32(float x) {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  x = x < -104.f ? -104.f : (x > 89.f ? 89.f : x);  // NaN passes (both comparisons false)
  float n = (x * kLog2e + 12582912.f) - 12582912.f;   // round to nearest: 1.5 * 2^23
  float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * (r * r) + r) + 1.f;
  // n in [-150, 129]: both halves are normal exponents. A NaN x makes n NaN, whose conversion to
  // int C++ leaves undefined: it scales by 2^0 instead (p is NaN already).
  int ni = int(n == n ? n : 0.f), n1 = ni >> 1, n2 = ni - n1;
  uint32_t b1 = uint32_t(n1 + 127) << 23, b2 = uint32_t(n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  return (p * s1) * s2;
#endif
}

// ---- unary ----
// clang-format off
struct Neg { ANIMA_HD float operator()(float x) const { return -x; } };
struct Exp { ANIMA_HD float operator()(float x) const { return exp_f32(x); } };
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
// Written so that exp never overflows: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0,
// from the one exponential e^-|x| (a vector loop computes both sides of a branch; a NaN keeps
// its sign).
struct Sigmoid {
  ANIMA_HD float operator()(float x) const {
    float e = exp_f32(x >= 0.f ? -x : x);
    return (x >= 0.f ? 1.f : e) / (1.f + e);
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
