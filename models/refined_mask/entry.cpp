#include "models/refined_mask/entry.h"

#include <cstdio>

#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "models/refined_mask/animator.h"
#include "models/refined_mask/visualize.h"

namespace anima::refined_mask {
namespace {

class RefinedMaskTrainerFace : public Trainer {
 public:
  RefinedMaskTrainerFace(const RefinedMaskConfig& config, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device)
      : trainer_(config, std::move(vgg), gen, device), refinement_start_(config.train.refinement_start_epoch) {}
  void set_epoch(int epoch) override { trainer_.set_epoch(epoch); }
  // Besides the losses, the driving masks' health: their mean, and their spread (mean absolute
  // deviation from each mask's own mean). A spread near 0 is a constant mask, the collapse that
  // makes the low-res generator blind to the pose (bench/REPRODUCTION.md).
  std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) override {
    TrainStep s = trainer_.step(source, driving);
    std::map<std::string, Tensor> out = s.losses;
    Tensor m = s.driving_mask.detach();
    out["mask_mean"] = kernels::mean(m);
    out["mask_spread"] = kernels::mean_abs_diff(m, kernels::expand(kernels::mean(m, {1, 2, 3}, true), m.shape()));
    return out;
  }
  Tensor visualize(const Tensor& source, const Tensor& driving) override {
    return visualize_refined_mask(trainer_.model, source, driving);
  }
  CheckpointParts checkpoint_parts() override { return trainer_.checkpoint_parts(); }
  int all_terms_epoch() const override { return refinement_start_; }  // r trains from it on
  std::unique_ptr<Animator> animator() override {
    trainer_.model.train(false);
    // shares the trainer's model, which outlives the animator (a non-owning pointer)
    return std::make_unique<RefinedMaskAnimator>(
        std::shared_ptr<RefinedMaskModel>(std::shared_ptr<void>(), &trainer_.model), Ablation::Full);
  }

 private:
  RefinedMaskTrainer trainer_;
  int refinement_start_;
};

class RefinedMaskModelConfig : public ModelConfig {
 public:
  explicit RefinedMaskModelConfig(RefinedMaskConfig c) : c_(std::move(c)) {}
  const char* kind() const override { return "refined_mask"; }
  RunConfig& run() override { return c_; }
  TrainSchedule& schedule() override { return c_.train; }
  std::unique_ptr<Trainer> make_trainer(std::shared_ptr<Vgg19> vgg, Generator& gen, Device device) const override {
    return std::make_unique<RefinedMaskTrainerFace>(c_, std::move(vgg), gen, device);
  }
  std::unique_ptr<Animator> load_animator(const std::string& checkpoint, Device device,
                                          const AnimatorOptions& options) const override {
    return refined_mask::load_animator(c_, checkpoint, device, options);
  }
  void inspect(bool all) const override {
    Generator gen(0);
    RefinedMaskModel model(c_, gen);
    print_module_summary("mask_generator (m)", *model.mask_generator, all);
    print_module_summary("generator (l, r, h)", *model.generator, all);
    for (char net : {'l', 'r', 'h'}) {
      int64_t count = 0;
      for (const auto& [name, t] : model.generator->named_parameters())
        for (const auto& p : RefinedMaskGenerator::prefixes(net))
          if (name.rfind(p, 0) == 0) count += t.numel();
      std::printf("  of which %c: %lld parameters\n", net, (long long)count);
    }
  }

 private:
  RefinedMaskConfig c_;
};

std::unique_ptr<ModelConfig> parse(const std::string& text, const std::string& what) {
  return std::make_unique<RefinedMaskModelConfig>(parse_refined_mask_config(text, what));
}

}  // namespace

ModelEntry model_entry() {
  return {"refined_mask", "Image Animation with Refined Masking (m, r, l, h)", "configs/refined-mask-shapes-64.yaml",
          parse};
}

}  // namespace anima::refined_mask
