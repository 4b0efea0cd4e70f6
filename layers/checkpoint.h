// Training checkpoints: one safetensors file holding several modules and optimisers, plus
// string metadata (step, epoch, config text, RNG state, ...).
//   module "generator"           -> tensors "generator.<state_dict name>"
//   optimiser "optimizer_generator" -> "optimizer_generator.<param>.exp_avg", ..., ".step"
// The file is written atomically, so a run killed while saving keeps its previous checkpoint.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "layers/optim.h"

namespace anima {

constexpr const char* kCheckpointFormat = "anima-checkpoint-1";

struct CheckpointParts {
  std::vector<std::pair<std::string, Module*>> modules;
  std::vector<std::pair<std::string, Adam*>> optimizers;
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts,
                     std::map<std::string, std::string> metadata = {});

// How many checkpoints this process has written (for tests: a step is saved once).
int64_t checkpoints_written();

// Loads every listed part (strictly: missing/unexpected/mis-shaped tensors are one error naming
// them all) and returns the metadata.
std::map<std::string, std::string> load_checkpoint(const std::string& path, const CheckpointParts& parts,
                                                   bool strict = true);

}  // namespace anima
