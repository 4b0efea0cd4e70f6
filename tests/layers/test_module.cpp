#include <algorithm>
#include <cmath>

#include "kernels/random.h"
#include "layers/layers.h"
#include "tests/test_util.h"

using namespace anima;
using test::random_tensor;

namespace {

// The shape of FOMM's hourglass down block: names must come out as PyTorch's.
struct DownBlock : Module {
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> norm;
  DownBlock(int in, int out, Generator& gen) {
    conv = register_module("conv", std::make_shared<Conv2d>(in, out, 3, Conv2d::Options{1, 1}, gen));
    norm = register_module("norm", std::make_shared<BatchNorm2d>(out));
  }
};

struct Encoder : Module {
  std::shared_ptr<ModuleList<DownBlock>> down_blocks;
  explicit Encoder(Generator& gen) {
    down_blocks = register_module("down_blocks", std::make_shared<ModuleList<DownBlock>>());
    down_blocks->append(std::make_shared<DownBlock>(3, 4, gen));
    down_blocks->append(std::make_shared<DownBlock>(4, 8, gen));
  }
};

struct Net : Module {
  std::shared_ptr<Encoder> encoder;
  Tensor scale;
  explicit Net(Generator& gen) {
    scale = Tensor::ones(Shape{1});
    register_parameter("scale", &scale);
    encoder = register_module("encoder", std::make_shared<Encoder>(gen));
  }
};

std::vector<std::string> names(const NamedTensors& t) {
  std::vector<std::string> out;
  for (const auto& [n, x] : t) out.push_back(n);
  return out;
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("dotted names follow PyTorch's rules") {
  Generator gen(1);
  Net net(gen);
  CHECK(names(net.named_parameters()) ==
        std::vector<std::string>{"scale", "encoder.down_blocks.0.conv.weight", "encoder.down_blocks.0.conv.bias",
                                 "encoder.down_blocks.0.norm.weight", "encoder.down_blocks.0.norm.bias",
                                 "encoder.down_blocks.1.conv.weight", "encoder.down_blocks.1.conv.bias",
                                 "encoder.down_blocks.1.norm.weight", "encoder.down_blocks.1.norm.bias"});
  CHECK(names(net.named_buffers()) ==
        std::vector<std::string>{"encoder.down_blocks.0.norm.running_mean", "encoder.down_blocks.0.norm.running_var",
                                 "encoder.down_blocks.0.norm.num_batches_tracked",
                                 "encoder.down_blocks.1.norm.running_mean", "encoder.down_blocks.1.norm.running_var",
                                 "encoder.down_blocks.1.norm.num_batches_tracked"});
  auto sd = names(net.state_dict());
  CHECK(sd.size() == 15);
  CHECK(sd[5] == "encoder.down_blocks.0.norm.running_mean");  // a module's buffers follow its parameters
  CHECK(net.parameter_count() == 1 + (4 * 3 * 9 + 4) + 8 + (8 * 4 * 9 + 8) + 16);
  CHECK(net.summary().find("encoder.down_blocks.1.norm.num_batches_tracked [] int64 (buffer)") != std::string::npos);
}

TEST_CASE("default initialisation: PyTorch's bounds, reproducible from the seed") {
  Generator g1(7), g2(7), g3(8);
  Conv2d a(16, 32, 3, g1), b(16, 32, 3, g2), c(16, 32, 3, g3);
  CHECK(test::bit_equal(a.weight, b.weight));
  CHECK(test::bit_equal(a.bias, b.bias));
  CHECK(!test::bit_equal(a.weight, c.weight));
  float bound = 1.f / std::sqrt(16.f * 9.f);
  auto w = a.weight.to_vector<float>();
  float lo = *std::min_element(w.begin(), w.end()), hi = *std::max_element(w.begin(), w.end());
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi > 0.95f * bound);  // 4608 uniform draws reach close to the bound
  CHECK(lo < -0.95f * bound);
  Linear l(10, 4, true, g1);
  CHECK(l.weight.shape() == Shape{4, 10});
  CHECK(l.forward(random_tensor(Shape{3, 10}, 1)).shape() == Shape{3, 4});
  Conv2d dw(6, 6, 5, Conv2d::Options{1, 2, 1, 6, false}, g1);
  CHECK(dw.weight.shape() == Shape{6, 1, 5, 5});
  CHECK(!dw.bias.defined());
  CHECK(dw.named_parameters().size() == 1);
}

TEST_CASE("train/eval, batch norm statistics and num_batches_tracked") {
  BatchNorm2d bn(3);
  Tensor x = random_tensor(Shape{4, 3, 5, 5}, 3, 0, 4);
  bn.forward(x);
  bn.forward(x);
  CHECK(bn.num_batches_tracked.to_vector<int64_t>()[0] == 2);
  CHECK(bn.running_mean.to_vector<float>()[0] > 0.3f);  // moved toward the batch mean (~2)
  bn.eval();
  CHECK(!bn.is_training());
  Tensor y = bn.forward(x);
  CHECK(bn.num_batches_tracked.to_vector<int64_t>()[0] == 2);
  // eval uses the running statistics: not zero-mean per channel.
  CHECK(std::fabs(mean(y).item()) > 0.1f);
  Sequential seq({std::make_shared<Conv2d>(3, 3, 1), std::make_shared<BatchNorm2d>(3), std::make_shared<ReLU>()});
  seq.eval();
  CHECK(!std::static_pointer_cast<Module>(seq.named_children()[1].second)->is_training());
  CHECK(seq.forward(x).shape() == Shape{4, 3, 5, 5});
  CHECK(names(seq.named_parameters())[0] == "0.weight");
}

TEST_CASE("load_state_dict: strict reports every problem at once; non-strict loads what matches") {
  Generator g1(1), g2(2);
  Net a(g1), b(g2);
  CHECK(b.load_state_dict(a.state_dict()).empty());
  CHECK(test::bit_equal(a.encoder->down_blocks->at(1)->conv->weight, b.encoder->down_blocks->at(1)->conv->weight));
  NamedTensors broken = a.state_dict();
  broken.erase(broken.begin());                                          // missing "scale"
  broken.emplace_back("encoder.extra.weight", Tensor::zeros(Shape{2}));  // unexpected
  for (auto& [n, t] : broken)
    if (n == "encoder.down_blocks.0.conv.bias") t = Tensor::zeros(Shape{5});  // mis-shaped
  try {
    b.load_state_dict(broken, true);
    FAIL("strict load should have thrown");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("1 missing: scale [1]") != std::string::npos);
    CHECK(msg.find("1 unexpected: encoder.extra.weight [2]") != std::string::npos);
    CHECK(msg.find("encoder.down_blocks.0.conv.bias: expected [4] float32, got [5] float32") != std::string::npos);
  }
  Net c(g2);
  std::string report = c.load_state_dict(broken, false);
  CHECK(report.find("missing") != std::string::npos);
  CHECK(test::bit_equal(c.encoder->down_blocks->at(1)->conv->weight, a.encoder->down_blocks->at(1)->conv->weight));
}

TEST_CASE("zero_grad, to(device) and registration errors") {
  Generator gen(3);
  Conv2d conv(2, 2, 3, gen);
  sum(conv.forward(random_tensor(Shape{1, 2, 4, 4}, 4))).backward();
  CHECK(conv.weight.grad().defined());
  conv.zero_grad();
  CHECK(!conv.weight.grad().defined());
  conv.to(Device::cpu());
  CHECK(conv.weight.requires_grad());
  struct Bad : Module {
    Tensor w = Tensor::zeros(Shape{1});
    Bad() {
      register_parameter("w", &w);
      register_parameter("w", &w);
    }
  };
  CHECK_THROWS_WITH_AS(Bad(), doctest::Contains("'w' registered twice"), Error);
  CHECK_THROWS_WITH_AS(Conv2d(3, 4, 3, Conv2d::Options{1, 0, 1, 2}), doctest::Contains("Conv2d: invalid sizes"), Error);
}

}  // TEST_SUITE
