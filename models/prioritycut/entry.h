// The First Order Motion Model's registry entry (models/registry.h). It is assembled here, on
// top of fomm/, because a FOMM config may choose PriorityCut's U-Net discriminator and mixing
// (prioritycut_params): one entry trains both papers' FOMM variants.
#pragma once
#include "models/common/model.h"

namespace anima::prioritycut {

ModelEntry fomm_entry();

}  // namespace anima::prioritycut
