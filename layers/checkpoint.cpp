#include "layers/checkpoint.h"

#include "formats/safetensors.h"

namespace anima {
namespace {

NamedTensors with_prefix(const std::string& prefix, const NamedTensors& in) {
  NamedTensors out;
  for (const auto& [n, t] : in) out.emplace_back(prefix + "." + n, t);
  return out;
}

// The entries of `file` under "prefix.", with the prefix removed.
NamedTensors under_prefix(const SafetensorsFile& file, const std::string& prefix) {
  NamedTensors out;
  std::string p = prefix + ".";
  for (const auto& [n, t] : file.tensors)
    if (n.compare(0, p.size(), p) == 0) out.emplace_back(n.substr(p.size()), t);
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointParts& parts,
                     std::map<std::string, std::string> metadata) {
  NamedTensors all;
  for (const auto& [name, m] : parts.modules)
    for (auto& e : with_prefix(name, m->state_dict())) all.push_back(std::move(e));
  for (const auto& [name, o] : parts.optimizers)
    for (auto& e : with_prefix(name, o->state_dict())) all.push_back(std::move(e));
  metadata["format"] = kCheckpointFormat;
  save_safetensors(path, all, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, const CheckpointParts& parts, bool strict) {
  SafetensorsFile file = load_safetensors(path);
  for (const auto& [name, m] : parts.modules) {
    NamedTensors state = under_prefix(file, name);
    ANIMA_CHECK(!state.empty(), path, ": no tensors for module '", name, "'");
    try {
      m->load_state_dict(state, strict);
    } catch (const Error& e) {
      ANIMA_FAIL(path, ": module '", name, "': ", e.what());
    }
  }
  for (const auto& [name, o] : parts.optimizers) {
    try {
      o->load_state_dict(under_prefix(file, name));
    } catch (const Error& e) {
      ANIMA_FAIL(path, ": optimiser '", name, "': ", e.what());
    }
  }
  return file.metadata;
}

}  // namespace anima
