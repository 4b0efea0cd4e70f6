// `anima inspect`: a checkpoint's tensors and metadata, or a config's networks (parameter counts
// and shapes).
#pragma once
#include <string>

namespace anima::tools {

int inspect(const std::string& path, bool all);

}  // namespace anima::tools
