// A finite-difference gradcheck for the backward rule of every differentiable op.
#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "kernels/elementwise.h"
#include "tests/test_util.h"

using namespace anima;
using test::away_from_zero;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor positive(const Shape& s, uint64_t seed) { return random_tensor(s, seed, 0.5f, 2.f); }

}  // namespace

TEST_SUITE("autograd") {

TEST_CASE("gradcheck: smooth unary ops") {
  Shape s{3, 4};
  expect_gradients_match([](auto& x) { return neg(x[0]); }, {random_tensor(s, 1)});
  expect_gradients_match([](auto& x) { return exp(x[0]); }, {random_tensor(s, 2)});
  expect_gradients_match([](auto& x) { return log(x[0]); }, {positive(s, 3)});
  expect_gradients_match([](auto& x) { return sqrt(x[0]); }, {positive(s, 4)});
  expect_gradients_match([](auto& x) { return sigmoid(x[0]); }, {random_tensor(s, 5, -4, 4)});
  expect_gradients_match([](auto& x) { return tanh(x[0]); }, {random_tensor(s, 6, -2, 2)});
  expect_gradients_match([](auto& x) { return pow(x[0], 3.f); }, {random_tensor(s, 7)});
  expect_gradients_match([](auto& x) { return pow(x[0], -1.5f); }, {positive(s, 8)});
  expect_gradients_match([](auto& x) { return pow(x[0], 2.f); }, {random_tensor(s, 9)});
}

TEST_CASE("gradcheck: piecewise unary ops away from their kinks") {
  Shape s{2, 5};
  expect_gradients_match([](auto& x) { return abs(x[0]); }, {away_from_zero(s, 10)});
  expect_gradients_match([](auto& x) { return relu(x[0]); }, {away_from_zero(s, 11)});
  expect_gradients_match([](auto& x) { return leaky_relu(x[0], 0.2f); }, {away_from_zero(s, 12)});
  // clamp to [-0.5, 0.5]: inputs at -1.1 .. 1.1 stay at least 0.1 from the bounds after shifting.
  expect_gradients_match([](auto& x) { return clamp(x[0], -0.5f, 0.5f); },
                         {tensor({-1.f, -0.3f, 0.f, 0.2f, 0.9f, 0.35f}, Shape{6})});
}

TEST_CASE("gradcheck: binary ops with broadcasting") {
  Tensor a = random_tensor(Shape{2, 3, 4}, 20);
  Tensor row = random_tensor(Shape{4}, 21);
  Tensor col = random_tensor(Shape{2, 1, 1}, 22);
  expect_gradients_match([](auto& x) { return add(x[0], x[1]); }, {a, row});
  expect_gradients_match([](auto& x) { return sub(x[0], x[1]); }, {a, col});
  expect_gradients_match([](auto& x) { return mul(x[0], x[1]); }, {row, a});
  expect_gradients_match([](auto& x) { return div(x[0], x[1]); }, {a, positive(Shape{3, 1}, 23)});
  expect_gradients_match([](auto& x) { return pow(x[0], x[1]); },
                         {positive(Shape{2, 3}, 24), random_tensor(Shape{3}, 25)});
  // maximum/minimum on inputs that never tie.
  Tensor p = tensor({0.f, 1.f, 2.f, 3.f, 4.f, 5.f}, Shape{2, 3});
  Tensor q = tensor({2.5f, 0.5f, 4.5f}, Shape{3});
  expect_gradients_match([](auto& x) { return maximum(x[0], x[1]); }, {p, q});
  expect_gradients_match([](auto& x) { return minimum(x[0], x[1]); }, {p, q});
}

TEST_CASE("gradcheck: scalar ops and operators") {
  Tensor a = random_tensor(Shape{5}, 30);
  expect_gradients_match([](auto& x) { return (x[0] + 2.f) * 3.f - x[0] / 4.f; }, {a});
  expect_gradients_match([](auto& x) { return 1.f - x[0] * x[0]; }, {a});
  expect_gradients_match([](auto& x) { return -x[0] + 2.f * x[0]; }, {a});
}

TEST_CASE("gradcheck: where") {
  Tensor cond = Tensor::from_vector<uint8_t>({1, 0, 1, 0, 0, 1}, Shape{2, 3});
  expect_gradients_match([cond](auto& x) { return where(cond, x[0], x[1]); },
                         {random_tensor(Shape{2, 3}, 31), random_tensor(Shape{3}, 32)});
}

TEST_CASE("gradcheck: reductions") {
  Tensor a = random_tensor(Shape{2, 3, 4}, 40);
  expect_gradients_match([](auto& x) { return sum(x[0]); }, {a});
  expect_gradients_match([](auto& x) { return sum(x[0], {0, 2}); }, {a});
  expect_gradients_match([](auto& x) { return mean(x[0], {1}, true); }, {a});
  expect_gradients_match([](auto& x) { return mean(x[0]); }, {a});
  expect_gradients_match([](auto& x) { return amax(x[0], {2}); }, {a});
  expect_gradients_match([](auto& x) { return amin(x[0], {0, 1}, true); }, {a});
}

TEST_CASE("gradcheck: shape ops") {
  Tensor a = random_tensor(Shape{2, 3, 4}, 50);
  expect_gradients_match([](auto& x) { return reshape(x[0], {4, -1}) * 2.f; }, {a});
  expect_gradients_match([](auto& x) { return flatten(x[0], 1) * 2.f; }, {a});
  expect_gradients_match([](auto& x) { return squeeze(unsqueeze(x[0], 1), 1) * 2.f; }, {a});
  expect_gradients_match([](auto& x) { return permute(x[0], {2, 0, 1}); }, {a});
  expect_gradients_match([](auto& x) { return transpose(x[0], 0, 2); }, {a});
  expect_gradients_match([](auto& x) { return concat({x[0], x[1], x[0]}, 1); }, {a, random_tensor(Shape{2, 2, 4}, 51)});
  expect_gradients_match([](auto& x) { return slice(x[0], 2, 1, 4, 2); }, {a});
  expect_gradients_match([](auto& x) { return expand(x[0], Shape{2, 3, 4}); }, {random_tensor(Shape{3, 1}, 52)});
  expect_gradients_match([](auto& x) { return clone(x[0]) * x[0]; }, {a});
  expect_gradients_match([](auto& x) { return to(x[0], Device::cpu()) * 3.f; }, {a});
}

TEST_CASE("gradcheck: matmul in every transpose combination, batched and shared") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = random_tensor(ta ? Shape{2, 4, 3} : Shape{2, 3, 4}, 60);
      Tensor b = random_tensor(tb ? Shape{2, 5, 4} : Shape{2, 4, 5}, 61);
      Tensor shared = random_tensor(tb ? Shape{5, 4} : Shape{4, 5}, 62);
      expect_gradients_match([ta, tb](auto& x) { return matmul(x[0], x[1], ta, tb); }, {a, b});
      expect_gradients_match([ta, tb](auto& x) { return matmul(x[0], x[1], ta, tb); }, {a, shared});
    }
}

