#include "tools/train.h"

#include <sys/stat.h>

#include <charconv>
#include <cstring>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "formats/tensor_file.h"
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

// SIGINT, SIGTERM, SIGHUP: the run saves a checkpoint at the end of the step and stops. The
// handler re-arms the default action, so a second signal ends the process at once.
std::atomic<int> g_interrupted{0};
void on_stop_signal(int sig) {
  g_interrupted = sig;
  std::signal(sig, SIG_DFL);
}
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

// A non-negative integer of a checkpoint's metadata, strictly parsed; errors name the file and key.
uint64_t metadata_integer(const std::map<std::string, std::string>& meta, const char* key, const std::string& path,
                          uint64_t most) {
  auto it = meta.find(key);
  ANIMA_CHECK(it != meta.end(), path, ": not a training checkpoint (no '", key, "' in its metadata)");
  const std::string& v = it->second;
  uint64_t x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  ANIMA_CHECK(ec == std::errc() && end == v.data() + v.size() && !v.empty() && x <= most, path, ": metadata '", key,
              "' is '", printable(v.substr(0, 40)), "', not an integer in 0..", most);
  return x;
}

// Where a checkpoint continues a run: its step, epoch and generator state.
struct ResumePoint {
  uint64_t step = 0, epoch = 0, seed = 0, stream = 0;
};
ResumePoint resume_point(const std::string& path) {
  ANIMA_CHECK(!is_pytorch_file(path), path, ": a PyTorch checkpoint holds no anima training state to continue; ",
              "start a new run from its weights with --init-from ", path);
  auto meta = read_safetensors_metadata(path);
  ResumePoint r;
  r.step = metadata_integer(meta, "step", path, uint64_t(1) << 50);
  r.epoch = metadata_integer(meta, "epoch", path, 1u << 30);
  r.seed = metadata_integer(meta, "rng_seed", path, ~uint64_t(0));
  r.stream = metadata_integer(meta, "rng_stream", path, ~uint64_t(0));
  return r;
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream f(path, std::ios::app);
  ANIMA_CHECK(f.good(), path, ": cannot append to the log");
  f << line << "\n";
}

}  // namespace

