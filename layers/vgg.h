// VGG-19 feature extractor up to relu5_1 (torchvision's `features` indices 0..29), with the
// ImageNet mean/std normalisation of FOMM's Vgg19, and the perceptual pyramid loss.
//
// Parameters are named as torchvision's state_dict ("features.0.weight", ..., "features.28.bias"),
// which timm's vgg19 also uses; weight files may carry a prefix ("vgg.", "model.", ...), which
// the loader strips, and classifier/head tensors, which it ignores.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/anti_alias.h"
#include "layers/layers.h"

namespace anima {

class Vgg19 : public Module {
 public:
  // Random (seeded) weights until load_weights is called.
  explicit Vgg19(Generator& gen = default_generator());
  // Loads the 13 conv layers (up to conv5_1)' weights from a safetensors file (torchvision or timm names,
  // optional prefix); throws naming the file and the missing tensors.
  void load_weights(const std::string& path);
  bool pretrained() const { return pretrained_; }

  // Features at the requested ReLU layers ("relu1_1", "relu1_2", "relu2_1", ... "relu5_1"), in
  // the order given. Input: RGB in [0, 1], [N, 3, H, W].
  std::vector<Tensor> forward(const Tensor& x, const std::vector<std::string>& layers);

  // torchvision index of the ReLU named e.g. "relu3_1" (throws for unknown names).
  static int relu_index(const std::string& name);
  std::string type_name() const override { return "Vgg19"; }

  Tensor mean, std;  // buffers [1, 3, 1, 1]

 private:
  std::map<int, std::shared_ptr<Conv2d>> convs_;  // torchvision feature index -> conv
  bool pretrained_ = false;
};

// Perceptual pyramid loss: sum over scales s and layers j of w_j * mean|N_j(a_s) - N_j(b_s)|,
// with b's features computed without gradient and one fused reduction per term.
struct PerceptualLossConfig {
  std::vector<double> scales{1, 0.5, 0.25, 0.125};
  std::vector<std::string> layers{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
  std::vector<float> weights{10, 10, 10, 10, 10};
};

class PerceptualLoss : public Module {
 public:
  PerceptualLoss(std::shared_ptr<Vgg19> vgg, PerceptualLossConfig config);
  Tensor forward(const Tensor& generated, const Tensor& real);
  std::string type_name() const override { return "PerceptualLoss"; }

 private:
  std::shared_ptr<Vgg19> vgg_;
  std::shared_ptr<ImagePyramid> pyramid_;
  PerceptualLossConfig config_;
};

}  // namespace anima
