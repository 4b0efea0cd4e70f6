#include "autograd/functions.h"
#include "formats/safetensors.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;
using test::tensor;

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
    CHECK(h == std::vector<float>{float(options.lr), float(options.beta1), float(options.beta2), float(options.eps),
                                  float(options.weight_decay)});
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
  CHECK_THROWS_WITH_AS(Adam({{"x", Tensor::zeros(Shape{2})}}, AdamOptions{}),
                       doctest::Contains("'x' is not a leaf parameter"), Error);
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

TEST_CASE("an optimiser group: named Adams stepped in order, one schedule for all, a clear error for a wrong name") {
  Tensor a = random_tensor(Shape{3}, 1), b = random_tensor(Shape{2}, 2);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  OptimizerGroup group({2, 4}, 0.5);
  group.add("optimizer_a", {{"a", a}}, AdamOptions{1e-2, 0.9, 0.999});
  group.add("optimizer_b", {{"b", b}}, AdamOptions{1e-3, 0.9, 0.999});
  auto named = group.named();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "optimizer_a");
  CHECK(named[1].first == "optimizer_b");
  CHECK(&group["optimizer_b"] == named[1].second);
  CHECK_THROWS_WITH_AS(group["optimizer_c"],
                       doctest::Contains("no optimiser 'optimizer_c' (it has optimizer_a, optimizer_b)"), Error);
  // The same updates as two Adams stepped by hand.
  Tensor a2 = a.detach().clone(), b2 = b.detach().clone();
  a2.set_requires_grad(true);
  b2.set_requires_grad(true);
  Adam ra({{"a", a2}}, AdamOptions{1e-2, 0.9, 0.999}), rb({{"b", b2}}, AdamOptions{1e-3, 0.9, 0.999});
  for (int i = 0; i < 3; ++i) {
    group.zero_grad();
    ra.zero_grad();
    rb.zero_grad();
    (sum(a * a) + sum(b * b * b)).backward();
    (sum(a2 * a2) + sum(b2 * b2 * b2)).backward();
    group.step();
    ra.step();
    rb.step();
  }
  CHECK(test::bit_equal(a.detach(), a2.detach()));
  CHECK(test::bit_equal(b.detach(), b2.detach()));
  group.set_epoch(3);  // one milestone passed: every base rate times 0.5
  CHECK(group["optimizer_a"].lr() == doctest::Approx(5e-3));
  CHECK(group["optimizer_b"].lr() == doctest::Approx(5e-4));
}

TEST_CASE("sum_terms adds named terms in name order") {
  std::map<std::string, Tensor> terms{{"b", tensor({2.f}, Shape{1})}, {"a", tensor({1.f}, Shape{1})}};
  CHECK(sum_terms(terms).item() == 3.f);
  CHECK_FALSE(sum_terms({}).defined());
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
    if (sa[i].second.dtype() == DType::F32)
      CHECK(test::bit_equal(sa[i].second, sb[i].second));
    else
      CHECK(sa[i].second.to_vector<int64_t>() == sb[i].second.to_vector<int64_t>());
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
  CHECK_THROWS_WITH_AS(load_checkpoint(path, {{{"generator", &wrong}}, {}}), doctest::Contains("module 'generator'"),
                       Error);
  std::remove(path.c_str());
}

}  // TEST_SUITE
