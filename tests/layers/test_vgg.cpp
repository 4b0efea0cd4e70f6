#include "formats/safetensors.h"
#include "layers/vgg.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;

TEST_SUITE("layers") {

TEST_CASE("VGG-19: torchvision names, feature shapes at relu1_1 .. relu5_1") {
  Generator gen(1);
  Vgg19 vgg(gen);
  auto params = vgg.named_parameters();
  CHECK(params.size() == 26);
  CHECK(params.front().first == "features.0.weight");
  CHECK(params.back().first == "features.28.bias");
  CHECK(vgg.parameter_count() == 12944960);       // the 13 VGG-19 convolutions up to conv5_1
  CHECK(!params.front().second.requires_grad());  // the extractor is frozen
  auto f =
      vgg.forward(random_tensor(Shape{1, 3, 32, 32}, 2, 0, 1), {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"});
  CHECK(f[0].shape() == Shape{1, 64, 32, 32});
  CHECK(f[1].shape() == Shape{1, 128, 16, 16});
  CHECK(f[2].shape() == Shape{1, 256, 8, 8});
  CHECK(f[3].shape() == Shape{1, 512, 4, 4});
  CHECK(f[4].shape() == Shape{1, 512, 2, 2});
  CHECK(Vgg19::relu_index("relu3_4") == 17);
  CHECK_THROWS_WITH_AS(Vgg19::relu_index("relu6_1"), doctest::Contains("unknown layer 'relu6_1'"), Error);
}

TEST_CASE("VGG-19 weights load from safetensors under torchvision, timm or prefixed names") {
  Generator g1(3), g2(4);
  Vgg19 source(g1);
  for (std::string prefix : {"", "vgg.", "model."}) {
    INFO("prefix '" << prefix << "'");
    NamedTensors file;
    for (auto& [n, t] : source.named_parameters()) file.emplace_back(prefix + n, t);
    file.emplace_back(prefix + "classifier.0.weight", Tensor::zeros(Shape{4, 2}));  // ignored
    std::string path = "/tmp/anima_test_vgg.safetensors";
    save_safetensors(path, file);
    Vgg19 target(g2);
    CHECK(!target.pretrained());
    target.load_weights(path);
    CHECK(target.pretrained());
    Tensor x = random_tensor(Shape{1, 3, 16, 16}, 5, 0, 1);
    CHECK(test::bit_equal(target.forward(x, {"relu3_1"})[0], source.forward(x, {"relu3_1"})[0]));
    std::remove(path.c_str());
  }
  std::string bad = "/tmp/anima_test_vgg_bad.safetensors";
  save_safetensors(bad, {{"features.0.weight", Tensor::zeros(Shape{64, 3, 3, 3})}});
  Vgg19 target(g2);
  CHECK_THROWS_WITH_AS(target.load_weights(bad), doctest::Contains("missing VGG-19 tensors: features.0.bias"), Error);
  save_safetensors(bad, {{"conv.weight", Tensor::zeros(Shape{1})}});
  CHECK_THROWS_WITH_AS(target.load_weights(bad), doctest::Contains("no VGG-19 'features.0.weight'"), Error);
  std::remove(bad.c_str());
}

TEST_CASE("perceptual pyramid loss: zero for equal images, gradient only to the generated image") {
  Generator gen(6);
  auto vgg = std::make_shared<Vgg19>(gen);
  PerceptualLossConfig cfg;
  cfg.scales = {1, 0.5};
  cfg.layers = {"relu1_1", "relu3_1"};
  cfg.weights = {10, 5};
  PerceptualLoss loss(vgg, cfg);
  Tensor real = random_tensor(Shape{1, 3, 32, 32}, 7, 0, 1);
  CHECK(loss.forward(real, real).item() == 0.f);
  Tensor fake = random_tensor(Shape{1, 3, 32, 32}, 8, 0, 1);
  fake.set_requires_grad(true);
  Tensor real_leaf = real.detach();
  real_leaf.set_requires_grad(true);
  Tensor l = loss.forward(fake, real_leaf);
  CHECK(l.item() > 0.f);
  l.backward();
  CHECK(fake.grad().defined());
  CHECK(!real_leaf.grad().defined());  // the real image's features are computed without gradient
  // The value is the weighted sum of the per-layer mean |difference|.
  std::vector<Tensor> fa = vgg->forward(fake, cfg.layers), fb = vgg->forward(real, cfg.layers);
  ImagePyramid pyr({0.5}, 3);
  std::vector<Tensor> ha = vgg->forward(pyr.forward(fake).at("prediction_0.5"), cfg.layers);
  std::vector<Tensor> hb = vgg->forward(pyr.forward(real).at("prediction_0.5"), cfg.layers);
  float expect = 10 * mean_abs_diff(fa[0], fb[0]).item() + 5 * mean_abs_diff(fa[1], fb[1]).item() +
                 10 * mean_abs_diff(ha[0], hb[0]).item() + 5 * mean_abs_diff(ha[1], hb[1]).item();
  CHECK(l.item() == doctest::Approx(expect).epsilon(1e-5));
}

}  // TEST_SUITE
