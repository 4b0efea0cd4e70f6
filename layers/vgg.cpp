#include "layers/vgg.h"

#include <algorithm>
#include <cstdio>

#include "formats/tensor_file.h"
#include "tensor/trace.h"

namespace anima {
namespace {

// torchvision's vgg19 "features": conv indices and their channel counts (config "E"), up to the
// conv before relu5_1. ReLUs sit at conv index + 1, max-pools at 4, 9, 18, 27.
struct ConvSpec {
  int index, in, out;
};
const ConvSpec kConvs[] = {{0, 3, 64},     {2, 64, 64},    {5, 64, 128},   {7, 128, 128},  {10, 128, 256},
                           {12, 256, 256}, {14, 256, 256}, {16, 256, 256}, {19, 256, 512}, {21, 512, 512},
                           {23, 512, 512}, {25, 512, 512}, {28, 512, 512}};
const int kPools[] = {4, 9, 18, 27};

// Holder that gives the convs their torchvision names, "features.<index>".
struct Features : Module {
  std::string type_name() const override { return "Sequential"; }
  void add(int index, std::shared_ptr<Conv2d> c) { register_module(std::to_string(index), c); }
};

}  // namespace

Vgg19::Vgg19(Generator& gen) {
  auto features = register_module("features", std::make_shared<Features>());
  for (const ConvSpec& c : kConvs) {
    auto conv = std::make_shared<Conv2d>(c.in, c.out, 3, Conv2d::Options{1, 1}, gen);
    features->add(c.index, conv);
    convs_[c.index] = conv;
  }
  mean = Tensor::from_vector<float>({0.485f, 0.456f, 0.406f}, Shape{1, 3, 1, 1});
  std = Tensor::from_vector<float>({0.229f, 0.224f, 0.225f}, Shape{1, 3, 1, 1});
  register_buffer("mean", &mean);
  register_buffer("std", &std);
  // The extractor is fixed: its parameters never train.
  for (auto& [n, t] : named_parameters()) t.set_requires_grad(false);
}

void Vgg19::load_weights(const std::string& path) {
  // torchvision's file also holds the classifier (most of its 548 MB): only "features." is read.
  SafetensorsFile f =
      load_tensor_file(path, [](const std::string& n) { return n.find("features.") != std::string::npos; });
  // Find the prefix in front of "features.0.weight" (none for torchvision/timm files).
  std::string prefix;
  bool found = false;
  for (const auto& [n, t] : f.tensors) {
    size_t at = n.rfind("features.0.weight");
    if (at != std::string::npos && at + 17 == n.size()) {
      prefix = n.substr(0, at);
      found = true;
      break;
    }
  }
  ANIMA_CHECK(found, path, ": no VGG-19 'features.0.weight' tensor (torchvision/timm naming expected)");
  NamedTensors state;
  std::string missing;
  for (const ConvSpec& c : kConvs)
    for (const char* part : {"weight", "bias"}) {
      std::string name = "features." + std::to_string(c.index) + "." + part;
      const Tensor* t = f.find(prefix + name);
      if (!t) {
        missing += (missing.empty() ? "" : ", ") + prefix + name;
        continue;
      }
      state.emplace_back(name, *t);
    }
  ANIMA_CHECK(missing.empty(), path, ": missing VGG-19 tensors: ", missing);
  state.emplace_back("mean", mean);
  state.emplace_back("std", std);
  Device dev = mean.device();
  for (auto& [n, t] : state) t = raw::to_device(t, dev);
  load_state_dict(state, true);
  pretrained_ = true;
}

std::vector<Tensor> Vgg19::forward(const Tensor& x, const std::vector<std::string>& layers) {
  ANIMA_TRACE("vgg19");
  ANIMA_CHECK(x.dim() == 4 && x.size(1) == 3, "Vgg19: expected RGB input [N, 3, H, W], got ", x.shape().str());
  int last = 0;
  std::map<int, size_t> wanted;
  for (size_t i = 0; i < layers.size(); ++i) {
    int idx = relu_index(layers[i]);
    wanted[idx] = i;
    last = std::max(last, idx);
  }
  std::vector<Tensor> out(layers.size());
  Tensor h = (x - mean) / std;
  for (int index = 0; index <= last; ++index) {
    auto conv = convs_.find(index);
    if (conv != convs_.end()) {
      h = conv->second->forward(h);
    } else if (std::find(std::begin(kPools), std::end(kPools), index) != std::end(kPools)) {
      h = max_pool2d(h, 2, 2);
    } else {  // a ReLU
      h = relu(h);
      auto w = wanted.find(index);
      if (w != wanted.end()) out[w->second] = h;
    }
  }
  return out;
}

PerceptualLoss::PerceptualLoss(std::shared_ptr<Vgg19> vgg, PerceptualLossConfig config) : config_(std::move(config)) {
  ANIMA_CHECK(config_.layers.size() == config_.weights.size(), "PerceptualLoss: ", config_.layers.size(),
              " layers but ", config_.weights.size(), " weights");
  if (!vgg->pretrained())
    std::fprintf(stderr,
                 "WARNING: the perceptual loss uses a VGG-19 with RANDOM (seeded) weights: no weights file "
                 "was loaded (Vgg19::load_weights, anima train --vgg FILE). Losses are not comparable "
                 "with runs that use ImageNet weights.\n");
  vgg_ = register_module("vgg", std::move(vgg));
  pyramid_ = register_module("pyramid", std::make_shared<ImagePyramid>(config_.scales, 3));
}

Tensor PerceptualLoss::forward(const Tensor& generated, const Tensor& real) {
  ANIMA_TRACE("loss.perceptual");
  auto gen_pyr = pyramid_->forward(generated);
  std::map<std::string, Tensor> real_pyr;
  {
    NoGradGuard no_grad;
    real_pyr = pyramid_->forward(real);
  }
  Tensor total;
  for (double s : config_.scales) {
    std::string key = "prediction_" + ImagePyramid::scale_key(s);
    std::vector<Tensor> fg = vgg_->forward(gen_pyr.at(key), config_.layers);
    std::vector<Tensor> fr;
    {
      NoGradGuard no_grad;
      fr = vgg_->forward(real_pyr.at(key), config_.layers);
    }
    for (size_t j = 0; j < fg.size(); ++j) {
      Tensor term = mean_abs_diff(fg[j], fr[j]) * config_.weights[j];
      total = total.defined() ? total + term : term;
    }
  }
  return total;
}

}  // namespace anima
