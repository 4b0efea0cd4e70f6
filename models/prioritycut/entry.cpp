#include "models/prioritycut/entry.h"

#include "models/fomm/animator.h"
#include "models/fomm/visualize.h"
#include "models/prioritycut/discriminator_step.h"

namespace anima::prioritycut {
namespace {

class FommTrainerFace : public Trainer {
 public:
  FommTrainerFace(const PriorityCutConfig& config, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device)
      : config_(config), trainer_(make_trainer(config, std::move(vgg), gen, device)) {}
  void set_epoch(int epoch) override { trainer_->set_epoch(epoch); }
  std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) override {
    last_ = trainer_->step(source, driving);
    std::map<std::string, Tensor> terms = last_.losses;
    if (last_.discriminator_loss.defined()) terms["disc_gan"] = last_.discriminator_loss;
    return terms;
  }
  Tensor visualize(const Tensor& source, const Tensor& driving) override {
    return fomm::visualize_step(source, driving, last_, trainer_->last_mix_mask());
  }
  CheckpointParts checkpoint_parts() override { return trainer_->checkpoint_parts(); }
  int all_terms_epoch() const override { return config_.params.warmup_epochs; }  // mixing starts after it
  std::unique_ptr<Animator> animator() override {
    trainer_->kp_detector->eval();
    trainer_->generator->eval();
    return std::make_unique<fomm::FommAnimator>(trainer_->kp_detector, trainer_->generator,
                                                fomm::animation_normalization(config_.fomm, {}, "the trainer"));
  }

 private:
  PriorityCutConfig config_;
  std::unique_ptr<fomm::FommTrainer> trainer_;
  fomm::StepOutput last_;
};

class FommModelConfig : public ModelConfig {
 public:
  explicit FommModelConfig(PriorityCutConfig c) : c_(std::move(c)) {}
  const char* kind() const override { return "fomm"; }
  RunConfig& run() override { return c_.fomm; }
  TrainSchedule& schedule() override { return c_.fomm.train; }
  std::unique_ptr<Trainer> make_trainer(std::shared_ptr<Vgg19> vgg, Generator& gen, Device device) const override {
    return std::make_unique<FommTrainerFace>(c_, std::move(vgg), gen, device);
  }
  std::unique_ptr<Animator> load_animator(const std::string& checkpoint, Device device,
                                          const AnimatorOptions& options) const override {
    return fomm::load_animator(c_.fomm, checkpoint, device, options);
  }
  void inspect(bool all) const override {
    Generator gen(0);
    print_module_summary("kp_detector", fomm::KPDetector(c_.fomm.kp_detector, gen), all);
    print_module_summary("generator", fomm::OcclusionAwareGenerator(c_.fomm.generator, gen), all);
    // the discriminator the config trains: FOMM's multi-scale one, or PriorityCut's U-Net
    auto disc = fomm::make_discriminator_step(c_.fomm, gen, discriminator_factory(c_));
    print_module_summary("discriminator", disc->network(), all);
  }

 private:
  PriorityCutConfig c_;
};

std::unique_ptr<ModelConfig> parse(const std::string& text, const std::string& what) {
  return std::make_unique<FommModelConfig>(parse_prioritycut_config(text, what));
}

}  // namespace

ModelEntry fomm_entry() {
  return {"fomm", "First Order Motion Model (FOMM's multi-scale or PriorityCut's U-Net discriminator)",
          "configs/fomm-shapes-64.yaml", parse};
}

}  // namespace anima::prioritycut