TEST_CASE("gradcheck: softmax and log-softmax") {
  Tensor a = random_tensor(Shape{2, 3, 4}, 70, -2, 2);
  expect_gradients_match([](auto& x) { return softmax(x[0], 1); }, {a});
  expect_gradients_match([](auto& x) { return softmax(x[0], -1); }, {a});
  expect_gradients_match([](auto& x) { return log_softmax(x[0], 2); }, {a});
  expect_gradients_match([](auto& x) { return log_softmax(x[0], 1); }, {a});
}

TEST_CASE("gradcheck itself detects a wrong gradient") {
  // A deliberately wrong rule: the function is x^3 but its recorded gradient is that of x^2.
  auto wrong = [](const std::vector<Tensor>& x) {
    Tensor y = x[0] * x[0];
    Tensor cube = kernels::mul(y.detach(), x[0].detach());
    Tensor s = x[0].detach();
    return record("wrong_cube", cube, {x[0]}, [s](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{kernels::mul(g, kernels::mul_scalar(s, 2.f))};
    });
  };
  Tensor a = random_tensor(Shape{4}, 80, 0.5f, 1.f);
  a.set_requires_grad(true);
  GradcheckResult r = gradcheck(wrong, {a});
  CHECK_FALSE(r.ok);
  CHECK(r.mismatched == 4);
  CHECK(r.report.find("analytic") != std::string::npos);
}

}  // TEST_SUITE
