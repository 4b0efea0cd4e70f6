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
#include "models/fomm/full_model.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"
#include "tools/plot.h"
#include "tools/visualize.h"
#include "data/image_io.h"

#ifndef ANIMA_GIT_COMMIT
#define ANIMA_GIT_COMMIT "unknown"
#endif

namespace anima::tools {
namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

Device pick_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? Device::cuda() : Device::cpu();
  Device d = parse_device(name);
  if (d.is_cuda()) require_cuda("train");
  return d;
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  ANIMA_CHECK(f.good(), path, ": cannot append to the log");
  f << line << "\n";
}

}  // namespace

int train(const TrainOptions& o) {
  fomm::FommConfig cfg = fomm::load_fomm_config(o.config);
  for (const std::string& w : cfg.warnings) std::fprintf(stderr, "warning: %s: %s\n", o.config.c_str(), w.c_str());
  if (o.epochs > 0) cfg.train.num_epochs = o.epochs;
  std::string root = o.data.empty() ? cfg.dataset.root_dir : o.data;
  Device device = pick_device(o.device);
  ANIMA_CHECK(!o.out.empty(), "train: --out is required");
  ::mkdir(o.out.c_str(), 0755);
  write_file_atomic(o.out + "/config.yaml", cfg.text);
  std::string log = o.out + "/log.txt", ckpt = o.out + "/checkpoint.safetensors";

  DatasetOptions d;
  d.frame_h = cfg.dataset.frame_shape[0];
  d.frame_w = cfg.dataset.frame_shape[1];
  d.id_sampling = cfg.dataset.id_sampling;
  d.num_repeats = cfg.train.num_repeats;
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
  fomm::FommTrainer trainer(cfg, vgg, gen, device);

  int64_t step = 0;
  int start_epoch = 0;
  if (!o.checkpoint.empty()) {
    auto meta = load_checkpoint(o.checkpoint, trainer.checkpoint_parts());
    step = std::stoll(meta.at("step"));
    start_epoch = std::stoi(meta.at("epoch"));
    gen.set_state(std::stoull(meta.at("rng_seed")), std::stoull(meta.at("rng_stream")));
    append_line(log, "resumed from " + o.checkpoint + " at epoch " + std::to_string(start_epoch) + ", step " +
                         std::to_string(step));
  } else {
    std::string header = "anima train; commit " + std::string(ANIMA_GIT_COMMIT) + "; " + device_report() + "; device " +
                         device.str() + "; seed " + std::to_string(o.seed) + "; data " + root + " (" +
                         std::to_string(dataset.size()) + " videos, " + std::to_string(dataset.skipped()) +
                         " skipped); VGG-19 " + (vgg->pretrained() ? o.vgg : "RANDOM (no weights file)") +
                         "\n--- config ---\n" + cfg.text + "--- end config ---";
    std::ofstream(log) << header << "\n";
  }

  TrainLoader loader(dataset, cfg.train.batch_size, o.workers, 2 * o.workers, device, step);
  int64_t per_epoch = loader.batches_per_epoch();
  int64_t total = per_epoch * cfg.train.num_epochs;
  if (o.max_steps >= 0) total = std::min(total, o.max_steps);
  auto save = [&](int epoch) {
    save_checkpoint(ckpt, trainer.checkpoint_parts(),
                    {{"step", std::to_string(step)}, {"epoch", std::to_string(epoch)}, {"config", cfg.text},
                     {"rng_seed", std::to_string(gen.seed())}, {"rng_stream", std::to_string(gen.peek_stream())},
                     {"model", "fomm"}});
  };
  std::signal(SIGINT, on_sigint);
  auto t0 = std::chrono::steady_clock::now();
  int64_t first = step;
  while (step < total) {
    int epoch = int(step / per_epoch);
    trainer.set_epoch(epoch);
    TrainBatch batch = loader.next();
    fomm::StepOutput out = trainer.step(batch.source, batch.driving);
    ++step;
    bool epoch_end = step % per_epoch == 0;
    if (step % o.log_every == 0 || epoch_end || step == total) {
      // The only host reads of the step: the loss values, every log_every steps.
      std::string line = "epoch " + std::to_string(epoch) + " step " + std::to_string(step);
      for (auto& [name, v] : out.losses) {
        float value = v.item();
        ANIMA_CHECK(std::isfinite(value), "train: loss term '", name, "' is ", value, " at step ", step,
                    "; stopping (the last checkpoint is kept)");
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.5f", name.c_str(), value);
        line += buf;
      }
      if (out.discriminator_loss.defined()) {
        float value = out.discriminator_loss.item();
        ANIMA_CHECK(std::isfinite(value), "train: loss term 'disc_gan' is ", value, " at step ", step, "; stopping");
        char buf[64];
        std::snprintf(buf, sizeof buf, " disc_gan %.5f", value);
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
      ::mkdir((o.out + "/vis").c_str(), 0755);
      char name[48];
      std::snprintf(name, sizeof name, "/vis/epoch_%04d.png", epoch);
      write_image(o.out + name, visualize_step(batch.source, batch.driving, out, trainer.last_mix_mask));
      plot_log_file(log, o.out + "/curves.png");
    }
    if (epoch_end && (epoch + 1) % cfg.train.checkpoint_freq == 0) save(epoch + 1);
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
  std::printf("train: %lld steps done; checkpoint %s, log %s\n", (long long)step, ckpt.c_str(), log.c_str());
  return 0;
}

}  // namespace anima::tools
