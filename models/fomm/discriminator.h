// FOMM's discriminator: DownBlock2d's of 4x4 convolutions without padding, instance norm (not on
// the first block), LeakyReLU 0.2, average pooling (not after the last block), a 1x1 conv to one
// channel; optionally keypoint heatmaps concatenated to the input (use_kp) and spectral
// normalisation of every convolution (sn: parameters "weight_orig", buffers "weight_u",
// "weight_v" as torch.nn.utils.spectral_norm). MultiScaleDiscriminator keeps one per scale under
// discs.<scale with '.' -> '-'>.
#pragma once
#include <map>

#include "layers/layers.h"

namespace anima::fomm {

// A conv whose weight is weight_orig / sigma, sigma from power iteration (one step per training
// forward, the vectors kept as buffers), as torch.nn.utils.spectral_norm.
class SpectralNormConv2d : public UnaryModule {
 public:
  SpectralNormConv2d(int64_t in, int64_t out, int kernel, int padding, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  int64_t out_channels() const { return weight_orig.size(0); }
  Tensor weight_orig, bias, weight_u, weight_v;

 private:
  Conv2dParams p_;
};

struct DiscriminatorConfig {
  int64_t num_channels = 3, block_expansion = 64, max_features = 512, num_kp = 10;
  int num_blocks = 4;
  bool sn = false, use_kp = false;
  float kp_variance = 0.01f;
  std::vector<double> scales{1};
};

class DiscriminatorDownBlock : public UnaryModule {
 public:
  DiscriminatorDownBlock(int64_t in, int64_t out, bool norm, bool pool, bool sn, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DownBlock2d"; }
  int64_t out_channels() const;

 private:
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<SpectralNormConv2d> sn_conv_;
  std::shared_ptr<InstanceNorm2d> norm_;
  bool pool_;
};

class Discriminator : public Module {
 public:
  Discriminator(const DiscriminatorConfig& config, Generator& gen);
  // Feature maps of every block and the final prediction map. kp: [N, K, 2] when use_kp.
  struct Output {
    std::vector<Tensor> features;
    Tensor prediction;
  };
  Output forward(const Tensor& x, const Tensor& kp = Tensor());
  std::string type_name() const override { return "Discriminator"; }

 private:
  DiscriminatorConfig cfg_;
  std::shared_ptr<ModuleList<DiscriminatorDownBlock>> down_blocks_;
  std::shared_ptr<UnaryModule> conv_;
};

class MultiScaleDiscriminator : public Module {
 public:
  MultiScaleDiscriminator(const DiscriminatorConfig& config, Generator& gen = default_generator());
  // Keyed by "prediction_<scale>" as FOMM's pyramid; each input must be given.
  std::map<std::string, Discriminator::Output> forward(const std::map<std::string, Tensor>& pyramid,
                                                       const Tensor& kp = Tensor());
  std::string type_name() const override { return "MultiScaleDiscriminator"; }

 private:
  std::vector<std::pair<double, std::shared_ptr<Discriminator>>> discs_;
};

}  // namespace anima::fomm
