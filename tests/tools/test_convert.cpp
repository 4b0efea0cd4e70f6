// Official PyTorch checkpoints where users meet them (issue 20): `anima convert`, animate and
// reconstruct reading .pth files directly, `train --init-from`, `--vgg` with torchvision's file.
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "data/synthetic.h"
#include "formats/safetensors.h"
#include "formats/tensor_file.h"
#include "layers/checkpoint.h"
#include "layers/vgg.h"
#include "models/refined_mask/model.h"
#include "models/registry.h"
#include "tests/formats/pytorch_writer.h"
#include "tests/test_util.h"
#include "tests/tiny_refined_mask_config.h"
#include "tools/convert.h"
#include "tools/train.h"

using namespace anima;

namespace {

std::string pt(const std::string& name) { return test::golden_path("pytorch/" + name); }

std::string fresh_dir(const char* tag) {
  std::string d = std::string("/tmp/anima_test_") + tag + "_" + std::to_string(::getpid());
  std::system(("rm -rf '" + d + "' && mkdir -p '" + d + "'").c_str());
  return d;
}

const Tensor& entry(const NamedTensors& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return t;
  FAIL("no tensor " << name);
  return state.front().second;
}

}  // namespace

TEST_SUITE("tools") {

TEST_CASE("convert: an official-layout FOMM checkpoint becomes the checkpoint the Python converter wrote") {
  std::string d = fresh_dir("convert");
  for (const char* file : {"tiny-fomm-cpk.pth.tar", "tiny-fomm-cpk.zip.pth"}) {
    INFO(file);
    tools::ConvertOptions o{pt(file), pt("tiny-fomm.yaml"), d + "/out.safetensors"};
    REQUIRE(tools::convert(o) == 0);
    SafetensorsFile got = load_safetensors(o.out), want = load_safetensors(pt("tiny-fomm-expected.safetensors"));
    CHECK(got.tensors.size() == want.tensors.size());
    for (const auto& [name, t] : want.tensors) {
      INFO(name);
      REQUIRE(got.find(name) != nullptr);
      CHECK(test::bit_equal(*got.find(name), t));
    }
    CHECK(got.metadata.at("model") == "fomm");
    CHECK(got.metadata.at("epoch") == "7");
    CHECK(got.metadata.at("config") == read_file_bytes(pt("tiny-fomm.yaml")));
    // The converted file and the PyTorch file animate with the same weights.
    auto cfg = load_model_config(pt("tiny-fomm.yaml"));
    CHECK_NOTHROW(cfg->load_animator(pt(file), Device::cpu(), {}));
  }
  // Without --config only VGG weights convert; a model file says what is missing.
  CHECK_THROWS_WITH_AS(tools::convert({pt("tiny-fomm-cpk.pth.tar"), "", d + "/x.safetensors"}),
                       doctest::Contains("needs the config it was trained with"), Error);
  // A config of another model: the names do not match, and the error lists them.
  std::ofstream(d + "/rm.yaml") << test::kTinyRefinedMaskYaml;
  CHECK_THROWS_WITH_AS(tools::convert({pt("tiny-fomm-cpk.pth.tar"), d + "/rm.yaml", d + "/x.safetensors"}),
                       doctest::Contains("module 'generator'"), Error);
  CHECK_FALSE(path_exists(d + "/x.safetensors"));
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("convert: a refined-masking authors' checkpoint (with the 14 unused down_blocks) and its optimisers") {
  std::string d = fresh_dir("convert_rm");
  std::ofstream(d + "/rm.yaml") << test::kTinyRefinedMaskYaml;
  auto cfg = load_model_config(d + "/rm.yaml");
  Generator gen(5);
  auto vgg = std::make_shared<Vgg19>(gen);
  auto trainer = cfg->make_trainer(vgg, gen, Device::cpu());
  CheckpointParts parts = trainer->checkpoint_parts();
  NamedTensors all;
  for (const auto& [name, m] : parts.modules)
    for (auto& [n, t] : m->state_dict()) all.emplace_back(name + "." + n, t);
  for (int k = 0; k < 14; ++k)
    all.emplace_back("generator.down_blocks." + std::to_string(k / 2) + (k % 2 ? ".conv.bias" : ".conv.weight"),
                     test::tensor({1.f, 2.f}, Shape{2}));
  all.emplace_back("optimizer_generator.state.0.exp_avg", test::tensor({1.f}, Shape{1}));
  test::write_legacy_pytorch(d + "/authors.pth.tar", all, 41);
  tools::ConvertOptions o{d + "/authors.pth.tar", d + "/rm.yaml", d + "/out.safetensors"};
  REQUIRE(tools::convert(o) == 0);
  SafetensorsFile got = load_safetensors(o.out);
  CHECK(got.tensors.size() == all.size() - 15);
  for (const auto& [name, t] : all) {
    if (name.rfind("generator.down_blocks.", 0) == 0 || name.rfind("optimizer_", 0) == 0) {
      CHECK(got.find(name) == nullptr);
      continue;
    }
    INFO(name);
    REQUIRE(got.find(name) != nullptr);
    CHECK(test::bit_equal(*got.find(name), t));
  }
  CHECK(got.metadata.at("epoch") == "41");
  CHECK(got.metadata.at("model") == "refined_mask");
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("vgg: torchvision's file layout (features and classifier) loads as --vgg takes it, and converts") {
  std::string d = fresh_dir("vgg_pth");
  Generator gen(9);
  Vgg19 original(gen);
  NamedTensors file;
  for (auto& [n, t] : original.state_dict()) file.emplace_back("vgg." + n, t);  // split at "vgg." below
  file.emplace_back("vgg.classifier.0.weight", test::tensor({1, 2, 3, 4}, Shape{2, 2}));
  // torchvision's file is a flat OrderedDict; the writer nests at the first dot, so use a prefix
  // the loader strips (it finds the prefix in front of "features.0.weight").
  test::write_legacy_pytorch(d + "/vgg19.pth", file);
  Vgg19 loaded;
  loaded.load_weights(d + "/vgg19.pth");
  CHECK(loaded.pretrained());
  for (const auto& [n, t] : original.state_dict()) {
    INFO(n);
    CHECK(test::bit_equal(entry(loaded.state_dict(), n), t));
  }
  REQUIRE(tools::convert({d + "/vgg19.pth", "", d + "/vgg19.safetensors"}) == 0);
  Vgg19 again;
  again.load_weights(d + "/vgg19.safetensors");
  for (const auto& [n, t] : original.state_dict()) CHECK(test::bit_equal(entry(again.state_dict(), n), t));
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train --init-from: a new run from an official file's weights; --checkpoint of one says to use it") {
  std::string d = fresh_dir("init_from");
  SyntheticOptions so;
  so.videos = 4;
  so.frames = 4;
  so.size = 16;
  make_synthetic_dataset(d + "/data", so);
  tools::TrainOptions o;
  o.config = pt("tiny-fomm.yaml");
  o.data = d + "/data";
  o.device = "cpu";
  o.quiet = true;
  o.max_steps = 1;
  o.out = d + "/run";
  o.init_from = pt("tiny-fomm-cpk.pth.tar");
  REQUIRE(tools::train(o) == 0);
  SafetensorsFile run = load_safetensors(o.out + "/checkpoint.safetensors");
  CHECK(run.metadata.at("step") == "1");
  CHECK(read_file_bytes(o.out + "/log.txt").find("weights from " + o.init_from) != std::string::npos);
  // One step of Adam moves every trained weight by at most about lr from the official one.
  SafetensorsFile want = load_safetensors(pt("tiny-fomm-expected.safetensors"));
  const Tensor& w0 = want.at("kp_detector.kp.weight");
  const Tensor& w1 = run.at("kp_detector.kp.weight");
  double most = 0;
  for (int64_t i = 0; i < w0.numel(); ++i)
    most = std::max(most, double(std::abs(w0.data<float>()[i] - w1.data<float>()[i])));
  CHECK(most > 0);
  CHECK(most < 1e-2);
  tools::TrainOptions bad = o;
  bad.init_from.clear();
  bad.out = d + "/run2";
  bad.checkpoint = pt("tiny-fomm-cpk.pth.tar");
  CHECK_THROWS_WITH_AS(tools::train(bad), doctest::Contains("--init-from"), Error);
  CHECK_FALSE(path_exists(bad.out));
  bad.checkpoint.clear();
  bad.init_from = pt("tiny-fomm-cpk.pth.tar");
  bad.resume = true;
  CHECK_THROWS_WITH_AS(tools::train(bad), doctest::Contains("give one of them"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

}  // TEST_SUITE
