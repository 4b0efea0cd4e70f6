#include <algorithm>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"
#include "kernels/elementwise.h"
#include "models/prioritycut/losses.h"
#include "tests/test_util.h"

using namespace anima;
using namespace anima::prioritycut;
using test::random_tensor;

TEST_SUITE("models") {

TEST_CASE("U-Net discriminator: global and per-pixel predictions, names, gradients") {
  Generator gen(1);
  UNetDiscriminatorConfig c;
  c.block_expansion = 8;
  c.max_features = 32;
  c.num_blocks = 3;
  c.use_kp = true;
  c.num_kp = 4;
  UNetDiscriminator d(c, gen);
  Tensor x = random_tensor(Shape{2, 3, 32, 32}, 2, 0, 1), kp = random_tensor(Shape{2, 4, 2}, 3);
  UNetDiscriminator::Output o = d.forward(x, kp);
  CHECK(o.global.shape() == Shape{2, 1});
  CHECK(o.pixel.shape() == Shape{2, 1, 32, 32});
  CHECK(o.features.size() == 3);
  std::vector<std::string> names;
  for (auto& [n, t] : d.named_parameters()) names.push_back(n);
  CHECK(std::find(names.begin(), names.end(), "encoder.down_blocks.0.conv.weight_orig") != names.end());
  CHECK(std::find(names.begin(), names.end(), "decoder.up_blocks.2.norm.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "pixel_head.weight_orig") != names.end());
  CHECK(std::find(names.begin(), names.end(), "global_head.bias") != names.end());
  Tensor fake = random_tensor(Shape{2, 3, 32, 32}, 4, 0, 1);
  fake.set_requires_grad(true);
  unet_generator_loss(d.forward(fake, kp)).backward();
  CHECK(fake.grad().defined());
  CHECK_THROWS_WITH_AS(d.forward(random_tensor(Shape{1, 3, 20, 20}, 5), kp), doctest::Contains("divisible by 8"),
                       Error);
}

TEST_CASE("consistency regularisation: zero for an all-ones mask, positive for a PriorityCut mask") {
  Generator gen(6);
  UNetDiscriminatorConfig c;
  c.block_expansion = 8;
  c.max_features = 32;
  c.num_blocks = 2;
  UNetDiscriminator d(c, gen);
  Tensor real = random_tensor(Shape{2, 3, 16, 16}, 7, 0, 1), fake = random_tensor(Shape{2, 3, 16, 16}, 8, 0, 1);
  // In evaluation mode the spectral-norm power iteration is frozen, so D is the same function in
  // every call and the all-ones mix is exactly the real image.
  d.eval();
  auto dr = d.forward(real), df = d.forward(fake);
  Tensor ones = kernels::full(Shape{2, 1, 16, 16}, 1.0);
  CHECK(consistency_loss(d.forward(cutmix(real, fake, ones)).pixel, ones, dr, df).item() == 0.f);
  d.train();
  Tensor bg = random_tensor(Shape{2, 1, 4, 4}, 9, 0, 1), occ = random_tensor(Shape{2, 1, 4, 4}, 10, 0, 1);
  Tensor mask = kernels::prioritycut_mask(bg, occ, 0.7, 0.3, 0.5, 16, 16, gen);
  Tensor l = consistency_loss(d.forward(cutmix(real, fake, mask)).pixel, mask, dr, df);
  CHECK(l.item() > 0.f);
  l.backward();
  CHECK(d.named_parameters()[0].second.grad().defined());
  CHECK(unet_discriminator_loss(dr, df).item() > 0.f);
}

}  // TEST_SUITE
