#include "tools/convert.h"

#include <cstdio>

#include "formats/safetensors.h"
#include "formats/tensor_file.h"
#include "layers/checkpoint.h"
#include "layers/vgg.h"
#include "models/registry.h"
#include "tensor/file_util.h"

namespace anima::tools {
namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int convert_vgg(const ConvertOptions& o) {
  Vgg19 vgg;
  vgg.load_weights(o.in);  // names and shapes checked; only the 16 convolutions are kept
  save_safetensors(o.out, vgg.state_dict(), {{"converted_from", base_name(o.in)}, {"content", "vgg19 features"}});
  std::printf("convert: %s -> %s: VGG-19 features (%zu tensors)\n", o.in.c_str(), o.out.c_str(),
              vgg.state_dict().size());
  return 0;
}

}  // namespace

int convert(const ConvertOptions& o) {
  ANIMA_CHECK(!o.out.empty(), "convert: --out is required");
  ANIMA_CHECK(!same_file(o.in, o.out), "convert: --out ", o.out, " is the input file");
  if (o.config.empty()) {
    // A weights file that is not a model checkpoint: the VGG-19 of the perceptual loss.
    try {
      return convert_vgg(o);
    } catch (const Error& e) {
      ANIMA_FAIL("convert: ", e.what(),
                 "\n  (without --config only VGG-19 weights convert; a model checkpoint needs the config it was "
                 "trained with: --config)");
    }
  }
  std::unique_ptr<ModelConfig> model = load_model_config(o.config);
  for (const std::string& w : model->run().warnings)
    std::fprintf(stderr, "warning: %s: %s\n", o.config.c_str(), w.c_str());
  Generator gen(0);
  auto vgg = std::make_shared<Vgg19>(gen);  // the trainer wants one; none of it is written
  std::unique_ptr<Trainer> trainer = model->make_trainer(vgg, gen, Device::cpu());
  CheckpointParts parts = trainer->checkpoint_parts();
  WeightsReport r = load_weights(o.in, parts);
  std::printf("convert: %s\n", r.summary(o.in).c_str());
  CheckpointParts out;
  for (const auto& [name, m] : parts.modules)
    for (const std::string& loaded : r.loaded)
      if (loaded == name) out.modules.emplace_back(name, m);
  auto epoch = r.metadata.find("epoch");
  save_checkpoint(o.out, out,
                  {{"model", model->kind()},
                   {"config", model->run().text},
                   {"converted_from", base_name(o.in)},
                   {"epoch", epoch == r.metadata.end() ? "0" : epoch->second},
                   {"step", "0"}});
  size_t tensors = 0;
  for (const auto& [name, m] : out.modules) tensors += m->state_dict().size();
  std::printf("convert: wrote %s (%zu tensors, model %s, config %s stored)\n", o.out.c_str(), tensors, model->kind(),
              o.config.c_str());
  return 0;
}

}  // namespace anima::tools
