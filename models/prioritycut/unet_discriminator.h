// The U-Net discriminator of PriorityCut (Tang et al.), designed here because the paper's
// appendix is not available. Choices, in the spirit of FOMM's discriminator and the U-Net GAN
// (Schönfeld et al. 2020):
// - encoder: num_blocks down blocks, each conv 3x3 (padding 1, so the decoder's skips align),
//   instance norm with affine parameters (not on the first block), LeakyReLU 0.2, average
//   pooling 2x2; channels block_expansion * 2^(i+1), capped at max_features; spectral
//   normalisation of every convolution when sn is set; optional keypoint heatmaps as extra input
//   channels (use_kp), as FOMM's discriminator;
// - global head: a 1x1 convolution on the bottleneck, averaged over space: one real/fake score
//   per image ([N, 1]);
// - decoder: per level, nearest upsampling x2, conv 3x3, instance norm, LeakyReLU 0.2, then the
//   encoder's feature map of that resolution concatenated (U-Net skip); a final 1x1 convolution
//   gives a per-pixel score at the input resolution ([N, 1, H, W]);
// - loss: least squares (LSGAN, as FOMM) on both heads; see prioritycut/losses.h.
// Names: encoder.down_blocks.<i>.{conv,norm}, global_head, decoder.up_blocks.<i>.{conv,norm},
// pixel_head (with spectral norm: ....weight_orig, weight_u, weight_v).
#pragma once
#include <memory>

#include "models/fomm/discriminator.h"

namespace anima::prioritycut {

struct UNetDiscriminatorConfig {
  int64_t num_channels = 3, block_expansion = 64, max_features = 512, num_kp = 10;
  int num_blocks = 4;
  bool sn = true, use_kp = false;
  float kp_variance = 0.01f;
};

class UNetDiscriminator : public Module {
 public:
  UNetDiscriminator(const UNetDiscriminatorConfig& config, Generator& gen = default_generator());
  struct Output {
    Tensor global;                 // [N, 1]
    Tensor pixel;                  // [N, 1, H, W]
    std::vector<Tensor> features;  // encoder feature maps (for feature matching)
  };
  // H and W must be divisible by 2^num_blocks.
  Output forward(const Tensor& image, const Tensor& kp = Tensor());
  std::string type_name() const override { return "UNetDiscriminator"; }

 private:
  UNetDiscriminatorConfig cfg_;
  std::vector<std::shared_ptr<UnaryModule>> down_conv_, up_conv_;
  std::vector<std::shared_ptr<InstanceNorm2d>> down_norm_, up_norm_;
  std::shared_ptr<UnaryModule> global_head_, pixel_head_;
};

}  // namespace anima::prioritycut
