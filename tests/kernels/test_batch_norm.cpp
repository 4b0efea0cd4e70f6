// batch_norm and instance_norm (kernels/batch_norm.h): values against PyTorch, running statistics, gradchecks,
// CUDA-vs-CPU parity.

#include <omp.h>
#include "autograd/nn_functions.h"

#include <cmath>

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

// The CPU kernels walk several channels' sums side by side; each channel's sum keeps the order of
// this loop, one channel at a time, in double: the same bits.
TEST_CASE("batch_norm on the CPU: the bits of one channel at a time, forward, running statistics and backward") {
  const int64_t N = 2, C = 7, HW = 5 * 9;
  Tensor x = random_tensor({N, C, 5, 9}, 41, -2.f, 3.f), w = random_tensor({C}, 42), b = random_tensor({C}, 43);
  Tensor gy = random_tensor({N, C, 5, 9}, 44), rm = random_tensor({C}, 45), rv = random_tensor({C}, 46, 0.5f, 2.f);
  const double momentum = 0.1, eps = 1e-5, count = double(N * HW);
  // at 1, 2 and 3 threads: tasks of 7, 3 and 2 channels
  for (int threads : {1, 2, 3}) {
    INFO(threads << " threads");
    Tensor rm0 = rm.clone(), rv0 = rv.clone();
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    kernels::BatchNormForward f = kernels::batch_norm_train(x, w, b, rm, rv, momentum, eps);
    kernels::BatchNormGrads g = kernels::batch_norm_backward(gy, x, w, f.save_mean, f.save_invstd, eps);
    omp_set_num_threads(previous);
    const float *px = x.data<float>(), *pg = gy.data<float>(), *pw = w.data<float>(), *pb = b.data<float>();
    for (int64_t c = 0; c < C; ++c) {
      INFO("channel " << c);
      double s = 0, ss = 0, sg = 0, sgx = 0;
      for (int64_t i = 0; i < N * HW; ++i) s += px[(i / HW * C + c) * HW + i % HW];
      double mean = s / count;
      for (int64_t i = 0; i < N * HW; ++i) {
        double d = px[(i / HW * C + c) * HW + i % HW] - mean;
        ss += d * d;
      }
      double var = ss / count, invstd = 1.0 / std::sqrt(var + eps);
      CHECK(f.save_mean.data<float>()[c] == float(mean));
      CHECK(f.save_invstd.data<float>()[c] == float(invstd));
      CHECK(rm.data<float>()[c] == float((1 - momentum) * rm0.data<float>()[c] + momentum * mean));
      CHECK(rv.data<float>()[c] == float((1 - momentum) * rv0.data<float>()[c] + momentum * var * count / (count - 1)));
      float scale = float(pw[c] * invstd), shift = float(pb[c] - mean * pw[c] * invstd);
      float m = f.save_mean.data<float>()[c], inv = f.save_invstd.data<float>()[c];
      for (int64_t i = 0; i < N * HW; ++i) {
        int64_t at = (i / HW * C + c) * HW + i % HW;
        CHECK(f.y.data<float>()[at] == px[at] * scale + shift);
        sg += pg[at];
        sgx += double(pg[at]) * (double(px[at]) - m) * inv;
      }
      CHECK(g.dbias.data<float>()[c] == float(sg));
      CHECK(g.dweight.data<float>()[c] == float(sgx));
      double a = double(pw[c]) * inv;
      for (int64_t i = 0; i < N * HW; ++i) {
        int64_t at = (i / HW * C + c) * HW + i % HW;
        double xhat = (double(px[at]) - m) * inv;
        CHECK(g.dx.data<float>()[at] == float(a * (pg[at] - sg / count - xhat * sgx / count)));
      }
    }
  }
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
