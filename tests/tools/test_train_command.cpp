// `anima train` end to end on synthetic data: a run folder with log and checkpoint, and a resumed
// run that ends bit-identical to an uninterrupted one.
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "data/synthetic.h"
#include "layers/safetensors.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"
#include "tools/train.h"

using namespace anima;

namespace {
const char* kTinyConfig = R"(dataset_params:
  frame_shape: [32, 32, 3]
  id_sampling: True
  augmentation_params:
    flip_param: {horizontal_flip: True, time_flip: True}
    jitter_param: {brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.05}
model_params:
  common_params: {num_kp: 4, num_channels: 3, estimate_jacobian: True}
  kp_detector_params: {temperature: 0.1, block_expansion: 8, max_features: 32, scale_factor: 0.5, num_blocks: 3}
  generator_params:
    block_expansion: 8
    max_features: 32
    num_down_blocks: 2
    num_bottleneck_blocks: 1
    estimate_occlusion_map: True
    dense_motion_params: {block_expansion: 8, max_features: 32, num_blocks: 3, scale_factor: 0.5}
  discriminator_params: {scales: [1], block_expansion: 8, max_features: 32, num_blocks: 3, sn: True}
train_params:
  num_epochs: 2
  num_repeats: 2
  epoch_milestones: [1]
  batch_size: 2
  scales: [1, 0.5]
  checkpoint_freq: 1
  loss_weights:
    generator_gan: 1
    discriminator_gan: 1
    feature_matching: [10, 10, 10]
    perceptual: [10, 10]
    equivariance_value: 10
    equivariance_jacobian: 10
)";
}  // namespace

TEST_SUITE("tools") {

TEST_CASE("train writes a run folder; resuming from a checkpoint equals the uninterrupted run") {
  std::string d = "/tmp/anima_test_train_" + std::to_string(::getpid());
  std::system(("rm -rf '" + d + "' && mkdir -p '" + d + "'").c_str());
  SyntheticOptions so;
  so.videos = 8;
  so.frames = 6;
  so.size = 32;
  make_synthetic_dataset(d + "/data", so);
  std::ofstream(d + "/tiny.yaml") << kTinyConfig;
  tools::TrainOptions o;
  o.config = d + "/tiny.yaml";
  o.data = d + "/data";
  o.device = "cpu";
  o.seed = 5;
  o.quiet = true;
  o.log_every = 1;
  o.max_steps = 4;
  o.out = d + "/straight";
  REQUIRE(tools::train(o) == 0);
  std::string log = read_file_bytes(d + "/straight/log.txt");
  CHECK(log.find("seed 5") != std::string::npos);
  CHECK(log.find("equivariance_jacobian") != std::string::npos);
  CHECK(log.find("step 4") != std::string::npos);
  o.max_steps = 2;
  o.out = d + "/first_half";
  REQUIRE(tools::train(o) == 0);
  o.max_steps = 4;
  o.out = d + "/second_half";
  o.checkpoint = d + "/first_half/checkpoint.safetensors";
  REQUIRE(tools::train(o) == 0);
  SafetensorsFile a = load_safetensors(d + "/straight/checkpoint.safetensors");
  SafetensorsFile b = load_safetensors(d + "/second_half/checkpoint.safetensors");
  CHECK(a.metadata.at("step") == "4");
  CHECK(b.metadata.at("step") == "4");
  REQUIRE(a.tensors.size() == b.tensors.size());
  int compared = 0;
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    const Tensor& u = b.at(name);
    if (t.dtype() == DType::F32) {
      CHECK(test::bit_equal(t, u));
      ++compared;
    }
  }
  CHECK(compared > 50);
  CHECK(read_file_bytes(d + "/second_half/log.txt").find("resumed from") != std::string::npos);
  std::system(("rm -rf '" + d + "'").c_str());
}

}  // TEST_SUITE
