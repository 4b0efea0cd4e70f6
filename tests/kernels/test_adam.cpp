// The Adam kernel (kernels/adam.h): GPU against CPU over several steps (values and the update rule are tested in
// tests/layers/test_optim.cpp).

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "layers/optim.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;

TEST_SUITE("kernels") {

TEST_CASE("Adam on the GPU equals Adam on the CPU over five steps [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  test::StrictFp32 strict;
  AdamOptions o{1e-2, 0.5, 0.9, 1e-8, 0.05};
  Tensor cpu = random_tensor(Shape{64, 33}, 120), gpu = raw::to_device(cpu, Device::cuda());
  cpu.set_requires_grad(true);
  gpu.set_requires_grad(true);
  Adam a({{"p", cpu}}, o), b({{"p", gpu}}, o);
  for (int step = 0; step < 5; ++step) {
    Tensor g = random_tensor(Shape{64, 33}, 121 + uint64_t(step));
    cpu.zero_grad();
    gpu.zero_grad();
    sum(cpu * g).backward();
    sum(gpu * raw::to_device(g, Device::cuda())).backward();
    a.step();
    b.step();
  }
  CHECK_CLOSE(raw::to_device(gpu.detach(), Device::cpu()), cpu.detach(), 1e-6, 1e-5);
}

}  // TEST_SUITE
