// `anima convert IN --config CONFIG.yaml --out OUT.safetensors`: a PyTorch checkpoint (the official
// First Order Motion Model files, the refined-masking authors' checkpoints) or an anima checkpoint
// into an anima checkpoint of the model CONFIG builds, names and shapes checked strictly, the
// config stored in it (so `animate --checkpoint OUT` needs nothing else). Without --config, a
// VGG-19 weights file (torchvision's vgg19-dcbb9e9d.pth) becomes the safetensors file --vgg takes.
#pragma once
#include <string>

namespace anima::tools {

struct ConvertOptions {
  std::string in, config, out;
};

int convert(const ConvertOptions& o);

}  // namespace anima::tools
