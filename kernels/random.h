// Random fills from Philox4x32-10 (tensor/philox.h). Element i of the result depends only on
// (seed, stream, i): the same call gives bit-identical values on the CPU and the GPU, for any
// thread count. The Generator overloads take the generator's next stream.
#pragma once
#include <cstdint>

#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace anima::kernels {

// Uniform in [lo, hi).
void uniform_(const Tensor& t, float lo, float hi, uint64_t seed, uint64_t stream);
// Normal with the given mean and standard deviation (Box-Muller).
void normal_(const Tensor& t, float mean, float stddev, uint64_t seed, uint64_t stream);
// Raw 32-bit Philox words (int32 tensor holding the bit patterns), for tests and integer draws.
void random_bits_(const Tensor& t, uint64_t seed, uint64_t stream);

Tensor rand(const Shape& shape, Generator& gen, Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen, Device device = Device::cpu());
Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen, Device device = Device::cpu());
Tensor normal(const Shape& shape, float mean, float stddev, Generator& gen, Device device = Device::cpu());

}  // namespace anima::kernels
