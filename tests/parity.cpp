#include "tests/parity.h"

#include "autograd/functions.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"

namespace anima::test {
namespace {

struct Run {
  Tensor out;
  std::vector<Tensor> grads;
};

Run run_on(const ParityCase& c, Device device) {
  std::vector<Tensor> inputs;
  for (const Tensor& t : c.inputs()) {
    Tensor d = raw::to_device(t, device);
    if (d.dtype() == DType::F32) d.set_requires_grad(true);
    inputs.push_back(d);
  }
  Run r;
  r.out = c.fn(inputs);
  if (r.out.requires_grad()) {
    Generator gen(77);
    Tensor v = kernels::randn(r.out.shape(), gen, device);
    sum(r.out * v).backward();
  }
  for (const Tensor& t : inputs) r.grads.push_back(t.grad());
  return r;
}

}  // namespace

std::vector<ParityCase>& parity_registry() {
  static std::vector<ParityCase> cases;
  return cases;
}

bool register_parity_case(ParityCase c) {
  parity_registry().push_back(std::move(c));
  return true;
}

const ParityCase& find_parity_case(const char* name) {
  for (const ParityCase& c : parity_registry())
    if (std::string(c.name) == name) return c;
  ANIMA_FAIL("no parity case ", name);
}

void check_parity(const ParityCase& c, Device other) {
  INFO("parity case: " << c.name << " on " << other.str());
  StrictFp32 strict;
  Run ref = run_on(c, Device::cpu());
  Run got = run_on(c, other);
  REQUIRE(got.out.device() == other);
  Tensor out = raw::to_device(got.out, Device::cpu());
  if (ref.out.dtype() != DType::F32) {
    CHECK(kernels::cast(out, DType::F32).to_vector<float>() == kernels::cast(ref.out, DType::F32).to_vector<float>());
  } else {
    CHECK_CLOSE(out, ref.out, c.atol, c.rtol);
  }
  REQUIRE(got.grads.size() == ref.grads.size());
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(got.grads[i].defined() == ref.grads[i].defined());
    if (ref.grads[i].defined()) CHECK_CLOSE(raw::to_device(got.grads[i], Device::cpu()), ref.grads[i], c.atol, c.rtol);
  }
}

}  // namespace anima::test

TEST_CASE("parity harness: every parity case runs CPU against CPU") {
  using namespace anima;
  CHECK(test::parity_registry().size() >= 58);
  for (const test::ParityCase& c : test::parity_registry()) test::check_parity(c, Device::cpu());
}
