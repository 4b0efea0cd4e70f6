// Proof that the stack trains: a small conv net (conv-BN-ReLU-pool-upsample-conv) learns a toy
// image-to-image task on the CPU, and training is reproducible bit for bit from the seed.
#include "kernels/random.h"
#include "layers/layers.h"
#include "layers/optim.h"
#include "tests/test_util.h"

using namespace anima;

namespace {

struct ToyResult {
  float first_loss = 0, last_loss = 0;
  NamedTensors weights;
};

// Task: map an image to its 2x2 block average shifted by a constant (needs the pooling path and
// a learned bias). Batches come from a fixed Philox stream per step.
ToyResult train_toy(uint64_t seed, int steps) {
  Generator gen(seed);
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
      std::make_shared<Conv2d>(1, 8, 3, Conv2d::Options{1, 1}, gen), std::make_shared<BatchNorm2d>(8),
      std::make_shared<ReLU>(), std::make_shared<AvgPool2d>(2), std::make_shared<UpsampleNearest>(2),
      std::make_shared<Conv2d>(8, 1, 3, Conv2d::Options{1, 1}, gen)});
  Adam opt(net->named_parameters(), AdamOptions{1e-2, 0.9, 0.999});
  ToyResult r;
  Generator data(seed + 1000);
  for (int step = 0; step < steps; ++step) {
    Tensor x = kernels::uniform(Shape{8, 1, 16, 16}, 0.f, 1.f, data);
    Tensor target;
    {
      NoGradGuard no_grad;
      target = upsample_nearest(avg_pool2d(x, 2), 2) + 0.25f;
    }
    opt.zero_grad();
    Tensor loss = mse_loss(net->forward(x), target);
    loss.backward();
    opt.step();
    if (step == 0) r.first_loss = loss.item();
    r.last_loss = loss.item();
  }
  r.weights = net->state_dict();
  return r;
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("a small conv net trains: the loss falls at least 10x, and the same seed repeats exactly") {
  ToyResult a = train_toy(11, 150);
  INFO("loss " << a.first_loss << " -> " << a.last_loss);
  CHECK(a.last_loss * 10.f < a.first_loss);
  ToyResult b = train_toy(11, 150);
  REQUIRE(a.weights.size() == b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    INFO(a.weights[i].first);
    if (a.weights[i].second.dtype() == DType::F32) CHECK(test::bit_equal(a.weights[i].second, b.weights[i].second));
  }
  CHECK(a.last_loss == b.last_loss);
}

}  // TEST_SUITE
