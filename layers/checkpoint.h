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
  // Name prefixes a file may hold that these modules never use (the refined-masking authors'
  // "generator.down_blocks."): dropped with a note instead of failing a strict load.
  std::vector<std::string> unused = {};
};

void save_checkpoint(const std::string& path, const CheckpointParts& parts,
                     std::map<std::string, std::string> metadata = {});

// How many checkpoints this process has written (for tests: a step is saved once).
int64_t checkpoints_written();

// Loads every listed part (strictly: missing/unexpected/mis-shaped tensors are one error naming
// them all) and returns the metadata. The file may be an anima checkpoint or, for modules only, a
// PyTorch checkpoint with the official state-dict names (formats/tensor_file.h).
std::map<std::string, std::string> load_checkpoint(const std::string& path, const CheckpointParts& parts,
                                                   bool strict = true);

// What load_weights found.
struct WeightsReport {
  std::vector<std::string> loaded, absent;  // module names: loaded strictly / not in the file
  size_t unread = 0;                        // tensors of other parts (optimiser states, ...) left unread
  size_t dropped = 0;                       // tensors under parts.unused prefixes
  std::map<std::string, std::string> metadata;
  std::string summary(const std::string& path) const;  // one line for the user
};
// The module weights a file holds (anima or PyTorch checkpoint; optimisers ignored): each listed
// module the file has tensors for is loaded strictly; a module it lacks keeps its weights.
WeightsReport load_weights(const std::string& path, const CheckpointParts& parts);

}  // namespace anima
