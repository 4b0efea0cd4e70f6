// The one face every model shows the commands (tools/): a parsed config (ModelConfig) that builds
// a Trainer, an Animator loaded from a checkpoint, and prints its networks. The commands reach a
// model only through this face and the registry (models/registry.h): none names a model.
//
//   ModelConfig   the config, parsed once; run() holds the fields every model shares
//   Trainer       one optimisation step -> named scalar terms (losses and diagnostics), the epoch,
//                 the checkpoint parts, the epoch's picture, an Animator over its networks
//   Animator      a source image, then batches of driving frames -> generated frames, and per
//                 generated frame its picture, its reconstruction panel and its intermediates
#pragma once
#include <map>
#include <memory>
#include <string>

#include "formats/safetensors.h"
#include "layers/checkpoint.h"
#include "layers/vgg.h"
#include "models/common/run_config.h"

namespace anima {

// The animation options of `anima animate` / `reconstruct`; a model refuses those it has not
// (naming the option), so a user never gets a silently ignored flag.
struct AnimatorOptions {
  std::string ablation = "full";  // the refined-masking model's test-time ablations
  bool adapt_scale = false;       // FOMM's relative motion: adapt the movement scale
  bool absolute = false;          // FOMM: absolute keypoints instead of relative motion
  int best_frame = 0;             // FOMM: the driving frame relative motion is measured from
};

class Animator {
 public:
  virtual ~Animator() = default;
  // The source image [1, 3, H, W] of the next calls (or one per driving frame, [B, 3, H, W]), and
  // the driving frame [1, 3, H, W] that relative motion is measured from (animation only; a
  // model without relative motion ignores it).
  virtual void set_source(const Tensor& source, const Tensor& reference = Tensor()) = 0;
  // Driving frames [B, 3, H, W] -> generated frames [B, 3, H, W]: animation of another image, or
  // reconstruction of the source's own video (FOMM: absolute keypoints, no reference).
  virtual Tensor animate(const Tensor& driving) = 0;
  virtual Tensor reconstruct(const Tensor& driving) = 0;
  // Frame k of the last call: the model's figure (uint8 [H, W', 3]; keypoints or masks drawn),
  // the panel `reconstruct` writes per frame, and the intermediates `--save-intermediates` saves.
  virtual Tensor figure(int64_t k) = 0;
  virtual Tensor reconstruction_panel(int64_t k) = 0;
  virtual NamedTensors intermediates(int64_t k) = 0;
  virtual std::map<std::string, std::string> intermediates_metadata() const { return {}; }
  // For messages: "fomm", "refined-mask, no_pert".
  virtual std::string label() const = 0;
  // The first driving frame of a reconstruction by the model's paper (FOMM 0, refined-mask 1).
  virtual int64_t first_reconstructed_frame() const = 0;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // The epoch of the next steps (learning rates, terms that start later).
  virtual void set_epoch(int epoch) = 0;
  // Forward, backward and optimiser steps on one batch ([B, 3, H, W] each); the scalar terms to
  // log, still on the device: the losses and the model's diagnostics.
  virtual std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) = 0;
  // The picture of the last step (uint8 [H, W, 3]), written once per epoch.
  virtual Tensor visualize(const Tensor& source, const Tensor& driving) = 0;
  virtual CheckpointParts checkpoint_parts() = 0;
  // The first epoch in which every loss term runs (what `bench model` times).
  virtual int all_terms_epoch() const = 0;
  // An Animator over the trainer's networks, switched to inference (eval mode).
  virtual std::unique_ptr<Animator> animator() = 0;
};

class ModelConfig {
 public:
  virtual ~ModelConfig() = default;
  // The registry name (the config's `model:` key and the checkpoint's "model" metadata).
  virtual const char* kind() const = 0;
  virtual RunConfig& run() = 0;
  virtual TrainSchedule& schedule() = 0;
  const RunConfig& run() const { return const_cast<ModelConfig*>(this)->run(); }
  // vgg: the perceptual loss's network (loaded or random); gen: the run's generator (the draws of
  // the initialisation and of the step, in this order).
  virtual std::unique_ptr<Trainer> make_trainer(std::shared_ptr<Vgg19> vgg, Generator& gen, Device device) const = 0;
  // The model of this config with the weights of `checkpoint`, in eval mode on `device`.
  virtual std::unique_ptr<Animator> load_animator(const std::string& checkpoint, Device device,
                                                  const AnimatorOptions& options) const = 0;
  // Prints the networks (parameter counts; with `all`, every tensor's name and shape).
  virtual void inspect(bool all) const = 0;
};

// A model's line in the registry (models/registry.h).
struct ModelEntry {
  const char* name;            // the `model:` key's value and the checkpoint's "model" metadata
  const char* title;           // for help texts
  const char* example_config;  // a small config of the model (configs/...), e.g. for `bench model`
  std::unique_ptr<ModelConfig> (*parse)(const std::string& yaml_text, const std::string& what);
};

// What `inspect` prints of one network.
void print_module_summary(const char* name, const Module& module, bool all);

}  // namespace anima
