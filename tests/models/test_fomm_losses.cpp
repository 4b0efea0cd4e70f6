#include <cmath>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "kernels/elementwise.h"
#include "models/fomm/losses.h"
#include "tests/test_util.h"

using namespace anima;
using namespace anima::fomm;
using test::random_tensor;

TEST_SUITE("models") {

TEST_CASE("random TPS transform: the analytic Jacobian equals finite differences of the warp") {
  Generator gen(1);
  RandomTransform t(2, TransformParams{0.05f, 0.005f, 5}, gen);
  Tensor c = random_tensor(Shape{2, 6, 2}, 2, -0.9f, 0.9f);
  Tensor jac = t.jacobian(c);
  CHECK(jac.shape() == Shape{2, 6, 2, 2});
  auto j = jac.to_vector<float>();
  auto base = c.to_vector<float>();
  const float h = 1e-3f;
  double worst = 0;
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 6; ++p)
      for (int in = 0; in < 2; ++in) {
        std::vector<float> plus = base, minus = base;
        size_t idx = size_t((n * 6 + p) * 2 + in);
        plus[idx] += h;
        minus[idx] -= h;
        auto wp = t.warp_coordinates(test::tensor(plus, Shape{2, 6, 2})).to_vector<float>();
        auto wm = t.warp_coordinates(test::tensor(minus, Shape{2, 6, 2})).to_vector<float>();
        for (int out = 0; out < 2; ++out) {
          size_t o = size_t((n * 6 + p) * 2 + out);
          double numeric = (double(wp[o]) - wm[o]) / (2 * h);
          worst = std::max(worst, std::fabs(numeric - j[size_t(((n * 6 + p) * 2 + out) * 2 + in)]));
        }
      }
  CHECK(worst < 2e-3);
  // The Jacobian is differentiable in the coordinates (the equivariance loss needs it).
  std::vector<Tensor> in{c};
  in[0].set_requires_grad(true);
  GradcheckOptions opt;
  opt.atol = 1e-3;
  GradcheckResult r = gradcheck([&](auto& x) { return t.jacobian(x[0]); }, in, opt);
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("a transform without noise is the identity; frames warp with reflection padding") {
  Generator gen(3);
  RandomTransform none(1, TransformParams{0.f, 0.f, 5}, gen);
  Tensor c = random_tensor(Shape{1, 4, 2}, 4);
  CHECK_CLOSE(none.warp_coordinates(c), c, 1e-6, 0);
  Tensor frame = random_tensor(Shape{1, 3, 8, 8}, 5, 0, 1);
  CHECK_CLOSE(none.transform_frame(frame, true), frame, 1e-5, 0);
  RandomTransform some(1, TransformParams{0.1f, 0.01f, 5}, gen);
  Tensor moved = some.transform_frame(frame, true);
  CHECK(moved.shape() == frame.shape());
  CHECK(mean_abs_diff(moved, frame).item() > 1e-3f);
}

TEST_CASE("GAN, feature matching and equivariance losses") {
  Tensor fake = test::tensor({0.5f, 1.f}, Shape{2, 1, 1, 1}), real = test::tensor({1.f, 0.f}, Shape{2, 1, 1, 1});
  CHECK(lsgan_generator_loss(fake).item() == doctest::Approx(0.125));
  CHECK(lsgan_discriminator_loss(real, fake).item() == doctest::Approx((0 + 1 + 0.25 + 1) / 2.0));
  Tensor f1 = random_tensor(Shape{2, 3}, 6), f2 = random_tensor(Shape{2, 3}, 7);
  CHECK(feature_matching_loss({f1, f1}, {f2, f1}, {10, 10}).item() ==
        doctest::Approx(10 * mean_abs_diff(f1, f2).item()));
  Generator gen(8);
  RandomTransform identity(2, TransformParams{0.f, 0.f, 0}, gen);
  Keypoints kp{random_tensor(Shape{2, 3, 2}, 9),
               kernels::expand(test::tensor({1, 0, 0, 1}, Shape{1, 1, 2, 2}), Shape{2, 3, 2, 2}), Tensor()};
  CHECK(equivariance_value_loss(kp, kp, identity).item() == doctest::Approx(0.0));
  CHECK(equivariance_jacobian_loss(kp, kp, identity).item() == doctest::Approx(0.0));
  RandomTransform t(2, TransformParams{0.1f, 0.f, 0}, gen);
  CHECK(equivariance_value_loss(kp, kp, t).item() > 0.f);
}

}  // TEST_SUITE
