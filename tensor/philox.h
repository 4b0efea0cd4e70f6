// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC 2011), written
// once for host and device. A random tensor's element i is a pure function of (seed, stream, i):
//   counter = (i / 4 low word, i / 4 high word, stream low word, stream high word), key = seed,
//   element i takes word i % 4 of philox(counter, key).
// The float transforms below use only operations that IEEE-754 rounds exactly (+, *, /, sqrt, each
// separately rounded: mul_rn/add_rn forbid fused multiply-add on the device, and the host is
// compiled with -ffp-contract=off), and our own polynomial log and sin/cos instead of the math
// libraries, whose last bits differ between CPU and GPU. So CPU and CUDA draws are bit-identical.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace anima {

struct PhiloxWords {
  uint32_t w[4];
};

ANIMA_HD_INLINE uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* lo) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  *lo = uint32_t(p);
  return uint32_t(p >> 32);
}

// The raw block function: 10 rounds on counter `c` with key `k`.
ANIMA_HD_INLINE PhiloxWords philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                          uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key schedule (Weyl) increments
  ANIMA_UNROLL
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint32_t lo0, lo1;
    uint32_t hi0 = philox_mulhilo(kM0, c0, &lo0);
    uint32_t hi1 = philox_mulhilo(kM1, c2, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return {{c0, c1, c2, c3}};
}

// The four words for elements 4g .. 4g+3 of the random sequence (seed, stream).
ANIMA_HD_INLINE PhiloxWords philox_group(uint64_t seed, uint64_t stream, uint64_t group) {
  return philox4x32_10(uint32_t(group), uint32_t(group >> 32), uint32_t(stream), uint32_t(stream >> 32), uint32_t(seed),
                       uint32_t(seed >> 32));
}

// ---- exactly rounded helpers (no contraction into FMA on the device); also used by kernels whose
// CPU and GPU results must agree to the bit (integer results of float arithmetic, tap indices) ----
ANIMA_HD_INLINE float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
ANIMA_HD_INLINE float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

ANIMA_HD_INLINE double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
ANIMA_HD inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// Uniform in [0, 1): the top 24 bits of the word, scaled exactly.
ANIMA_HD_INLINE float philox_uniform01(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }
// Uniform in (0, 1]: used where a logarithm follows.
ANIMA_HD_INLINE float philox_uniform01_open0(uint32_t w) { return float((w >> 8) + 1u) * (1.0f / 16777216.0f); }

// Natural log of x > 0 (finite, normal), |error| about 1 ulp. x = m * 2^e with m in
// [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its odd series.
ANIMA_HD_INLINE float philox_log(float x) {
  union {
    float f;
    uint32_t u;
  } v{x};
  int e = int((v.u >> 23) & 0xFF) - 127;
  v.u = (v.u & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  float m = v.f;
  if (m > 1.41421356f) {
    m = mul_rn(m, 0.5f);
    e += 1;
  }
  float s = add_rn(m, -1.0f) / add_rn(m, 1.0f);
  float s2 = mul_rn(s, s);
  // 2 * (s + s^3/3 + s^5/5 + s^7/7 + s^9/9 + s^11/11), Horner in s^2.
  float p = 2.0f / 11.0f;
  p = add_rn(mul_rn(p, s2), 2.0f / 9.0f);
  p = add_rn(mul_rn(p, s2), 2.0f / 7.0f);
  p = add_rn(mul_rn(p, s2), 2.0f / 5.0f);
  p = add_rn(mul_rn(p, s2), 2.0f / 3.0f);
  p = add_rn(mul_rn(p, s2), 2.0f);
  float log_m = mul_rn(p, s);
  const float ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-06f;  // ln2 = hi + lo, hi has 16 bits
  float fe = float(e);
  return add_rn(add_rn(mul_rn(fe, ln2_hi), log_m), mul_rn(fe, ln2_lo));
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1): quadrant reduction (exact), then Taylor
// polynomials on [-pi/4, pi/4] (truncation error below 3e-8).
ANIMA_HD_INLINE void philox_sincos_2pi(float u, float* s_out, float* c_out) {
  float t = mul_rn(u, 4.0f);  // exact
  int q = int(t);
  float r = add_rn(t, -float(q));  // exact, in [0, 1)
  if (r >= 0.5f) {
    r = add_rn(r, -1.0f);
    q += 1;
  }
  float x = mul_rn(r, 1.57079637f);  // in [-pi/4, pi/4]
  float x2 = mul_rn(x, x);
  float sp = 1.0f / 362880.0f;
  sp = add_rn(mul_rn(sp, x2), -1.0f / 5040.0f);
  sp = add_rn(mul_rn(sp, x2), 1.0f / 120.0f);
  sp = add_rn(mul_rn(sp, x2), -1.0f / 6.0f);
  float sn = add_rn(x, mul_rn(mul_rn(sp, x2), x));
  float cp = 1.0f / 40320.0f;
  cp = add_rn(mul_rn(cp, x2), -1.0f / 720.0f);
  cp = add_rn(mul_rn(cp, x2), 1.0f / 24.0f);
  cp = add_rn(mul_rn(cp, x2), -0.5f);
  float cs = add_rn(1.0f, mul_rn(cp, x2));
  // quadrant q: (sin, cos) = (sn, cs), (cs, -sn), (-sn, -cs), (-cs, sn); as selects, not a
  // branch, so that the CPU's loops vectorise
  bool odd = (q & 1) != 0, neg = (q & 2) != 0;
  float s = odd ? cs : sn, c = odd ? -sn : cs;
  *s_out = neg ? -s : s;
  *c_out = neg ? -c : c;
}

// Four standard normal draws from one Philox block by Box-Muller on (w0, w1) and (w2, w3).
ANIMA_HD_INLINE void philox_normal4(const PhiloxWords& b, float out[4]) {
  ANIMA_UNROLL
  for (int pair = 0; pair < 2; ++pair) {
    float u1 = philox_uniform01_open0(b.w[2 * pair]);
    float u2 = philox_uniform01(b.w[2 * pair + 1]);
    float radius = ::sqrtf(mul_rn(-2.0f, philox_log(u1)));
    float sn, cs;
    philox_sincos_2pi(u2, &sn, &cs);
    out[2 * pair] = mul_rn(radius, cs);
    out[2 * pair + 1] = mul_rn(radius, sn);
  }
}

// Host-side source of (seed, stream) pairs: every random op takes the next stream, so a program
// that makes the same calls in the same order draws the same numbers. Its state is two integers
// (saved in checkpoints so a resumed run continues the same sequence).
class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t next_stream = 0) : seed_(seed), next_stream_(next_stream) {}
  uint64_t seed() const { return seed_; }
  uint64_t peek_stream() const { return next_stream_; }
  uint64_t take_stream() { return next_stream_++; }
  void set_state(uint64_t seed, uint64_t next_stream) {
    seed_ = seed;
    next_stream_ = next_stream;
  }

 private:
  uint64_t seed_;
  uint64_t next_stream_;
};

// The process-wide default generator (seeded with 0 until manual_seed is called).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace anima
