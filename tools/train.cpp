#include "tools/train.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "data/dataset.h"
#include "data/loader.h"
#include "kernels/cpu_blas.h"
#include "kernels/cuda_libraries.h"
#include "kernels/elementwise.h"
#include "kernels/math_mode.h"
#include "kernels/reduce.h"
#include "models/fomm/full_model.h"
#include "models/prioritycut/discriminator_step.h"
#include "models/refined_mask/model.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"
#include "tools/plot.h"
#include "tools/visualize.h"
#include "tools/visualize_refined.h"
#include "data/image_io.h"

#ifndef ANIMA_GIT_COMMIT
#define ANIMA_GIT_COMMIT "unknown"
#endif

namespace anima::tools {
namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

void append_line(const std::string& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  ANIMA_CHECK(f.good(), path, ": cannot append to the log");
  f << line << "\n";
}

// What the loop needs from a model: the same loop trains both papers' models.
struct TrainJob {
  virtual ~TrainJob() = default;
  virtual void set_epoch(int epoch) = 0;
  // One step on a batch; the loss terms to log (scalars, still on the device).
  virtual std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) = 0;
  // The picture of the last step.
  virtual Tensor visualize(const Tensor& source, const Tensor& driving) = 0;
  virtual CheckpointParts checkpoint_parts() = 0;
};

struct FommJob : TrainJob {
  FommJob(const prioritycut::PriorityCutConfig& cfg, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device)
      : trainer_ptr(prioritycut::make_trainer(cfg, std::move(vgg), gen, device)), trainer(*trainer_ptr) {}
  void set_epoch(int epoch) override { trainer.set_epoch(epoch); }
  std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) override {
    last = trainer.step(source, driving);
    std::map<std::string, Tensor> losses = last.losses;
    if (last.discriminator_loss.defined()) losses["disc_gan"] = last.discriminator_loss;
    return losses;
  }
  Tensor visualize(const Tensor& source, const Tensor& driving) override {
    return visualize_step(source, driving, last, trainer.last_mix_mask());
  }
  CheckpointParts checkpoint_parts() override { return trainer.checkpoint_parts(); }
  std::unique_ptr<fomm::FommTrainer> trainer_ptr;
  fomm::FommTrainer& trainer;
  fomm::StepOutput last;
};

struct RefinedMaskJob : TrainJob {
  RefinedMaskJob(const refined_mask::RefinedMaskConfig& cfg, std::shared_ptr<Vgg19> vgg, Generator& gen, Device device)
      : trainer(cfg, std::move(vgg), gen, device) {}
  void set_epoch(int epoch) override { trainer.set_epoch(epoch); }
  // Besides the losses, the driving masks' health: their mean, and their spread (mean absolute
  // deviation from each mask's own mean). A spread near 0 is a constant mask, the collapse that
  // makes the low-res generator blind to the pose (bench/REPRODUCTION.md).
  std::map<std::string, Tensor> step(const Tensor& source, const Tensor& driving) override {
    refined_mask::TrainStep s = trainer.step(source, driving);
    std::map<std::string, Tensor> out = s.losses;
    Tensor m = s.driving_mask.detach();
    out["mask_mean"] = kernels::mean(m);
    out["mask_spread"] = kernels::mean_abs_diff(m, kernels::expand(kernels::mean(m, {1, 2, 3}, true), m.shape()));
    return out;
  }
  Tensor visualize(const Tensor& source, const Tensor& driving) override {
    return visualize_refined_mask(trainer.model, source, driving);
  }
  CheckpointParts checkpoint_parts() override { return trainer.checkpoint_parts(); }
  refined_mask::RefinedMaskTrainer trainer;
};

// The parts of both configs that the loop uses.
struct LoopConfig {
  std::string kind, text;
  DatasetParams dataset;
  int num_epochs = 0, num_repeats = 1, batch_size = 1, checkpoint_freq = 1;
};

}  // namespace

