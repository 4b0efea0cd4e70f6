#include "layers/blocks.h"

#include <algorithm>

namespace anima {

namespace {
std::shared_ptr<Conv2d> make_conv(int64_t in, int64_t out, int k, int p, Generator& gen) {
  return std::make_shared<Conv2d>(in, out, k, Conv2d::Options{1, p}, gen);
}
}  // namespace

DownBlock2d::DownBlock2d(int64_t in, int64_t out, int k, int p, Generator& gen, bool relu_before_norm)
    : relu_before_norm_(relu_before_norm) {
  conv = register_module("conv", make_conv(in, out, k, p, gen));
  norm = register_module("norm", std::make_shared<BatchNorm2d>(out));
}
Tensor DownBlock2d::forward(const Tensor& x) {
  Tensor h = conv->forward(x);
  h = relu_before_norm_ ? norm->forward(relu(h)) : relu(norm->forward(h));
  return avg_pool2d(h, 2);
}

UpBlock2d::UpBlock2d(int64_t in, int64_t out, int k, int p, Generator& gen) {
  conv = register_module("conv", make_conv(in, out, k, p, gen));
  norm = register_module("norm", std::make_shared<BatchNorm2d>(out));
}
Tensor UpBlock2d::forward(const Tensor& x) { return relu(norm->forward(conv->forward(upsample_nearest(x, 2)))); }

SameBlock2d::SameBlock2d(int64_t in, int64_t out, int k, int p, Generator& gen) {
  conv = register_module("conv", make_conv(in, out, k, p, gen));
  norm = register_module("norm", std::make_shared<BatchNorm2d>(out));
}
Tensor SameBlock2d::forward(const Tensor& x) { return relu(norm->forward(conv->forward(x))); }

ResBlock2d::ResBlock2d(int64_t f, int k, int p, Generator& gen) {
  conv1 = register_module("conv1", make_conv(f, f, k, p, gen));
  conv2 = register_module("conv2", make_conv(f, f, k, p, gen));
  norm1 = register_module("norm1", std::make_shared<BatchNorm2d>(f));
  norm2 = register_module("norm2", std::make_shared<BatchNorm2d>(f));
}
Tensor ResBlock2d::forward(const Tensor& x) {
  Tensor h = conv1->forward(relu(norm1->forward(x)));
  return x + conv2->forward(relu(norm2->forward(h)));
}

Encoder::Encoder(int64_t be, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
                 const HourglassOptions& o) {
  down_blocks = register_module("down_blocks", std::make_shared<ModuleList<DownBlock2d>>());
  for (int i = 0; i < num_blocks; ++i) {
    int64_t in = i == 0 ? in_features : std::min(max_features, be << i);
    down_blocks->append(
        std::make_shared<DownBlock2d>(in, std::min(max_features, be << (i + 1)), 3, 1, gen, o.relu_before_norm));
  }
}
std::vector<Tensor> Encoder::forward(const Tensor& x) {
  std::vector<Tensor> outs{x};
  for (size_t i = 0; i < down_blocks->size(); ++i) outs.push_back((*down_blocks)[i].forward(outs.back()));
  return outs;
}

Decoder::Decoder(int64_t be, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
                 const HourglassOptions& o)
    : skips_(o.skip_connections) {
  up_blocks = register_module("up_blocks", std::make_shared<ModuleList<UpBlock2d>>());
  for (int i = num_blocks - 1; i >= 0; --i) {
    int64_t in = (i == num_blocks - 1 || !skips_ ? 1 : 2) * std::min(max_features, be << (i + 1));
    up_blocks->append(std::make_shared<UpBlock2d>(in, std::min(max_features, be << i), 3, 1, gen));
  }
  out_filters_ = skips_ ? be + in_features : be;
}
Tensor Decoder::forward(std::vector<Tensor> skips) {
  Tensor out = skips.back();
  skips.pop_back();
  for (size_t i = 0; i < up_blocks->size(); ++i) {
    out = (*up_blocks)[i].forward(out);
    if (skips_) out = concat({out, skips.back()}, 1);
    skips.pop_back();
  }
  return out;
}

Hourglass::Hourglass(int64_t be, int64_t in_features, int num_blocks, int64_t max_features, Generator& gen,
                     const HourglassOptions& o) {
  encoder = register_module("encoder", std::make_shared<Encoder>(be, in_features, num_blocks, max_features, gen, o));
  decoder = register_module("decoder", std::make_shared<Decoder>(be, in_features, num_blocks, max_features, gen, o));
}
Tensor Hourglass::forward(const Tensor& x) { return decoder->forward(encoder->forward(x)); }

}  // namespace anima
