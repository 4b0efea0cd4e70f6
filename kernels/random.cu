#include <algorithm>

#include "kernels/cpu_isa.h"
#include "kernels/launch.h"
#include "kernels/random.h"

namespace anima::kernels {
// A named namespace: nvcc does not allow types from an unnamed one in kernel template arguments.
namespace detail {

// One Philox block yields four consecutive elements; `Transform` turns the block into 4 floats.
template <class Transform>
void fill_groups(const Tensor& t, uint64_t seed, uint64_t stream, Transform tr) {
  check_dtype("random fill", t, DType::F32);
  float* p = t.data<float>();
  int64_t n = t.numel();
  int64_t groups = (n + 3) / 4;
  parallel_for(t.device(), groups, [=] ANIMA_HD(int64_t g) {
    PhiloxWords b = philox_group(seed, stream, uint64_t(g));
    float v[4];
    tr(b, v);
    for (int j = 0; j < 4; ++j)
      if (4 * g + j < n) p[4 * g + j] = v[j];
  });
}

struct UniformTransform {
  float lo, width;
  ANIMA_HD void operator()(const PhiloxWords& b, float* v) const {
    for (int j = 0; j < 4; ++j) v[j] = add_rn(lo, mul_rn(width, philox_uniform01(b.w[j])));
  }
};

struct NormalTransform {
  float mean, stddev;
  ANIMA_HD_INLINE void operator()(const PhiloxWords& b, float* v) const {
    philox_normal4(b, v);
    ANIMA_UNROLL
    for (int j = 0; j < 4; ++j) v[j] = add_rn(mean, mul_rn(stddev, v[j]));
  }
};

// The CPU's normal draws: runs of whole groups in a loop the compiler vectorises (every helper of
// philox.h inlined, no branches), at the CPU's vector width (kernels/cpu_isa.h); the same bits.
constexpr int64_t kNormalRun = 64;  // groups per task
ANIMA_ISA_BODY void normal_run_body(uint64_t seed, uint64_t stream, int64_t g0, int64_t count, NormalTransform tr,
                                    float* out) {
  for (int64_t i = 0; i < count; ++i) {
    PhiloxWords b = philox_group(seed, stream, uint64_t(g0 + i));
    float v[4];
    tr(b, v);
    ANIMA_UNROLL
    for (int j = 0; j < 4; ++j) out[4 * i + j] = v[j];
  }
}
ANIMA_ISA_VERSIONS(normal_run,
                   (uint64_t seed, uint64_t stream, int64_t g0, int64_t count, NormalTransform tr, float* out),
                   (seed, stream, g0, count, tr, out))

void normal_cpu(const Tensor& t, uint64_t seed, uint64_t stream, NormalTransform tr) {
  check_dtype("random fill", t, DType::F32);
  float* p = t.data<float>();
  int64_t whole = t.numel() / 4, runs = (whole + kNormalRun - 1) / kNormalRun;
  cpu_for_rows(runs, 4 * kNormalRun, [=](int64_t r) {
    normal_run(seed, stream, r * kNormalRun, std::min(kNormalRun, whole - r * kNormalRun), tr, p + 4 * r * kNormalRun);
  });
  if (t.numel() % 4 == 0) return;
  PhiloxWords b = philox_group(seed, stream, uint64_t(whole));  // the last, partial group
  float v[4];
  tr(b, v);
  for (int64_t j = 0; 4 * whole + j < t.numel(); ++j) p[4 * whole + j] = v[j];
}

}  // namespace detail

using detail::fill_groups;
using detail::NormalTransform;
using detail::UniformTransform;

void uniform_(const Tensor& t, float lo, float hi, uint64_t seed, uint64_t stream) {
  ANIMA_CHECK(lo <= hi, "uniform_: lower bound ", lo, " above upper bound ", hi);
  fill_groups(t, seed, stream, UniformTransform{lo, hi - lo});
}

void normal_(const Tensor& t, float mean, float stddev, uint64_t seed, uint64_t stream) {
  ANIMA_CHECK(stddev >= 0, "normal_: negative standard deviation ", stddev);
  if (t.device().is_cpu())
    detail::normal_cpu(t, seed, stream, NormalTransform{mean, stddev});
  else
    fill_groups(t, seed, stream, NormalTransform{mean, stddev});
}

void random_bits_(const Tensor& t, uint64_t seed, uint64_t stream) {
  check_dtype("random_bits_", t, DType::I32);
  int32_t* p = t.data<int32_t>();
  parallel_for(t.device(), t.numel(), [=] ANIMA_HD(int64_t i) {
    PhiloxWords b = philox_group(seed, stream, uint64_t(i) >> 2);
    p[i] = int32_t(b.w[i & 3]);
  });
}

Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen, Device device) {
  Tensor t = Tensor::empty(shape, DType::F32, device);
  uniform_(t, lo, hi, gen.seed(), gen.take_stream());
  return t;
}

Tensor normal(const Shape& shape, float mean, float stddev, Generator& gen, Device device) {
  Tensor t = Tensor::empty(shape, DType::F32, device);
  normal_(t, mean, stddev, gen.seed(), gen.take_stream());
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, Device device) { return uniform(shape, 0.f, 1.f, gen, device); }

Tensor randn(const Shape& shape, Generator& gen, Device device) { return normal(shape, 0.f, 1.f, gen, device); }

}  // namespace anima::kernels
