// The building blocks of the First Order Motion Model (Siarohin et al. 2019), with the official
// module names so that converted checkpoints load by name:
//   DownBlock2d (conv, norm, pool), UpBlock2d (conv, norm), SameBlock2d (conv, norm),
//   ResBlock2d (conv1, conv2, norm1, norm2), Encoder (down_blocks), Decoder (up_blocks),
//   Hourglass (encoder, decoder).
// The refined-masking model reuses them with two variations (HourglassOptions): its encoding
// blocks put the ReLU before the batch norm (the paper's appendix A), and its mask networks'
// decoders have no skip connections (the released code's HourglassNoRes).
#pragma once
#include <memory>
#include <vector>

#include "layers/layers.h"

namespace anima {

// Variations of the encoder-decoder (the defaults are the First Order Motion Model's).
struct HourglassOptions {
  bool relu_before_norm = false;  // encoding block conv -> ReLU -> BatchNorm -> pool
  bool skip_connections = true;   // false: the decoder ignores the encoder's intermediate outputs
};

// conv 3x3 (or k, padding p) -> BatchNorm -> ReLU -> AvgPool 2x2
// (relu_before_norm: conv -> ReLU -> BatchNorm -> AvgPool)
class DownBlock2d : public UnaryModule {
 public:
  DownBlock2d(int64_t in, int64_t out, int kernel, int padding, Generator& gen, bool relu_before_norm = false);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DownBlock2d"; }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> norm;

 private:
  bool relu_before_norm_;
};

// nearest upsample x2 -> conv -> BatchNorm -> ReLU
class UpBlock2d : public UnaryModule {
 public:
  UpBlock2d(int64_t in, int64_t out, int kernel, int padding, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "UpBlock2d"; }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> norm;
};

// conv -> BatchNorm -> ReLU, same resolution
class SameBlock2d : public UnaryModule {
 public:
  SameBlock2d(int64_t in, int64_t out, int kernel, int padding, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SameBlock2d"; }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> norm;
};

// x + conv2(relu(norm2(conv1(relu(norm1(x))))))
class ResBlock2d : public UnaryModule {
 public:
  ResBlock2d(int64_t features, int kernel, int padding, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResBlock2d"; }
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> norm1, norm2;
};

class Encoder : public Module {
 public:
  Encoder(int64_t block_expansion, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
          const HourglassOptions& options = {});
  // [x, down1(x), down2(down1(x)), ...]
  std::vector<Tensor> forward(const Tensor& x);
  std::string type_name() const override { return "Encoder"; }
  std::shared_ptr<ModuleList<DownBlock2d>> down_blocks;
};

class Decoder : public Module {
 public:
  Decoder(int64_t block_expansion, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
          const HourglassOptions& options = {});
  // Consumes the encoder's list from the deepest level, concatenating each skip connection
  // (without skip connections: only the deepest level is used).
  Tensor forward(std::vector<Tensor> skips);
  int64_t out_filters() const { return out_filters_; }
  std::string type_name() const override { return "Decoder"; }
  std::shared_ptr<ModuleList<UpBlock2d>> up_blocks;

 private:
  int64_t out_filters_;
  bool skips_;
};

class Hourglass : public UnaryModule {
 public:
  Hourglass(int64_t block_expansion, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
            const HourglassOptions& options = {});
  Tensor forward(const Tensor& x) override;
  int64_t out_filters() const { return decoder->out_filters(); }
  std::string type_name() const override { return "Hourglass"; }
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Decoder> decoder;
};

}  // namespace anima
