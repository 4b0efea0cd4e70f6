#include "models/prioritycut/unet_discriminator.h"

#include <algorithm>

#include "models/fomm/geometry.h"
#include "tensor/trace.h"

namespace anima::prioritycut {
namespace {

std::shared_ptr<UnaryModule> make_conv(int64_t in, int64_t out, int k, int p, bool sn, Generator& gen) {
  if (sn) return std::make_shared<fomm::SpectralNormConv2d>(in, out, k, p, gen);
  return std::make_shared<Conv2d>(in, out, k, Conv2d::Options{1, p}, gen);
}

}  // namespace

UNetDiscriminator::UNetDiscriminator(const UNetDiscriminatorConfig& c, Generator& gen) : cfg_(c) {
  auto encoder = register_module("encoder", std::make_shared<ModuleDict>());
  auto downs = encoder->add("down_blocks", std::make_shared<ModuleDict>());
  std::vector<int64_t> channels;
  for (int i = 0; i < c.num_blocks; ++i) {
    int64_t in = i == 0 ? c.num_channels + (c.use_kp ? c.num_kp : 0) : channels.back();
    int64_t out = std::min(c.max_features, c.block_expansion << (i + 1));
    auto block = downs->add(std::to_string(i), std::make_shared<ModuleDict>());
    down_conv_.push_back(block->add("conv", make_conv(in, out, 3, 1, c.sn, gen)));
    down_norm_.push_back(i == 0 ? nullptr : block->add("norm", std::make_shared<InstanceNorm2d>(out, true)));
    channels.push_back(out);
  }
  global_head_ = register_module("global_head", make_conv(channels.back(), 1, 1, 0, c.sn, gen));
  auto decoder = register_module("decoder", std::make_shared<ModuleDict>());
  auto ups = decoder->add("up_blocks", std::make_shared<ModuleDict>());
  int64_t in = channels.back();
  for (int i = c.num_blocks - 1; i >= 0; --i) {
    int64_t out = i == 0 ? c.block_expansion : channels[size_t(i - 1)];
    auto block = ups->add(std::to_string(c.num_blocks - 1 - i), std::make_shared<ModuleDict>());
    up_conv_.push_back(block->add("conv", make_conv(in, out, 3, 1, c.sn, gen)));
    up_norm_.push_back(block->add("norm", std::make_shared<InstanceNorm2d>(out, true)));
    // The skip of the next finer level is concatenated after this block.
    in = out + (i == 0 ? c.num_channels + (c.use_kp ? c.num_kp : 0) : channels[size_t(i - 1)]);
  }
  pixel_head_ = register_module("pixel_head", make_conv(in, 1, 1, 0, c.sn, gen));
}

UNetDiscriminator::Output UNetDiscriminator::forward(const Tensor& image, const Tensor& kp) {
  ANIMA_TRACE("prioritycut.unet_discriminator");
  int64_t h = image.size(2), w = image.size(3), step = int64_t(1) << cfg_.num_blocks;
  ANIMA_CHECK(h % step == 0 && w % step == 0, "UNetDiscriminator: input ", image.shape().str(),
              " must have H and W divisible by ", step);
  Tensor x = image;
  if (cfg_.use_kp) {
    ANIMA_CHECK(kp.defined(), "UNetDiscriminator: use_kp is set but no keypoints were given");
    x = concat({x, fomm::kp2gaussian(kp, h, w, cfg_.kp_variance)}, 1);
  }
  Output o;
  std::vector<Tensor> skips{x};
  Tensor out = x;
  for (size_t i = 0; i < down_conv_.size(); ++i) {
    out = down_conv_[i]->forward(out);
    if (down_norm_[i]) out = down_norm_[i]->forward(out);
    out = avg_pool2d(leaky_relu(out, 0.2f), 2);
    o.features.push_back(out);
    skips.push_back(out);
  }
  o.global = mean(global_head_->forward(out), {2, 3});  // [N, 1]
  skips.pop_back();                                     // the bottleneck itself
  for (size_t i = 0; i < up_conv_.size(); ++i) {
    out = leaky_relu(up_norm_[i]->forward(up_conv_[i]->forward(upsample_nearest(out, 2))), 0.2f);
    out = concat({out, skips.back()}, 1);
    skips.pop_back();
  }
  o.pixel = pixel_head_->forward(out);
  return o;
}

}  // namespace anima::prioritycut
