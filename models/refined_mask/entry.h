// The refined-masking model's registry entry (models/registry.h).
#pragma once
#include "models/common/model.h"

namespace anima::refined_mask {

ModelEntry model_entry();

}  // namespace anima::refined_mask
