// batch_norm and instance_norm (kernels/batch_norm.h): values against PyTorch, running statistics, gradchecks,
// CUDA-vs-CPU parity.

#include "autograd/nn_functions.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::expect_gradients_match;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("batch_norm training matches PyTorch, including the running statistics") {
  const SafetensorsFile& g = test::golden("norm.safetensors");
  Tensor rm = raw::to_device(g.at("bn.running_mean_before"), Device::cpu());
  Tensor rv = raw::to_device(g.at("bn.running_var_before"), Device::cpu());
  test::check_against_golden(
      g, "bn", {"x", "w", "b"},
      [&](const std::vector<Tensor>& t) { return batch_norm(t[0], t[1], t[2], rm, rv, true, 0.1, 1e-5); }, 1e-5, 1e-4);
  CHECK_CLOSE(rm, g.at("bn.running_mean_after"), 1e-6, 1e-5);
  CHECK_CLOSE(rv, g.at("bn.running_var_after"), 1e-6, 1e-5);
}

TEST_CASE("batch_norm evaluation and instance_norm match PyTorch") {
  const SafetensorsFile& g = test::golden("norm.safetensors");
  Tensor rm = g.at("bn.running_mean_after"), rv = g.at("bn.running_var_after");
  test::check_against_golden(
      g, "bn_eval", {"x", "w", "b"},
      [&](const std::vector<Tensor>& t) { return batch_norm(t[0], t[1], t[2], rm, rv, false, 0.1, 1e-5); }, 1e-5, 1e-4);
  test::check_against_golden(
      g, "in", {"x", "w", "b"}, [](const std::vector<Tensor>& t) { return instance_norm(t[0], t[1], t[2], 1e-5); },
      1e-5, 1e-4);
}

TEST_CASE("batch_norm and instance_norm: gradcheck") {
  expect_gradients_match(
      [](auto& t) { return batch_norm(t[0], t[1], t[2], Tensor(), Tensor(), true); },
      {random_tensor(Shape{3, 2, 3, 2}, 10, -2, 2), random_tensor(Shape{2}, 11), random_tensor(Shape{2}, 12)});
  expect_gradients_match(
      [](auto& t) { return instance_norm(t[0], t[1], t[2]); },
      {random_tensor(Shape{2, 2, 3, 3}, 13, -2, 2), random_tensor(Shape{2}, 14), random_tensor(Shape{2}, 15)});
  CHECK_THROWS_WITH_AS(
      kernels::batch_norm_train(Tensor::zeros(Shape{1, 2, 1, 1}), Tensor::ones(Shape{2}), Tensor::zeros(Shape{2}),
                                Tensor::zeros(Shape{2}), Tensor::ones(Shape{2}), 0.1, 1e-5),
      doctest::Contains("more than one value per channel"), Error);
  CHECK_THROWS_WITH_AS(
      batch_norm(Tensor::zeros(Shape{2, 2, 2, 2}), Tensor::ones(Shape{3}), Tensor(), Tensor(), Tensor(), true),
      doctest::Contains("per-channel tensor [3] does not match 2 channels"), Error);
}

PARITY("batch_norm_train", 1e-4, 1e-4,
       ({random_tensor(Shape{4, 6, 9, 7}, 71, -3, 3), random_tensor(Shape{6}, 72), random_tensor(Shape{6}, 73)}),
       batch_norm(x[0], x[1], x[2], Tensor(), Tensor(), true))

PARITY("batch_norm_eval_instance_norm", 1e-5, 1e-4,
       ({random_tensor(Shape{2, 3, 8, 8}, 74, -3, 3), random_tensor(Shape{3}, 75), random_tensor(Shape{3}, 76)}),
       batch_norm(instance_norm(x[0], x[1], x[2]), x[1], x[2], kernels::full(Shape{3}, 0.2, DType::F32, x[0].device()),
                  kernels::full(Shape{3}, 1.5, DType::F32, x[0].device()), false))

}  // TEST_SUITE
