// The table of models. The commands find a config's model here (its top-level `model:` key;
// absent: the first entry, the First Order Motion Model, so the official configs read as they
// are) and reach it only through its face (models/common/model.h). Adding a model: a folder
// under models/ that implements the face, and one line in models/registry.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/common/model.h"

namespace anima {

const std::vector<ModelEntry>& model_registry();
// By name; '-' may stand for '_' ("refined-mask"). Unknown: an error listing the names.
const ModelEntry& find_model(const std::string& name, const std::string& what);
// The entry of a config text (its `model:` key); errors name `what`.
const ModelEntry& config_model(const std::string& yaml_text, const std::string& what);
std::unique_ptr<ModelConfig> parse_model_config(const std::string& yaml_text, const std::string& what);
std::unique_ptr<ModelConfig> load_model_config(const std::string& path);

}  // namespace anima
