#include "tools/animate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "autograd/grad_mode.h"
#include "data/dataset.h"
#include "data/frame_io.h"
#include "data/image_io.h"
#include "data/video_io.h"
#include "formats/tensor_file.h"
#include "kernels/elementwise.h"
#include "kernels/shape_ops.h"
#include "models/registry.h"
#include "tensor/allocator.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"

namespace anima::tools {
namespace {

// A checkpoint's model with its config (--config, else the stored one), after checking that the
// two agree on the model.
struct Loaded {
  std::unique_ptr<ModelConfig> config;
  std::unique_ptr<Animator> animator;
  Device device;
  int64_t h = 0, w = 0;
};

Loaded load(const std::string& checkpoint, const std::string& config, const std::string& device_name,
            const AnimatorOptions& options, const char* command) {
  Loaded m;
  auto [text, what] = model_config_text(checkpoint, config);
  m.config = parse_model_config(text, what);
  auto meta = read_tensor_file_metadata(checkpoint);
  auto stored = meta.find("model");
  ANIMA_CHECK(stored == meta.end() || stored->second == m.config->kind(), command, ": ", checkpoint, " holds a '",
              stored == meta.end() ? "" : stored->second, "' model, but ", what, " describes a '", m.config->kind(),
              "' one");
  m.device = resolve_device(device_name, command);
  m.h = m.config->run().frame_h();
  m.w = m.config->run().frame_w();
  m.animator = m.config->load_animator(checkpoint, m.device, options);
  return m;
}

AnimatorOptions animator_options(const AnimateOptions& o) {
  AnimatorOptions a;
  a.ablation = o.ablation;
  a.adapt_scale = o.adapt_scale;
  a.absolute = o.no_relative;
  a.best_frame = o.best_frame;
  return a;
}

// Animates `source` with `count` driving frames (frame(i) -> [1, 3, h, w] on the device), o.batch
// at a time; the written frames go to `out_frames`, the figure rows of the frames in `grid_at`
// to `grid_rows`, the intermediates to o.save_intermediates.
// Animates the driving frames `drv` ([B, 3, h, w]; frames first.. of the video) and hands each
// written frame to `out`; the figures of the frames in `grid_at` go to `grid_rows`, the
// intermediates to o.save_intermediates.
void animate_batch(const AnimateOptions& o, Animator& animator, const Tensor& source, const Tensor& drv, int64_t first,
                   FrameWriter& out, const std::vector<int64_t>& grid_at, std::vector<Tensor>& grid_rows) {
  Tensor pred = animator.animate(drv);
  for (int64_t k = 0; k < drv.size(0); ++k) {
    Tensor f;
    if (o.figure_row) {
      f = animator.figure(k);
    } else {
      f = frame_to_image(kernels::slice(pred, 0, k, k + 1));
      if (o.side_by_side)
        f = kernels::concat({frame_to_image(source), frame_to_image(kernels::slice(drv, 0, k, k + 1)), f}, 1);
    }
    out.add(f);
    if (std::count(grid_at.begin(), grid_at.end(), first + k)) grid_rows.push_back(animator.figure(k));
    if (o.save_intermediates.empty()) continue;
    char name[48];
    std::snprintf(name, sizeof name, "/frame_%05lld.safetensors", (long long)(first + k));
    save_safetensors(o.save_intermediates + name, animator.intermediates(k), animator.intermediates_metadata());
  }
}

int animate_pairs(const AnimateOptions& o) {
  ANIMA_CHECK(
      o.source.empty() && o.driving.empty() && o.grid.empty() && o.save_intermediates.empty(),
      "animate --pairs: give no --source, --driving, --grid or --save-intermediates (the pairs name the videos)");
  NoGradGuard no_grad;
  Loaded m = load(o.checkpoint, o.config, o.device, animator_options(o), "animate");
  const RunConfig& run = m.config->run();
  DatasetOptions d;
  d.frame_h = m.h;
  d.frame_w = m.w;
  VideoDataset test(o.data.empty() ? run.dataset.root_dir : o.data, "test", d);
  std::string csv = !o.pairs.empty() ? o.pairs : run.dataset.pairs_list;
  int64_t n = o.num_pairs >= 0 ? o.num_pairs : run.animate_num_pairs;
  std::vector<std::pair<int64_t, int64_t>> pairs =
      csv.empty() ? random_animation_pairs(test, n, 0) : animation_pairs_from_csv(test, csv);
  if (int64_t(pairs.size()) > n) pairs.resize(size_t(n));
  make_directories(o.out);
  std::string ext = built_with_video() ? ".mp4" : "";
  std::ostringstream list;
  list << "source,driving,output\n";
  for (auto [s, t] : pairs) {
    const std::string &src_name = test.videos()[size_t(s)].name, &drv_name = test.videos()[size_t(t)].name;
    Tensor source = raw::to_device(kernels::slice(test.load_video(s), 0, 0, 1), m.device);
    Tensor driving = raw::to_device(test.load_video(t), m.device);
    m.animator->set_source(source, kernels::slice(driving, 0, 0, 1));
    std::string out = src_name + "-" + drv_name + ext;
    FrameWriter writer(o.out + "/" + out, 25.0);
    std::vector<Tensor> none;
    for (int64_t start = 0; start < driving.size(0); start += o.batch) {
      int64_t b = std::min<int64_t>(o.batch, driving.size(0) - start);
      animate_batch(o, *m.animator, source, kernels::slice(driving, 0, start, start + b), start, writer, {}, none);
    }
    writer.close();
    list << src_name << "," << drv_name << "," << out << "\n";
  }
  write_file_atomic(o.out + "/pairs.csv", list.str());
  std::printf("animate (%s): %zu pairs of %s -> %s\n", m.animator->label().c_str(), pairs.size(),
              csv.empty() ? "random pairs (seed 0)" : csv.c_str(), o.out.c_str());
  return 0;
}

}  // namespace

std::pair<std::string, std::string> model_config_text(const std::string& checkpoint, const std::string& config) {
  if (!config.empty()) return {read_file_bytes(config), config};
  auto meta = read_tensor_file_metadata(checkpoint);
  auto it = meta.find("config");
  ANIMA_CHECK(it != meta.end(), checkpoint, ": no config stored in the checkpoint; pass --config",
              meta.count("format") && meta.at("format").rfind("pytorch", 0) == 0
                  ? " (a PyTorch checkpoint stores none: README, \"Using the official pretrained models\", says "
                    "which config goes with which file)"
                  : "");
  return {it->second, checkpoint + " (stored config)"};
}

int animate(const AnimateOptions& o) {
  if (o.pairs_mode || !o.pairs.empty()) return animate_pairs(o);
  ANIMA_CHECK(!o.source.empty() && !o.driving.empty(), "animate: give --source and --driving (or --pairs)");
  NoGradGuard no_grad;
  Loaded m = load(o.checkpoint, o.config, o.device, animator_options(o), "animate");
  // Unwritable or unknown outputs are reported now, not after the whole animation.
  prepare_frames_output(o.out, "animate");
  if (!o.grid.empty()) {
    std::string g = o.grid.size() > 4 ? o.grid.substr(o.grid.size() - 4) : "";
    ANIMA_CHECK(g == ".png" || g == ".jpg", "animate: --grid ", o.grid, ": give a .png or .jpg file");
  }
  Tensor source = prepare_frame(read_source_image(o.source, o.source_frame), m.h, m.w, m.device);
  ANIMA_CHECK(o.best_frame >= 0, "animate: --best-frame must be >= 0, got ", o.best_frame);
  if (!o.save_intermediates.empty()) make_directories(o.save_intermediates);
  // A bounded pipeline: frames are decoded one at a time, animated o.batch at a time and written
  // as they come, so memory does not grow with the video. Only the frames before --best-frame
  // (the reference of the relative motion) wait for it.
  std::vector<int64_t> grid_at;  // the grid spreads its frames over the whole video: count them first
  if (!o.grid.empty()) grid_at = evenly_spaced(for_each_video_frame(o.driving, [](const Tensor&, double) {}), 6);
  std::unique_ptr<FrameWriter> writer;  // opened at the first frame: the rate is the driving video's
  std::vector<Tensor> pending, grid_rows;
  int64_t seen = 0, done = 0;
  double fps = 0;
  auto flush = [&](size_t count) {
    animate_batch(o, *m.animator, source,
                  kernels::concat(std::vector<Tensor>(pending.begin(), pending.begin() + count), 0), done, *writer,
                  grid_at, grid_rows);
    pending.erase(pending.begin(), pending.begin() + long(count));
    done += int64_t(count);
  };
  for_each_video_frame(o.driving, [&](const Tensor& frame, double rate) {
    fps = rate;
    if (!writer) writer = std::make_unique<FrameWriter>(o.out, rate);
    pending.push_back(prepare_frame(frame, m.h, m.w, m.device));
    if (seen++ == o.best_frame) m.animator->set_source(source, pending.back());
    while (seen > o.best_frame && pending.size() >= size_t(o.batch)) flush(size_t(o.batch));
  });
  ANIMA_CHECK(o.best_frame < seen, "animate: --best-frame ", o.best_frame, " outside the driving video's ", seen,
              " frames");
  if (!pending.empty()) flush(pending.size());
  writer->close();
  if (!o.grid.empty()) write_image(o.grid, kernels::concat(grid_rows, 0));
  std::printf("animate (%s): %lld frames at %.2f fps -> %s; peak RSS %.1f MiB\n", m.animator->label().c_str(),
              (long long)writer->count(), fps > 0 ? fps : 25.0, o.out.c_str(),
              double(peak_resident_bytes()) / (1 << 20));
  return 0;
}

std::vector<int64_t> evenly_spaced(int64_t count, int64_t n) {
  std::vector<int64_t> out;
  int64_t k = std::min(count, n);
  for (int64_t i = 0; i < k; ++i) out.push_back(k == 1 ? 0 : i * (count - 1) / (k - 1));
  return out;
}

int reconstruct_test_videos(const ReconstructOptions& o, const std::string& root, int64_t h, int64_t w, Device device,
                            const std::string& label, int64_t first_driving, const ReconstructBatch& per_batch) {
  if (o.first_driving >= 0) first_driving = o.first_driving;
  DatasetOptions d;
  d.frame_h = h;
  d.frame_w = w;
  VideoDataset test(o.data.empty() ? root : o.data, "test", d);
  make_directories(o.out);
  make_directories(o.out + "/frames");
  std::ostringstream csv;
  csv << "video,frames,mean_l1\n";
  double total = 0;
  int64_t videos = o.max_videos < 0 ? test.size() : std::min<int64_t>(o.max_videos, test.size());
  for (int64_t v = 0; v < videos; ++v) {
    Tensor frames = raw::to_device(test.load_video(v), device);
    std::vector<Tensor> generated, visual;
    double l1 = 0;
    const std::string& name = test.videos()[size_t(v)].name;
    ANIMA_CHECK(frames.size(0) > first_driving, "reconstruct: ", name, " has ", frames.size(0),
                " frame(s): nothing to reconstruct from its first frame");
    for (int64_t start = first_driving; start < frames.size(0); start += o.batch) {
      int64_t count = std::min<int64_t>(o.batch, frames.size(0) - start);
      Tensor drv = kernels::slice(frames, 0, start, start + count);
      Tensor pred = per_batch(kernels::slice(frames, 0, 0, 1), drv, start == first_driving, visual);
      l1 += double(mean_abs_diff(pred, drv).item()) * double(count);
      for (int64_t k = 0; k < count; ++k) generated.push_back(frame_to_image(kernels::slice(pred, 0, k, k + 1)));
    }
    l1 /= double(frames.size(0) - first_driving);
    total += l1;
    csv << name << "," << frames.size(0) - first_driving << "," << l1 << "\n";
    write_frames(o.out + "/" + name + ".mp4", visual, 25.0);
    write_frames(o.out + "/frames/" + name, generated, 25.0);
  }
  double mean_l1 = total / double(std::max<int64_t>(videos, 1));
  csv << "mean,," << mean_l1 << "\n";
  write_file_atomic(o.out + "/reconstruction.csv", csv.str());
  std::printf("reconstruct (%s): %lld videos, mean L1 %.5f -> %s\n", label.c_str(), (long long)videos, mean_l1,
              o.out.c_str());
  return 0;
}

int reconstruct_copy_source(const ReconstructOptions& o) {
  ANIMA_CHECK(o.baseline == "copy-source", "reconstruct: unknown --baseline '", o.baseline, "' (copy-source)");
  ANIMA_CHECK(o.checkpoint.empty() && o.config.empty(), "reconstruct: --baseline needs no --checkpoint or --config");
  ANIMA_CHECK(!o.data.empty() && o.size > 0, "reconstruct --baseline copy-source: give --data and --size");
  // Default first driving frame 1: frame 0 would be reconstructed exactly.
  return reconstruct_test_videos(
      o, o.data, o.size, o.size, resolve_device(o.device, "reconstruct"), "copy-source", 1,
      [](const Tensor& source, const Tensor& drv, bool, std::vector<Tensor>& visual) {
        for (int64_t k = 0; k < drv.size(0); ++k)
          visual.push_back(
              kernels::concat({frame_to_image(kernels::slice(drv, 0, k, k + 1)), frame_to_image(source)}, 1));
        return kernels::expand(source, drv.shape());
      });
}

int reconstruct(const ReconstructOptions& o) {
  if (!o.baseline.empty()) return reconstruct_copy_source(o);
  ANIMA_CHECK(!o.checkpoint.empty(), "reconstruct: give --checkpoint (or --baseline copy-source)");
  NoGradGuard no_grad;
  AnimatorOptions options;
  options.ablation = o.ablation;
  Loaded m = load(o.checkpoint, o.config, o.device, options, "reconstruct");
  ReconstructOptions opt = o;
  if (opt.max_videos < 0)
    opt.max_videos = m.config->run().reconstruction_num_videos;  // reconstruction_params.num_videos
  Animator& animator = *m.animator;
  return reconstruct_test_videos(
      opt, m.config->run().dataset.root_dir, m.h, m.w, m.device, animator.label(), animator.first_reconstructed_frame(),
      [&](const Tensor& source, const Tensor& drv, bool new_video, std::vector<Tensor>& visual) {
        if (new_video) animator.set_source(source);
        Tensor pred = animator.reconstruct(drv);
        for (int64_t k = 0; k < drv.size(0); ++k) visual.push_back(animator.reconstruction_panel(k));
        return pred;
      });
}

}  // namespace anima::tools
