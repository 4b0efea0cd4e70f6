// The backward engine: accumulation, grad mode, detach, freeing, error cases.
#include "autograd/functions.h"
#include "autograd/node.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "tensor/allocator.h"
#include "tests/test_util.h"

using namespace anima;
using test::tensor;

TEST_SUITE("autograd") {

TEST_CASE("a tensor used twice gets the sum of both gradients") {
  Tensor x = tensor({1, 2, 3}, Shape{3});
  x.set_requires_grad(true);
  Tensor y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3, 5, 7});
  CHECK(y.grad_fn()->name == "sum");
  CHECK(!y.is_leaf());
  CHECK(x.is_leaf());
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Tensor x = tensor({1, 2}, Shape{2});
  x.set_requires_grad(true);
  sum(x * 3.f).backward();
  sum(x * 3.f).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{6, 6});
  x.zero_grad();
  CHECK(!x.grad().defined());
}

TEST_CASE("NoGradGuard and detach stop recording") {
  Tensor x = tensor({1, 2}, Shape{2});
  x.set_requires_grad(true);
  {
    NoGradGuard guard;
    CHECK(!is_grad_enabled());
    Tensor y = x * 2.f;
    CHECK(!y.requires_grad());
  }
  CHECK(is_grad_enabled());
  Tensor d = (x * 2.f).detach();
  CHECK(!d.requires_grad());
  Tensor z = sum(d * x);  // only the x path is differentiated
  z.backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 4});
}

TEST_CASE("backward with an explicit gradient, and on a leaf") {
  Tensor x = tensor({1, 2, 3}, Shape{3});
  x.set_requires_grad(true);
  Tensor y = x * 2.f;
  y.backward(tensor({1, 0, -1}, Shape{3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 0, -2});
  Tensor leaf = tensor({5}, Shape{1});
  leaf.set_requires_grad(true);
  leaf.backward();
  CHECK(leaf.grad().item() == 1.f);
}

TEST_CASE("only leaves keep .grad; intermediate results do not") {
  Tensor x = tensor({1, 2}, Shape{2});
  x.set_requires_grad(true);
  Tensor h = x * 2.f;
  sum(h).backward();
  CHECK(!h.grad().defined());
  CHECK(x.grad().defined());
}

TEST_CASE("maximum splits the gradient on ties; amax shares it among tied maxima") {
  Tensor a = tensor({1, 2, 3}, Shape{3});
  Tensor b = tensor({1, 5, 0}, Shape{3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  sum(maximum(a, b)).backward();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0.5f, 0, 1});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{0.5f, 1, 0});
  Tensor c = tensor({4, 1, 4}, Shape{3});
  c.set_requires_grad(true);
  amax(c).backward();
  CHECK(c.grad().to_vector<float>() == std::vector<float>{0.5f, 0, 0.5f});
}

TEST_CASE("saved tensors are freed by backward; a second backward is a clear error") {
  size_t before = memory_stats(Device::cpu()).current;
  Tensor x = Tensor::ones(Shape{1 << 16});
  x.set_requires_grad(true);
  Tensor y;
  {
    Tensor h = exp(x);  // saves h (256 KiB)
    Tensor k = exp(h);  // saves k
    y = sum(k * h);     // saves both again (same storage)
  }
  size_t with_graph = memory_stats(Device::cpu()).current;  // x, h, k, y
  CHECK(with_graph - before >= 3 * x.nbytes());
  y.backward();
  size_t after = memory_stats(Device::cpu()).current;
  // What remains: x, x.grad and y; the saved activations are gone.
  CHECK(after < with_graph);
  CHECK(after - before <= 2 * x.nbytes() + 4096);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already freed"), Error);
}

TEST_CASE("error cases: non-scalar backward, no grad, bad requires_grad") {
  Tensor x = tensor({1, 2}, Shape{2});
  x.set_requires_grad(true);
  Tensor y = x * 2.f;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("gradient must be given for a non-scalar"), Error);
  CHECK_THROWS_WITH_AS(y.backward(tensor({1, 2, 3}, Shape{3})), doctest::Contains("does not match tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(tensor({1}, Shape{1}).backward(), doctest::Contains("does not require grad"), Error);
  CHECK_THROWS_WITH_AS(Tensor::zeros(Shape{2}, DType::I32).set_requires_grad(true), doctest::Contains("only float32"),
                       Error);
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false), doctest::Contains("only leaf tensors"), Error);
}

TEST_CASE("long chains do not overflow the stack") {
  Tensor x = tensor({1}, Shape{1});
  x.set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0f;
  sum(y).backward();
  CHECK(x.grad().item() == 1.f);
}

TEST_CASE("a rule returning a wrongly shaped gradient is reported by name") {
  Tensor x = tensor({1, 2}, Shape{2});
  x.set_requires_grad(true);
  Tensor y = record("broken", kernels::mul_scalar(x.detach(), 1.f), {x}, [](const Tensor&, const std::vector<bool>&) {
    return std::vector<Tensor>{Tensor::zeros(Shape{3})};
  });
  CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("backward rule of 'broken' gave a gradient of shape [3]"),
                       Error);
}

}  // TEST_SUITE

TEST_CASE("the README example runs and its gradient matches a finite difference") {
  Generator gen(42);
  Device dev = cuda_available() ? Device::cuda() : Device::cpu();
  Tensor w = kernels::randn(Shape{3, 4}, gen, dev).set_requires_grad(true);
  Tensor x = kernels::rand(Shape{8, 4}, gen, dev);
  auto loss_of = [&](const Tensor& weights) { return mean(pow(relu(matmul(x, weights, false, true)) - 0.5f, 2.f)); };
  Tensor loss = loss_of(w);
  loss.backward();
  REQUIRE(w.grad().defined());
  // One coordinate by central differences.
  std::vector<float> base = w.to_vector<float>();
  auto at = [&](float delta) {
    std::vector<float> moved = base;
    moved[5] += delta;
    NoGradGuard no_grad;
    return double(loss_of(Tensor::from_vector(moved, Shape{3, 4}, dev)).item());
  };
  double numeric = (at(1e-2f) - at(-1e-2f)) / 2e-2;
  CHECK(w.grad().to_vector<float>()[5] == doctest::Approx(numeric).epsilon(1e-2).scale(1e-3));
}
