// The First Order Motion Model's networks: official names and parameter counts, forward shapes,
// the keypoint-to-motion path's gradients.
#include <algorithm>

#include "autograd/gradcheck.h"
#include "models/fomm/geometry.h"

#include <cmath>
#include "models/fomm/discriminator.h"
#include "models/fomm/generator.h"
#include "models/fomm/keypoint_detector.h"
#include "tests/test_util.h"

using namespace anima;
using namespace anima::fomm;
using test::random_tensor;

namespace {
bool has_name(const NamedTensors& t, const std::string& name) {
  return std::any_of(t.begin(), t.end(), [&](const auto& e) { return e.first == name; });
}

// A small configuration for CPU tests (64x64, 4 keypoints).
GeneratorConfig tiny_generator() {
  GeneratorConfig g;
  g.num_kp = 4;
  g.block_expansion = 8;
  g.max_features = 32;
  g.num_bottleneck_blocks = 2;
  g.dense_motion.block_expansion = 8;
  g.dense_motion.max_features = 32;
  g.dense_motion.num_blocks = 3;
  return g;
}
KPDetectorConfig tiny_kp() {
  KPDetectorConfig k;
  k.num_kp = 4;
  k.block_expansion = 8;
  k.max_features = 32;
  k.num_blocks = 3;
  return k;
}
}  // namespace

