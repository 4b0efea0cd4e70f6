#include "tools/train.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "kernels/cuda_libraries.h"
#include "kernels/math_mode.h"
#include "models/registry.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"
#include "tools/plot.h"

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

}  // namespace

int train(const TrainOptions& o) {
  // The options only tighten the process's modes (a caller that set them keeps them).
  MathModeScope modes(allow_tf32() && !o.strict_fp32, deterministic() || o.deterministic);
  std::unique_ptr<ModelConfig> model = load_model_config(o.config);
  RunConfig& cfg = model->run();
  TrainSchedule& schedule = model->schedule();
  if (o.epochs > 0) schedule.num_epochs = o.epochs;
  for (const std::string& w : cfg.warnings) std::fprintf(stderr, "warning: %s: %s\n", o.config.c_str(), w.c_str());
  std::string root = o.data.empty() ? cfg.dataset.root_dir : o.data;
  Device device = resolve_device(o.device, "train");
  ANIMA_CHECK(!o.out.empty(), "train: --out is required");
  make_directories(o.out);
  write_file_atomic(o.out + "/config.yaml", cfg.text);
  std::string log = o.out + "/log.txt", ckpt = o.out + "/checkpoint.safetensors";

  VideoDataset dataset(root, "train", training_dataset_options(cfg.dataset, schedule.num_repeats, o.seed));

  Generator gen(o.seed);
  Generator vgen(o.seed ^ 0x766767u);
  auto vgg = std::make_shared<Vgg19>(vgen);
  if (!o.vgg.empty()) vgg->load_weights(o.vgg);
  std::unique_ptr<Trainer> job = model->make_trainer(vgg, gen, device);

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
    std::string header = "anima train; commit " + std::string(ANIMA_GIT_COMMIT) + "; " + device_report() + "; " +
                         kernels::cpu_report() + "; " + math_mode_report() + "; device " + device.str() +
                         (device.is_cuda() ? " (" + kernels::cuda_libraries_report() + ")" : std::string()) +
                         "; seed " + std::to_string(o.seed) + "; data " + root + " (" + std::to_string(dataset.size()) +
                         " videos, " + std::to_string(dataset.skipped()) + " skipped); VGG-19 " +
                         (vgg->pretrained() ? o.vgg : "RANDOM (no weights file)") + "\n--- config ---\n" + cfg.text +
                         "--- end config ---";
    std::ofstream(log) << header << "\n";
  }

  TrainLoader loader(dataset, schedule.batch_size, o.workers, 2 * o.workers, device, step);
  int64_t per_epoch = loader.batches_per_epoch();
  int64_t total = per_epoch * schedule.num_epochs;
  if (o.max_steps > total)
    std::fprintf(stderr,
                 "anima train: note: the schedule ends after %lld steps (%d epochs of %lld), before --max-steps "
                 "%lld; --epochs N trains longer\n",
                 (long long)total, schedule.num_epochs, (long long)per_epoch, (long long)o.max_steps);
  if (o.max_steps >= 0) total = std::min(total, o.max_steps);
  auto save = [&](int epoch) {
    save_checkpoint(ckpt, job->checkpoint_parts(),
                    {{"step", std::to_string(step)},
                     {"epoch", std::to_string(epoch)},
                     {"config", cfg.text},
                     {"rng_seed", std::to_string(gen.seed())},
                     {"rng_stream", std::to_string(gen.peek_stream())},
                     {"model", model->kind()}});
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
    if (epoch_end && (epoch + 1) % schedule.checkpoint_freq == 0) save(epoch + 1);
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
