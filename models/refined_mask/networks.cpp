#include "models/refined_mask/networks.h"

#include <algorithm>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "tensor/trace.h"

namespace anima::refined_mask {
namespace {

HourglassOptions hourglass_options(const ModelParams& p, bool skips) {
  HourglassOptions o;
  o.relu_before_norm = p.encoder_block == EncoderBlock::Paper;
  o.skip_connections = skips;
  return o;
}

std::shared_ptr<Hourglass> make_hourglass(const HourglassParams& h, int64_t in, const ModelParams& p, bool skips,
                                          Generator& gen) {
  return std::make_shared<Hourglass>(h.block_expansion, in, h.num_blocks, h.max_features, gen,
                                     hourglass_options(p, skips));
}

std::shared_ptr<Conv2d> conv7(int64_t in, int64_t out, int pad, Generator& gen) {
  return std::make_shared<Conv2d>(in, out, 7, Conv2d::Options{1, pad}, gen);
}

}  // namespace

MaskGenerator::MaskGenerator(const ModelParams& p, Generator& gen)
    : temperature_(p.mask_generator.temperature), pad_(p.mask_pad) {
  predictor = register_module(
      "predictor", make_hourglass(p.mask_generator, p.num_channels, p, p.mask_generator.skip_connections, gen));
  ref = register_module("ref", conv7(predictor->out_filters(), 1, p.mask_pad, gen));
  if (p.mask_scale != 1)
    down = register_module("down", std::make_shared<AntiAliasInterpolation2d>(p.num_channels, p.mask_scale));
}

Tensor MaskGenerator::forward(const Tensor& image) {
  ANIMA_TRACE("refined_mask.m");
  Tensor x = down ? down->forward(image) : image;
  Tensor mask = sigmoid(ref->forward(predictor->forward(x)) * (1.f / temperature_));
  // Without padding the 7x7 conv loses 3 - pad pixels per side; the code zero-pads them back.
  int lost = 3 - pad_;
  return lost > 0 ? pad2d(mask, lost, lost, lost, lost, 0.f) : mask;
}

RefinedMaskGenerator::RefinedMaskGenerator(const ModelParams& p, Generator& gen)
    : refinement_temperature_(p.refinement.temperature) {
  const auto& l = p.low_res;
  auto width = [&](int i) { return std::min(l.max_features, l.block_expansion << i); };
  int64_t c = p.num_channels;
  first = register_module("first", std::make_shared<SameBlock2d>(c + 2, width(l.num_up_blocks), 7, 3, gen));
  up_blocks = register_module("up_blocks", std::make_shared<ModuleList<UpBlock2d>>());
  for (int i = 0; i < l.num_up_blocks; ++i)
    up_blocks->append(
        std::make_shared<UpBlock2d>(width(l.num_up_blocks - i), width(l.num_up_blocks - i - 1), 3, 1, gen));
  bottleneck = register_module("bottleneck", std::make_shared<Sequential>());
  for (int i = 0; i < l.num_bottleneck_blocks; ++i)
    bottleneck->append_named("r" + std::to_string(i), std::make_shared<ResBlock2d>(width(l.num_up_blocks), 3, 1, gen));
  final = register_module("final", conv7(width(0), c, 3, gen));
  hourglass = register_module("hourglass", make_hourglass(p.high_res, 2 * c + 2, p, true, gen));
  mask_fix_net =
      register_module("mask_fix_net", make_hourglass(p.refinement, c + 2, p, p.refinement.skip_connections, gen));
  ref = register_module("ref", conv7(mask_fix_net->out_filters(), 1, 3, gen));
  final_hourglass = register_module("final_hourglass", conv7(hourglass->out_filters(), c, 3, gen));
}

std::vector<std::string> RefinedMaskGenerator::prefixes(char network) {
  switch (network) {
    case 'l':
      return {"first.", "up_blocks.", "bottleneck.", "final."};
    case 'r':
      return {"mask_fix_net.", "ref."};
    case 'h':
      return {"hourglass.", "final_hourglass."};
  }
  ANIMA_FAIL("RefinedMaskGenerator::prefixes: network must be l, r or h, got '", network, "'");
}

Tensor RefinedMaskGenerator::refine(const Tensor& source_small, const Tensor& source_mask, const Tensor& perturbed) {
  ANIMA_TRACE("refined_mask.r");
  Tensor x = concat({source_small, source_mask, perturbed}, 1);
  return sigmoid(ref->forward(mask_fix_net->forward(x)) * (1.f / refinement_temperature_));
}

Tensor RefinedMaskGenerator::low_res(const Tensor& source_small, const Tensor& source_mask,
                                     const Tensor& driving_mask) {
  ANIMA_TRACE("refined_mask.l");
  Tensor x = bottleneck->forward(first->forward(concat({source_small, source_mask, driving_mask}, 1)));
  for (size_t i = 0; i < up_blocks->size(); ++i) x = (*up_blocks)[i].forward(x);
  return sigmoid(final->forward(x));
}

Tensor RefinedMaskGenerator::high_res(const Tensor& source, const Tensor& source_mask_up, const Tensor& coarse,
                                      const Tensor& driving_mask_up) {
  ANIMA_TRACE("refined_mask.h");
  Tensor x = concat({source, source_mask_up, coarse, driving_mask_up}, 1);
  return sigmoid(final_hourglass->forward(hourglass->forward(x)));
}

}  // namespace anima::refined_mask