TEST_SUITE("models") {

TEST_CASE("vox-256: parameter counts and state_dict names equal the official code's") {
  Generator gen(1);
  KPDetector kp(KPDetectorConfig{}, gen);  // vox-256 kp_detector_params are the defaults
  CHECK(kp.parameter_count() == 14215368);
  auto kp_state = kp.state_dict();
  CHECK(has_name(kp_state, "predictor.encoder.down_blocks.0.conv.weight"));
  CHECK(has_name(kp_state, "predictor.decoder.up_blocks.4.norm.num_batches_tracked"));
  CHECK(has_name(kp_state, "jacobian.bias"));
  CHECK(has_name(kp_state, "down.weight"));
  OcclusionAwareGenerator g(GeneratorConfig{}, gen);
  CHECK(g.parameter_count() == 45575391);
  auto g_state = g.state_dict();
  for (const char* name :
       {"dense_motion_network.mask.weight", "dense_motion_network.occlusion.bias",
        "dense_motion_network.hourglass.encoder.down_blocks.4.conv.weight", "dense_motion_network.down.weight",
        "first.conv.weight", "down_blocks.1.norm.running_var", "up_blocks.0.conv.weight", "bottleneck.r0.conv1.weight",
        "bottleneck.r5.norm2.bias", "final.weight"})
    CHECK_MESSAGE(has_name(g_state, name), name);
  DiscriminatorConfig dc;
  dc.block_expansion = 32;
  dc.sn = true;
  MultiScaleDiscriminator d(dc, gen);
  CHECK(d.parameter_count() == 2758849);
  auto d_state = d.state_dict();
  for (const char* name : {"discs.1.down_blocks.0.conv.weight_orig", "discs.1.down_blocks.0.conv.weight_u",
                           "discs.1.down_blocks.1.norm.weight", "discs.1.conv.weight_orig", "discs.1.conv.bias"})
    CHECK_MESSAGE(has_name(d_state, name), name);
  CHECK(!has_name(d_state, "discs.1.down_blocks.0.norm.weight"));  // no norm on the first block
}

TEST_CASE("KP detector: shapes, keypoints in range, identity Jacobians at initialisation") {
  Generator gen(2);
  KPDetector kp(tiny_kp(), gen);
  Keypoints k = kp.forward(random_tensor(Shape{2, 3, 64, 64}, 3, 0, 1));
  CHECK(k.value.shape() == Shape{2, 4, 2});
  CHECK(k.heatmap.shape() == Shape{2, 4, 10, 10});  // 64 * 0.25 = 16, minus the 7x7 head
  CHECK(amax(abs(k.value)).item() <= 1.f);
  CHECK_CLOSE(k.jacobian, expand(test::tensor({1, 0, 0, 1}, Shape{1, 1, 2, 2}), Shape{2, 4, 2, 2}), 1e-5, 0);
}

TEST_CASE("generator and dense motion: shapes, masks sum to one, gradients reach every network") {
  Generator gen(4);
  KPDetector kp(tiny_kp(), gen);
  OcclusionAwareGenerator g(tiny_generator(), gen);
  Tensor source = random_tensor(Shape{2, 3, 64, 64}, 5, 0, 1), driving = random_tensor(Shape{2, 3, 64, 64}, 6, 0, 1);
  Keypoints ks = kp.forward(source), kd = kp.forward(driving);
  GeneratorOutput out = g.forward(source, kd, ks);
  CHECK(out.prediction.shape() == Shape{2, 3, 64, 64});
  CHECK(out.deformed.shape() == Shape{2, 3, 64, 64});
  CHECK(out.motion.mask.shape() == Shape{2, 5, 16, 16});
  CHECK(out.motion.deformation.shape() == Shape{2, 16, 16, 2});
  CHECK(out.motion.occlusion_map.shape() == Shape{2, 1, 16, 16});
  CHECK(out.motion.sparse_deformed.shape() == Shape{2, 5, 3, 16, 16});
  CHECK_CLOSE(sum(out.motion.mask, {1}), Tensor::ones(Shape{2, 16, 16}), 1e-5, 0);
  mean_abs_diff(out.prediction, driving).backward();
  CHECK(g.final->weight.grad().defined());
  CHECK(g.dense_motion_network->mask->weight.grad().defined());
  CHECK(kp.kp->weight.grad().defined());
  CHECK(kp.jacobian->weight.grad().defined());
}

TEST_CASE("keypoint-to-motion path: gradcheck in keypoints and Jacobians") {
  Generator gen(7);
  DenseMotionConfig c;
  c.num_kp = 2;
  DenseMotionNetwork dm(c, gen);
  std::vector<Tensor> in{random_tensor(Shape{1, 2, 2}, 8, -0.8f, 0.8f), random_tensor(Shape{1, 2, 2}, 9, -0.8f, 0.8f),
                         test::tensor({1.2f, 0.1f, -0.2f, 0.9f, 0.8f, 0.3f, 0.1f, 1.1f}, Shape{1, 2, 2, 2}),
                         test::tensor({1.0f, -0.1f, 0.2f, 1.3f, 0.9f, 0.0f, -0.3f, 1.0f}, Shape{1, 2, 2, 2})};
  for (Tensor& t : in) t.set_requires_grad(true);
  GradcheckResult r = gradcheck(
      [&](auto& t) {
        Keypoints kd{t[0], t[2], Tensor()}, ks{t[1], t[3], Tensor()};
        return dm.sparse_motions(5, 4, kd, ks);
      },
      in);
  CHECK_MESSAGE(r.ok, r.report);
  // With equal keypoints and Jacobians every motion is the identity.
  Keypoints same{in[0].detach(), in[2].detach(), Tensor()};
  Tensor m = dm.sparse_motions(5, 4, same, same);
  Tensor identity = reshape(make_coordinate_grid(5, 4), {1, 1, 5, 4, 2});
  CHECK_CLOSE(m, expand(identity, Shape{1, 3, 5, 4, 2}), 1e-5, 0);
}

TEST_CASE("discriminator: feature maps per block, keypoint heatmaps as input, spectral norm") {
  Generator gen(10);
  DiscriminatorConfig c;
  c.block_expansion = 8;
  c.max_features = 32;
  c.sn = true;
  c.use_kp = true;
  c.num_kp = 4;
  MultiScaleDiscriminator d(c, gen);
  Tensor img = random_tensor(Shape{2, 3, 64, 64}, 11, 0, 1);
  auto out = d.forward({{"prediction_1", img}}, random_tensor(Shape{2, 4, 2}, 12));
  const auto& o = out.at("prediction_1");
  CHECK(o.features.size() == 4);
  CHECK(o.features[0].shape() == Shape{2, 16, 30, 30});  // 64 - 3 = 61 (4x4, no padding), pooled
  CHECK(o.prediction.shape() == Shape{2, 1, 2, 2});  // 30 -> 27 -> 13 -> 10 -> 5 -> 2 (last block unpooled), 1x1 conv
  CHECK_THROWS_WITH_AS(d.forward({{"prediction_1", img}}), doctest::Contains("use_kp is set"), Error);
  // Spectral norm: after many power iterations the normalised weight has spectral norm ~1.
  SpectralNormConv2d sn(3, 5, 3, 1, gen);
  for (int i = 0; i < 30; ++i) sn.forward(random_tensor(Shape{1, 3, 4, 4}, 13));
  Tensor w = reshape(sn.weight_orig.detach(), {5, -1});
  Tensor wv = matmul(w, reshape(sn.weight_v, {-1, 1}));
  float sigma = sum(reshape(wv, {5}) * sn.weight_u).item();
  // sigma equals the largest singular value: ||W v|| with v the top right singular vector.
  CHECK(sigma == doctest::Approx(std::sqrt(sum(wv * wv).item())).epsilon(1e-4));
}

}  // TEST_SUITE
