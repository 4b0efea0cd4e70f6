#include "models/fomm/generator.h"

#include <algorithm>

#include "models/fomm/geometry.h"
#include "tensor/trace.h"

namespace anima::fomm {

DenseMotionNetwork::DenseMotionNetwork(const DenseMotionConfig& c, Generator& gen) : cfg_(c) {
  hourglass =
      register_module("hourglass", std::make_shared<Hourglass>(c.block_expansion, (c.num_kp + 1) * (c.num_channels + 1),
                                                               c.num_blocks, c.max_features, gen));
  mask = register_module(
      "mask", std::make_shared<Conv2d>(hourglass->out_filters(), c.num_kp + 1, 7, Conv2d::Options{1, 3}, gen));
  if (c.estimate_occlusion_map)
    occlusion = register_module("occlusion",
                                std::make_shared<Conv2d>(hourglass->out_filters(), 1, 7, Conv2d::Options{1, 3}, gen));
  if (c.scale_factor != 1)
    down = register_module("down", std::make_shared<AntiAliasInterpolation2d>(c.num_channels, c.scale_factor));
}

Tensor DenseMotionNetwork::sparse_motions(int64_t h, int64_t w, const Keypoints& kd, const Keypoints& ks) const {
  int64_t n = kd.value.size(0), k = kd.value.size(1);
  Tensor identity = reshape(make_coordinate_grid(h, w, kd.value.device()), {1, 1, h, w, 2});
  Tensor grid = identity - reshape(kd.value, {n, k, 1, 1, 2});  // z - p_D
  if (kd.jacobian.defined() && ks.jacobian.defined()) {
    // J = J_S J_D^{-1}, applied to every grid point: (J c)_i = sum_j J_ij c_j.
    Tensor jac = reshape(matmul2x2(ks.jacobian, inverse2x2(kd.jacobian)), {n, k, 1, 1, 2, 2});
    grid = sum(jac * unsqueeze(grid, -2), {-1});
  }
  Tensor to_source = grid + reshape(ks.value, {n, k, 1, 1, 2});
  return concat({expand(identity, Shape{n, 1, h, w, 2}), to_source}, 1);
}

DenseMotion DenseMotionNetwork::forward(const Tensor& source_in, const Keypoints& kd, const Keypoints& ks) {
  ANIMA_TRACE("fomm.dense_motion");
  Tensor source = down ? down->forward(source_in) : source_in;
  int64_t n = source.size(0), c = source.size(1), h = source.size(2), w = source.size(3), k = cfg_.num_kp;
  // Heatmap differences with a zero background channel: [N, K+1, 1, h, w].
  Tensor heat = kp2gaussian(kd.value, h, w, cfg_.kp_variance) - kp2gaussian(ks.value, h, w, cfg_.kp_variance);
  heat = unsqueeze(concat({Tensor::zeros(Shape{n, 1, h, w}, DType::F32, source.device()), heat}, 1), 2);
  Tensor motions = sparse_motions(h, w, kd, ks);  // [N, K+1, h, w, 2]
  // The source warped by each of the K+1 motions.
  Tensor repeated = reshape(expand(unsqueeze(source, 1), Shape{n, k + 1, c, h, w}), {n * (k + 1), c, h, w});
  GridSampleOptions gs;
  gs.align_corners = cfg_.align_corners;
  DenseMotion out;
  out.sparse_deformed =
      reshape(grid_sample(repeated, reshape(motions, {n * (k + 1), h, w, 2}), gs), {n, k + 1, c, h, w});
  Tensor input = reshape(concat({heat, out.sparse_deformed}, 2), {n, -1, h, w});
  Tensor prediction = hourglass->forward(input);
  out.mask = softmax(mask->forward(prediction), 1);
  // Deformation: the mask-weighted sum of the sparse motions.
  out.deformation = sum(motions * unsqueeze(out.mask, -1), {1});  // [N, h, w, 2]
  if (occlusion) out.occlusion_map = sigmoid(occlusion->forward(prediction));
  return out;
}

OcclusionAwareGenerator::OcclusionAwareGenerator(const GeneratorConfig& c, Generator& gen) : cfg_(c) {
  DenseMotionConfig dm = c.dense_motion;
  dm.num_kp = c.num_kp;
  dm.num_channels = c.num_channels;
  dm.estimate_occlusion_map = c.estimate_occlusion_map;
  dm.align_corners = c.align_corners;
  dense_motion_network = register_module("dense_motion_network", std::make_shared<DenseMotionNetwork>(dm, gen));
  first = register_module("first", std::make_shared<SameBlock2d>(c.num_channels, c.block_expansion, 7, 3, gen));
  down_blocks = register_module("down_blocks", std::make_shared<ModuleList<DownBlock2d>>());
  for (int i = 0; i < c.num_down_blocks; ++i)
    down_blocks->append(std::make_shared<DownBlock2d>(std::min(c.max_features, c.block_expansion << i),
                                                      std::min(c.max_features, c.block_expansion << (i + 1)), 3, 1,
                                                      gen));
  up_blocks = register_module("up_blocks", std::make_shared<ModuleList<UpBlock2d>>());
  for (int i = 0; i < c.num_down_blocks; ++i)
    up_blocks->append(std::make_shared<UpBlock2d>(
        std::min(c.max_features, c.block_expansion << (c.num_down_blocks - i)),
        std::min(c.max_features, c.block_expansion << (c.num_down_blocks - i - 1)), 3, 1, gen));
  // The bottleneck's children are named r0, r1, ... (a Sequential with add_module('r' + i)).
  bottleneck = register_module("bottleneck", std::make_shared<Sequential>());
  int64_t features = std::min(c.max_features, c.block_expansion << c.num_down_blocks);
  for (int i = 0; i < c.num_bottleneck_blocks; ++i)
    bottleneck->append_named("r" + std::to_string(i), std::make_shared<ResBlock2d>(features, 3, 1, gen));
  final = register_module("final",
                          std::make_shared<Conv2d>(c.block_expansion, c.num_channels, 7, Conv2d::Options{1, 3}, gen));
}

Tensor OcclusionAwareGenerator::deform(const Tensor& input, const Tensor& deformation) const {
  Tensor d = deformation;
  int64_t h = input.size(2), w = input.size(3);
  if (d.size(1) != h || d.size(2) != w) {
    InterpParams p;
    p.out_h = h;
    p.out_w = w;
    d = permute(interpolate(permute(d, {0, 3, 1, 2}), p), {0, 2, 3, 1});
  }
  GridSampleOptions gs;
  gs.align_corners = cfg_.align_corners;
  return grid_sample(input, d, gs);
}

GeneratorOutput OcclusionAwareGenerator::forward(const Tensor& source, const Keypoints& kd, const Keypoints& ks) {
  ANIMA_TRACE("fomm.generator");
  Tensor out = first->forward(source);
  for (size_t i = 0; i < down_blocks->size(); ++i) out = (*down_blocks)[i].forward(out);
  GeneratorOutput o;
  o.motion = dense_motion_network->forward(source, kd, ks);
  out = deform(out, o.motion.deformation);
  if (o.motion.occlusion_map.defined()) {
    Tensor occ = o.motion.occlusion_map;
    if (occ.size(2) != out.size(2) || occ.size(3) != out.size(3)) {
      InterpParams p;
      p.out_h = out.size(2);
      p.out_w = out.size(3);
      occ = interpolate(occ, p);
    }
    out = out * occ;
  }
  o.deformed = deform(source, o.motion.deformation);
  out = bottleneck->forward(out);
  for (size_t i = 0; i < up_blocks->size(); ++i) out = (*up_blocks)[i].forward(out);
  o.prediction = sigmoid(final->forward(out));
  return o;
}

}  // namespace anima::fomm