int train(const TrainOptions& o) {
  // The options only tighten the process's modes (a caller that set them keeps them).
  MathModeScope modes(allow_tf32() && !o.strict_fp32, deterministic() || o.deterministic);
  ANIMA_CHECK(!o.out.empty(), "train: --out is required");
  std::string log = o.out + "/log.txt", ckpt = o.out + "/checkpoint.safetensors";

  // Where the run continues from. The checkpoint's seed governs a resumed run: the data order and
  // the random VGG follow the seed, so another --seed would silently fork it.
  ANIMA_CHECK(!(o.resume && !o.checkpoint.empty()), "train: give --resume (continue the run in ", o.out,
              ") or --checkpoint FILE, not both");
  ANIMA_CHECK(o.init_from.empty() || (!o.resume && o.checkpoint.empty()), "train: --init-from starts a new run from ",
              "a model's weights; --resume and --checkpoint continue a run: give one of them");
  std::string from = o.resume ? ckpt : o.checkpoint;
  ANIMA_CHECK(!o.resume || path_exists(ckpt), "train --resume: ", o.out,
              " holds no checkpoint.safetensors to continue");
  uint64_t seed = o.seed.value_or(0);
  ResumePoint resume;
  if (!from.empty()) {
    resume = resume_point(from);
    ANIMA_CHECK(!o.seed || *o.seed == resume.seed, "train: ", from, " was trained with seed ", resume.seed,
                "; resuming with --seed ", *o.seed, " would fork the run; leave --seed out or give ", resume.seed);
    seed = resume.seed;
  }
  // An existing run folder is continued (--resume, or its own checkpoint) or, with --force, started over.
  bool holds_run = path_exists(log) || path_exists(ckpt);
  if (holds_run && !(!from.empty() && same_file(from, ckpt))) {
    ANIMA_CHECK(o.force, "train: ", o.out, " already holds a run (log.txt or checkpoint.safetensors); --resume ",
                "continues it, --force starts over in it, or choose another --out");
    for (const std::string& f : {log, ckpt, o.out + "/curves.png"}) std::remove(f.c_str());
  }

  std::unique_ptr<ModelConfig> model = load_model_config(o.config);
  RunConfig& cfg = model->run();
  TrainSchedule& schedule = model->schedule();
  if (schedule.deterministic) set_deterministic(true);  // restored when `modes` ends
  if (o.epochs > 0) schedule.num_epochs = o.epochs;
  for (const std::string& w : cfg.warnings) std::fprintf(stderr, "warning: %s: %s\n", o.config.c_str(), w.c_str());
  std::string root = o.data.empty() ? cfg.dataset.root_dir : o.data;
  Device device = resolve_device(o.device, "train");
  if (deterministic() && device.is_cpu()) kernels::cpu_blas_pin_deterministic();  // may re-execute anima
  make_directories(o.out);
  int stale = remove_stale_temp_files(o.out);  // of runs killed while writing
  if (stale > 0)
    std::fprintf(stderr, "train: removed %d temporary file(s) of dead processes in %s\n", stale, o.out.c_str());

  VideoDataset dataset(root, "train", training_dataset_options(cfg.dataset, schedule.num_repeats, seed));

  Generator gen(seed);
  Generator vgen(seed ^ 0x766767u);
  auto vgg = std::make_shared<Vgg19>(vgen);
  if (!o.vgg.empty()) vgg->load_weights(o.vgg);
  std::unique_ptr<Trainer> job = model->make_trainer(vgg, gen, device);

  int64_t step = 0;
  if (!o.init_from.empty()) {  // weights only: a new run (epoch 0, fresh optimisers) starts from them
    WeightsReport r = load_weights(o.init_from, job->checkpoint_parts());
    std::fprintf(stderr, "train: --init-from %s\n", r.summary(o.init_from).c_str());
  }
  if (!from.empty()) {
    load_checkpoint(from, job->checkpoint_parts());
    step = int64_t(resume.step);
    gen.set_state(resume.seed, resume.stream);
  }
  // The config is written once the run is sure to start (a failing checkpoint leaves the folder as it was).
  write_file_atomic(o.out + "/config.yaml", cfg.text);
  if (!path_exists(log)) {
    std::string header = "anima train; commit " + std::string(ANIMA_GIT_COMMIT) + "; " + device_report() + "; " +
                         kernels::cpu_report() + "; " + math_mode_report() + "; device " + device.str() +
                         (device.is_cuda() ? " (" + kernels::cuda_libraries_report() + ")" : std::string()) +
                         "; seed " + std::to_string(seed) + "; data " + root + " (" + std::to_string(dataset.size()) +
                         " videos, " + std::to_string(dataset.skipped()) + " skipped); VGG-19 " +
                         (vgg->pretrained() ? o.vgg : "RANDOM (no weights file)") +
                         (o.init_from.empty() ? "" : "; weights from " + o.init_from) + "\n--- config ---\n" +
                         cfg.text + "--- end config ---";
    std::ofstream(log) << header << "\n";
  }
  if (!from.empty())
    append_line(
        log, "resumed from " + from + " at epoch " + std::to_string(resume.epoch) + ", step " + std::to_string(step));

  TrainLoader loader(dataset, schedule.batch_size, o.workers, 2 * o.workers, device, step);
  int64_t per_epoch = loader.batches_per_epoch();
  int64_t total = per_epoch * schedule.num_epochs;
  if (o.max_steps > total)
    std::fprintf(stderr,
                 "anima train: note: the schedule ends after %lld steps (%d epochs of %lld), before --max-steps "
                 "%lld; --epochs N trains longer\n",
                 (long long)total, schedule.num_epochs, (long long)per_epoch, (long long)o.max_steps);
  if (o.max_steps >= 0) total = std::min(total, o.max_steps);
  int64_t saved_at = -1;  // the step of the last checkpoint written (each step is saved at most once)
  auto save = [&](int epoch) {
    if (saved_at == step) return;
    saved_at = step;
    save_checkpoint(ckpt, job->checkpoint_parts(),
                    {{"step", std::to_string(step)},
                     {"epoch", std::to_string(epoch)},
                     {"config", cfg.text},
                     {"rng_seed", std::to_string(gen.seed())},
                     {"rng_stream", std::to_string(gen.peek_stream())},
                     {"model", model->kind()}});
  };
  g_interrupted = 0;
  struct StopSignals {  // installed for the loop; the caller's handlers come back after it
    void (*previous[3])(int);
    StopSignals() {
      for (int k = 0; k < 3; ++k) previous[k] = std::signal(kStopSignals[k], on_stop_signal);
    }
    ~StopSignals() {
      for (int k = 0; k < 3; ++k) std::signal(kStopSignals[k], previous[k]);
    }
  } stop_signals;
  auto t0 = std::chrono::steady_clock::now();
  int64_t first = step;
  while (step < total) {
    int epoch = int(step / per_epoch);
    job->set_epoch(epoch);
    TrainBatch batch = loader.next();
    for (const std::string& why : batch.skipped) {  // logged when the batch is used: the log stays deterministic
      append_line(log, "step " + std::to_string(step + 1) + ": skipped an unreadable item: " + why);
      std::fprintf(stderr, "\nwarning: step %lld: skipped an unreadable item: %s\n", (long long)(step + 1),
                   why.c_str());
    }
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
      std::fprintf(stderr, "\ninterrupted (%s): checkpoint saved to %s at step %lld\n", strsignal(g_interrupted),
                   ckpt.c_str(), (long long)step);
      return 0;
    }
  }
  save(int(step / per_epoch));  // unless the epoch's end has just saved this step
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