int train(const TrainOptions& o) {
  // The options only tighten the process's modes (a caller that set them keeps them).
  MathModeScope modes(allow_tf32() && !o.strict_fp32, deterministic() || o.deterministic);
  std::string text = read_file_bytes(o.config);
  LoopConfig cfg;
  cfg.kind = refined_mask::config_model_kind(text, o.config);
  cfg.text = text;
  prioritycut::PriorityCutConfig fcfg;  // FOMM, with or without PriorityCut's discriminator
  refined_mask::RefinedMaskConfig rcfg;
  std::vector<std::string> warnings;
  auto take = [&](auto& c) {  // both configs name these fields alike
    if (o.epochs > 0) c.train.num_epochs = o.epochs;
    cfg.dataset = c.dataset;
    cfg.num_epochs = c.train.num_epochs, cfg.num_repeats = c.train.num_repeats;
    cfg.batch_size = c.train.batch_size, cfg.checkpoint_freq = c.train.checkpoint_freq;
    warnings = c.warnings;
  };
  if (cfg.kind == "fomm") {
    fcfg = prioritycut::parse_prioritycut_config(text, o.config);
    take(fcfg.fomm);
  } else {
    rcfg = refined_mask::parse_refined_mask_config(text, o.config);
    take(rcfg);
  }
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s: %s\n", o.config.c_str(), w.c_str());
  std::string root = o.data.empty() ? cfg.dataset.root_dir : o.data;
  Device device = resolve_device(o.device, "train");
  ANIMA_CHECK(!o.out.empty(), "train: --out is required");
  make_directories(o.out);
  write_file_atomic(o.out + "/config.yaml", cfg.text);
  std::string log = o.out + "/log.txt", ckpt = o.out + "/checkpoint.safetensors";

  DatasetOptions d;
  d.frame_h = cfg.dataset.frame_shape[0];
  d.frame_w = cfg.dataset.frame_shape[1];
  d.id_sampling = cfg.dataset.id_sampling;
  d.num_repeats = cfg.num_repeats;
  d.horizontal_flip = cfg.dataset.horizontal_flip;
  d.time_flip = cfg.dataset.time_flip;
  d.brightness = cfg.dataset.brightness;
  d.contrast = cfg.dataset.contrast;
  d.saturation = cfg.dataset.saturation;
  d.hue = cfg.dataset.hue;
  if (!cfg.dataset.resize_ratio.empty()) {
    d.resize_crop.resize = true;
    d.resize_crop.ratio_lo = cfg.dataset.resize_ratio[0];
    d.resize_crop.ratio_hi = cfg.dataset.resize_ratio[1];
  }
  if (!cfg.dataset.crop_size.empty()) {
    d.resize_crop.crop_h = cfg.dataset.crop_size[0];
    d.resize_crop.crop_w = cfg.dataset.crop_size[1];
  }
  d.seed = o.seed;
  VideoDataset dataset(root, "train", d);

  Generator gen(o.seed);
  Generator vgen(o.seed ^ 0x766767u);
  auto vgg = std::make_shared<Vgg19>(vgen);
  if (!o.vgg.empty()) vgg->load_weights(o.vgg);
  std::unique_ptr<TrainJob> job;
  if (cfg.kind == "fomm")
    job = std::make_unique<FommJob>(fcfg, vgg, gen, device);
  else
    job = std::make_unique<RefinedMaskJob>(rcfg, vgg, gen, device);

  int64_t step = 0;
  int start_epoch = 0;
  if (!o.checkpoint.empty()) {
    auto meta = load_checkpoint(o.checkpoint, job->checkpoint_parts());
    step = std::stoll(meta.at("step"));
    start_epoch = std::stoi(meta.at("epoch"));
    gen.set_state(std::stoull(meta.at("rng_seed")), std::stoull(meta.at("rng_stream")));
    append_line(log, "resumed from " + o.checkpoint + " at epoch " + std::to_string(start_epoch) + ", step " +
                         std::to_string(step));
  } else {
    std::string header = "anima train; commit " + std::string(ANIMA_GIT_COMMIT) + "; " + device_report() + "; " + kernels::cpu_report() + "; " +
                         math_mode_report() + "; device " + device.str() +
                         (device.is_cuda() ? " (" + kernels::cuda_libraries_report() + ")" : std::string()) + "; seed " + std::to_string(o.seed) + "; data " + root + " (" +
                         std::to_string(dataset.size()) + " videos, " + std::to_string(dataset.skipped()) +
                         " skipped); VGG-19 " + (vgg->pretrained() ? o.vgg : "RANDOM (no weights file)") +
                         "\n--- config ---\n" + cfg.text + "--- end config ---";
    std::ofstream(log) << header << "\n";
  }

  TrainLoader loader(dataset, cfg.batch_size, o.workers, 2 * o.workers, device, step);
  int64_t per_epoch = loader.batches_per_epoch();
  int64_t total = per_epoch * cfg.num_epochs;
  if (o.max_steps > total)
    std::fprintf(stderr,
                 "anima train: note: the schedule ends after %lld steps (%d epochs of %lld), before --max-steps "
                 "%lld; --epochs N trains longer\n",
                 (long long)total, cfg.num_epochs, (long long)per_epoch, (long long)o.max_steps);
  if (o.max_steps >= 0) total = std::min(total, o.max_steps);
  auto save = [&](int epoch) {
    save_checkpoint(ckpt, job->checkpoint_parts(),
                    {{"step", std::to_string(step)}, {"epoch", std::to_string(epoch)}, {"config", cfg.text},
                     {"rng_seed", std::to_string(gen.seed())}, {"rng_stream", std::to_string(gen.peek_stream())},
                     {"model", cfg.kind}});
  };
  std::signal(SIGINT, on_sigint);
  auto t0 = std::chrono::steady_clock::now();
  int64_t first = step;
  while (step < total) {
    int epoch = int(step / per_epoch);
    job->set_epoch(epoch);
    TrainBatch batch = loader.next();
    std::map<std::string, Tensor> losses = job->step(batch.source, batch.driving);
    ++step;
    bool epoch_end = step % per_epoch == 0;
    if (step % o.log_every == 0 || epoch_end || step == total) {
      // The only host reads of the step: the loss values, every log_every steps.
      std::string line = "epoch " + std::to_string(epoch) + " step " + std::to_string(step);
      for (auto& [name, v] : losses) {
        float value = v.item();
        ANIMA_CHECK(std::isfinite(value), "train: loss term '", name, "' is ", value, " at step ", step,
                    "; stopping (the last checkpoint is kept)");
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.5f", name.c_str(), value);
        line += buf;
      }
      append_line(log, line);
      if (!o.quiet) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double rate = double(step - first) / std::max(s, 1e-9);
        std::fprintf(stderr, "\r[train] step %lld/%lld  epoch %d  %.2f steps/s  ETA %.0f s   ", (long long)step,
                     (long long)total, epoch, rate, double(total - step) / std::max(rate, 1e-9));
      }
    }
    if (epoch_end || step == total) {  // the epoch's picture: the last batch's inputs and outputs
      make_directories(o.out + "/vis");
      char name[48];
      std::snprintf(name, sizeof name, "/vis/epoch_%04d.png", epoch);
      write_image(o.out + name, job->visualize(batch.source, batch.driving));
      plot_log_file(log, o.out + "/curves.png");
    }
    if (epoch_end && (epoch + 1) % cfg.checkpoint_freq == 0) save(epoch + 1);
    if (g_interrupted) {
      save(int(step / per_epoch));
      std::fprintf(stderr, "\ninterrupted: checkpoint saved to %s at step %lld\n", ckpt.c_str(), (long long)step);
      std::signal(SIGINT, SIG_DFL);
      return 0;
    }
  }
  save(int(step / per_epoch));
  std::signal(SIGINT, SIG_DFL);
  if (!o.quiet) std::fprintf(stderr, "\n");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The rate (stdout only: the log stays a pure function of config and seed) includes the data
  // loading, logging, pictures and checkpoints of the run.
  std::printf("train: %lld steps done (%lld in %.1f s, %.2f steps/s); checkpoint %s, log %s\n", (long long)step,
              (long long)(step - first), seconds, double(step - first) / std::max(seconds, 1e-9), ckpt.c_str(),
              log.c_str());
  return 0;
}

}  // namespace anima::tools
