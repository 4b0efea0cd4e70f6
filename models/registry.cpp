#include "models/registry.h"

#include "models/common/config_section.h"
#include "models/prioritycut/entry.h"
#include "models/refined_mask/entry.h"
#include "tensor/file_util.h"

namespace anima {

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> table = {
      prioritycut::fomm_entry(),  // first: a config without `model:` is a FOMM one
      refined_mask::model_entry(),
  };
  return table;
}

namespace {
std::string names() {
  std::string out;
  for (const ModelEntry& e : model_registry()) out += std::string(out.empty() ? "" : ", ") + e.name;
  return out;
}
}  // namespace

const ModelEntry& find_model(const std::string& name, const std::string& what) {
  std::string key = name;
  for (char& c : key)
    if (c == '-') c = '_';
  for (const ModelEntry& e : model_registry())
    if (key == e.name) return e;
  ANIMA_FAIL(what, ": 'model' must be one of ", names(), "; got '", name, "'");
}

const ModelEntry& config_model(const std::string& text, const std::string& what) {
  YAML::Node root = ConfigSection::load_root(text, what);
  if (!root["model"].IsDefined() || root["model"].IsNull()) return model_registry().front();
  ANIMA_CHECK(root["model"].IsScalar(), what, ": 'model' must be one of ", names());
  return find_model(root["model"].Scalar(), what);
}

std::unique_ptr<ModelConfig> parse_model_config(const std::string& text, const std::string& what) {
  return config_model(text, what).parse(text, what);
}

std::unique_ptr<ModelConfig> load_model_config(const std::string& path) {
  return parse_model_config(read_file_bytes(path), path);
}

}  // namespace anima
