#include "tools/inspect.h"

#include <cstdio>

#include "formats/tensor_file.h"
#include "models/registry.h"

namespace anima::tools {

int inspect(const std::string& path, bool all) {
  bool yaml = path.size() > 5 && (path.substr(path.size() - 5) == ".yaml" || path.substr(path.size() - 4) == ".yml");
  if (yaml) {
    std::unique_ptr<ModelConfig> model = load_model_config(path);
    for (const std::string& w : model->run().warnings) std::printf("warning: %s\n", w.c_str());
    model->inspect(all);
    return 0;
  }
  SafetensorsFile f = load_tensor_file(path);
  std::printf("%s: %zu tensors\n", path.c_str(), f.tensors.size());
  for (const auto& [k, v] : f.metadata) {
    std::string shown = v.size() > 60 ? v.substr(0, 57) + "..." : v;
    for (char& ch : shown)
      if (ch == '\n') ch = ' ';
    std::printf("  metadata %-16s %s\n", printable(k).c_str(), printable(shown).c_str());
  }
  int64_t total = 0;
  for (const auto& [n, t] : f.tensors) {
    total += t.numel();
    std::printf("  %-70s %-20s %s\n", n.c_str(), t.shape().str().c_str(),
                (f.stored_dtypes.count(n) ? f.stored_dtypes.at(n) : std::string(dtype_name(t.dtype()))).c_str());
  }
  std::printf("  total elements: %lld\n", (long long)total);
  return 0;
}

}  // namespace anima::tools
