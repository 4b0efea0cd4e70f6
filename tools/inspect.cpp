#include "tools/inspect.h"

#include <cstdio>

#include "formats/safetensors.h"
#include "models/fomm/config.h"
#include "models/prioritycut/discriminator_step.h"
#include "models/refined_mask/model.h"
#include "tensor/file_util.h"

namespace anima::tools {
namespace {

void print_module(const char* name, const Module& m, bool all) {
  std::printf("%s: %lld parameters\n", name, (long long)m.parameter_count());
  if (!all) return;
  for (const auto& [n, t] : m.state_dict())
    std::printf("  %-70s %-20s %s\n", n.c_str(), t.shape().str().c_str(), dtype_name(t.dtype()));
}

}  // namespace

int inspect(const std::string& path, bool all) {
  bool yaml = path.size() > 5 && (path.substr(path.size() - 5) == ".yaml" || path.substr(path.size() - 4) == ".yml");
  if (yaml) {
    if (refined_mask::config_model_kind(read_file_bytes(path), path) == "refined_mask") {
      refined_mask::RefinedMaskConfig c = refined_mask::load_refined_mask_config(path);
      for (const std::string& w : c.warnings) std::printf("warning: %s\n", w.c_str());
      Generator gen(0);
      refined_mask::RefinedMaskModel model(c, gen);
      print_module("mask_generator (m)", *model.mask_generator, all);
      print_module("generator (l, r, h)", *model.generator, all);
      for (char net : {'l', 'r', 'h'}) {
        int64_t count = 0;
        for (const auto& [name, t] : model.generator->named_parameters())
          for (const auto& p : refined_mask::RefinedMaskGenerator::prefixes(net))
            if (name.rfind(p, 0) == 0) count += t.numel();
        std::printf("  of which %c: %lld parameters\n", net, (long long)count);
      }
      return 0;
    }
    prioritycut::PriorityCutConfig pc = prioritycut::load_prioritycut_config(path);
    const fomm::FommConfig& c = pc.fomm;
    for (const std::string& w : c.warnings) std::printf("warning: %s\n", w.c_str());
    Generator gen(0);
    print_module("kp_detector", fomm::KPDetector(c.kp_detector, gen), all);
    print_module("generator", fomm::OcclusionAwareGenerator(c.generator, gen), all);
    // the discriminator the config trains: FOMM's multi-scale one, or PriorityCut's U-Net
    auto disc = fomm::make_discriminator_step(c, gen, prioritycut::discriminator_factory(pc));
    print_module("discriminator", disc->network(), all);
    return 0;
  }
  SafetensorsFile f = load_safetensors(path);
  std::printf("%s: %zu tensors\n", path.c_str(), f.tensors.size());
  for (const auto& [k, v] : f.metadata) {
    std::string shown = v.size() > 60 ? v.substr(0, 57) + "..." : v;
    for (char& ch : shown)
      if (ch == '\n') ch = ' ';
    std::printf("  metadata %-16s %s\n", k.c_str(), shown.c_str());
  }
  int64_t total = 0;
  for (const auto& [n, t] : f.tensors) {
    total += t.numel();
    std::printf("  %-70s %-20s %s\n", n.c_str(), t.shape().str().c_str(), f.stored_dtypes.at(n).c_str());
  }
  std::printf("  total elements: %lld\n", (long long)total);
  return 0;
}

}  // namespace anima::tools
