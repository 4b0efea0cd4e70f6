#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim.h"
#include "formats/safetensors.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;

TEST_SUITE("layers") {

TEST_CASE("Adam matches torch.optim.Adam over four steps (three settings)") {
  SafetensorsFile g = load_safetensors(test::golden_path("adam.safetensors"));
  // The settings of tests/golden/make_goldens.py (also stored, as float32, in "<name>.hyper").
  const std::pair<const char*, AdamOptions> settings[] = {{"fomm", {2e-4, 0.5, 0.999, 1e-8, 0.0}},
                                                          {"refined", {2e-4, 0.5, 0.9, 1e-8, 0.0}},
                                                          {"decay", {1e-2, 0.9, 0.999, 1e-6, 0.1}}};
  for (const auto& [name, options] : settings) {
    INFO("setting " << name);
    auto h = g.at(std::string(name) + ".hyper").to_vector<float>();
    CHECK(h == std::vector<float>{float(options.lr), float(options.beta1), float(options.beta2),
                                  float(options.eps), float(options.weight_decay)});
    Tensor p = raw::to_device(g.at(std::string(name) + ".p0"), Device::cpu());
    p.set_requires_grad(true);
    Adam opt({{"p", p}}, options);
    for (int step = 0; step < 4; ++step) {
      p.zero_grad();
      Tensor grad = g.at(std::string(name) + ".g" + std::to_string(step));
      (sum(p * grad)).backward();  // d/dp sum(p * g) = g
      opt.step();
      CHECK_CLOSE(p.detach(), g.at(std::string(name) + ".p" + std::to_string(step + 1)), 1e-6, 1e-5);
    }
    CHECK(opt.steps() == 4);
  }
}

TEST_CASE("Adam skips parameters without gradients; bad options are rejected") {
  Tensor a = random_tensor(Shape{3}, 1), b = random_tensor(Shape{3}, 2);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor b0 = b.detach().clone();
  Adam opt({{"a", a}, {"b", b}}, AdamOptions{0.1});
  sum(a * a).backward();
  opt.step();
  CHECK(test::bit_equal(b.detach(), b0));
  CHECK(!test::bit_equal(a.detach(), random_tensor(Shape{3}, 1)));
  CHECK_THROWS_WITH_AS(Adam({{"a", a}}, AdamOptions{0.1, 1.5}), doctest::Contains("Adam: invalid options"), Error);
  CHECK_THROWS_WITH_AS(Adam({{"x", Tensor::zeros(Shape{2})}}, AdamOptions{}), doctest::Contains("'x' is not a leaf parameter"), Error);
}

TEST_CASE("MultiStepLR decays at the milestones") {
  Tensor a = random_tensor(Shape{1}, 1);
  a.set_requires_grad(true);
  Adam opt({{"a", a}}, AdamOptions{2e-4});
  MultiStepLR sched(opt, {60, 90}, 0.1);
  sched.set_epoch(0);
  CHECK(opt.lr() == doctest::Approx(2e-4));
  sched.set_epoch(60);
  CHECK(opt.lr() == doctest::Approx(2e-5));
  sched.set_epoch(95);
  CHECK(opt.lr() == doctest::Approx(2e-6));
}

TEST_CASE("checkpoints: modules and optimiser state round-trip bit-exactly, atomically") {
  std::string path = "/tmp/anima_test_ckpt.safetensors";
  Generator g1(5);
  Sequential net({std::make_shared<Conv2d>(2, 4, 3, g1), std::make_shared<BatchNorm2d>(4), std::make_shared<ReLU>()});
  Adam opt(net.named_parameters(), AdamOptions{1e-2});
  Tensor x = random_tensor(Shape{2, 2, 6, 6}, 6);
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    mean(net.forward(x)).backward();
    opt.step();
  }
  save_checkpoint(path, {{{"generator", &net}}, {{"optimizer_generator", &opt}}}, {{"step", "3"}, {"config", "a: 1"}});
  Generator g2(99);
  Sequential other({std::make_shared<Conv2d>(2, 4, 3, g2), std::make_shared<BatchNorm2d>(4), std::make_shared<ReLU>()});
  Adam other_opt(other.named_parameters(), AdamOptions{1e-2});
  auto meta = load_checkpoint(path, {{{"generator", &other}}, {{"optimizer_generator", &other_opt}}});
  CHECK(meta.at("step") == "3");
  CHECK(meta.at("config") == "a: 1");
  CHECK(meta.at("format") == kCheckpointFormat);
  CHECK(other_opt.steps() == 3);
  auto sa = net.state_dict(), sb = other.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    INFO(sa[i].first);
    CHECK(sa[i].first == sb[i].first);
    if (sa[i].second.dtype() == DType::F32) CHECK(test::bit_equal(sa[i].second, sb[i].second));
    else CHECK(sa[i].second.to_vector<int64_t>() == sb[i].second.to_vector<int64_t>());
  }
  // One more identical step on both gives identical weights: the optimiser state came along.
  opt.zero_grad();
  mean(net.forward(x)).backward();
  opt.step();
  other_opt.zero_grad();
  mean(other.forward(x)).backward();
  other_opt.step();
  CHECK(test::bit_equal(net.named_parameters()[0].second, other.named_parameters()[0].second));
  // A different architecture is one clear error naming the module.
  Sequential wrong({std::make_shared<Conv2d>(2, 5, 3, g2)});
  CHECK_THROWS_WITH_AS(load_checkpoint(path, {{{"generator", &wrong}}, {}}),
                       doctest::Contains("module 'generator'"), Error);
  std::remove(path.c_str());
}

}  // TEST_SUITE
