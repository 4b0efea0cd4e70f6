#include "tools/animate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/dataset.h"
#include "data/frame_io.h"
#include "data/image_io.h"
#include "data/video_io.h"
#include "kernels/elementwise.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"
#include "layers/checkpoint.h"
#include "formats/safetensors.h"
#include "models/fomm/config.h"
#include "models/fomm/inference.h"
#include "models/refined_mask/config.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"
#include "tools/visualize.h"

namespace anima::tools {
namespace {

struct LoadedModel {
  fomm::FommConfig cfg;
  std::shared_ptr<fomm::KPDetector> kp;
  std::shared_ptr<fomm::OcclusionAwareGenerator> generator;
  Device device;
};

LoadedModel load_model(const std::string& checkpoint, const std::string& config, const std::string& device_name) {
  LoadedModel m;
  auto [text, what] = model_config_text(checkpoint, config);
  m.cfg = fomm::parse_fomm_config(text, what);
  m.device = resolve_device(device_name, "animate");
  Generator gen(0);
  m.kp = std::make_shared<fomm::KPDetector>(m.cfg.kp_detector, gen);
  m.generator = std::make_shared<fomm::OcclusionAwareGenerator>(m.cfg.generator, gen);
  load_checkpoint(checkpoint, {{{"kp_detector", m.kp.get()}, {"generator", m.generator.get()}}, {}});
  m.kp->to(m.device);
  m.generator->to(m.device);
  m.kp->eval();
  m.generator->eval();
  return m;
}

}  // namespace





std::string checkpoint_model_kind(const std::string& checkpoint, const std::string& config) {
  if (!config.empty()) return refined_mask::config_model_kind(read_file_bytes(config), config);
  auto meta = read_safetensors_metadata(checkpoint);
  auto it = meta.find("model");
  return it == meta.end() ? "fomm" : it->second;  // converted official checkpoints: FOMM
}

std::pair<std::string, std::string> model_config_text(const std::string& checkpoint, const std::string& config) {
  if (!config.empty()) return {read_file_bytes(config), config};
  auto meta = read_safetensors_metadata(checkpoint);
  auto it = meta.find("config");
  ANIMA_CHECK(it != meta.end(), checkpoint, ": no config stored in the checkpoint; pass --config");
  return {it->second, checkpoint + " (stored config)"};
}

int animate(const AnimateOptions& o) {
  if (checkpoint_model_kind(o.checkpoint, o.config) == "refined_mask") return animate_refined_mask(o);
  ANIMA_CHECK(o.ablation == "full", "animate: --ablation is for the refined-mask model; ", o.checkpoint,
              " is a First Order Motion Model checkpoint");
  NoGradGuard no_grad;
  LoadedModel m = load_model(o.checkpoint, o.config, o.device);
  int64_t h = m.cfg.dataset.frame_shape[0], w = m.cfg.dataset.frame_shape[1];
  ANIMA_CHECK(!o.figure_row, "animate: --figure-row is for the refined-mask model; ", o.checkpoint,
              " is a First Order Motion Model checkpoint");
  Tensor source = prepare_frame(read_source_image(o.source, o.source_frame), h, w, m.device);
  VideoData driving = read_any_video(o.driving);
  ANIMA_CHECK(o.best_frame >= 0 && o.best_frame < int(driving.frames.size()), "animate: --best-frame ", o.best_frame,
              " outside the driving video's ", driving.frames.size(), " frames");
  fomm::NormalizeOptions norm{m.cfg.normalization.adapt_movement_scale || o.adapt_scale,
                              m.cfg.normalization.use_relative_movement && !o.no_relative,
                              m.cfg.normalization.use_relative_jacobian && !o.no_relative};
  fomm::Keypoints kp_source = m.kp->forward(source);
  fomm::Keypoints kp_initial = m.kp->forward(prepare_frame(driving.frames[size_t(o.best_frame)], h, w, m.device));
  if (!o.save_intermediates.empty()) make_directories(o.save_intermediates);
  std::vector<Tensor> out_frames, grid_rows;
  int64_t n = int64_t(driving.frames.size());
  std::vector<int64_t> grid_frames = evenly_spaced(n, 6);
  int radius = int(std::max<int64_t>(1, h / 64));
  for (int64_t start = 0; start < n; start += o.batch) {
    int64_t count = std::min<int64_t>(o.batch, n - start);
    std::vector<Tensor> batch;
    for (int64_t k = 0; k < count; ++k) batch.push_back(prepare_frame(driving.frames[size_t(start + k)], h, w, m.device));
    Tensor drv = kernels::concat(batch, 0);
    fomm::Keypoints kp_driving = m.kp->forward(drv);
    fomm::Keypoints kp_norm = fomm::normalize_kp(kp_source, kp_driving, kp_initial, norm);
    Tensor src = kernels::expand(source, Shape{count, 3, h, w});
    fomm::Keypoints ks{kernels::expand(kp_source.value, kp_norm.value.shape()),
                       kp_source.jacobian.defined() ? kernels::expand(kp_source.jacobian, kp_norm.jacobian.shape()) : Tensor(),
                       Tensor()};
    fomm::GeneratorOutput g = m.generator->forward(src, kp_norm, ks);
    for (int64_t k = 0; k < count; ++k) {
      Tensor pred = frame_to_image(kernels::slice(g.prediction, 0, k, k + 1));
      if (o.side_by_side) {
        Tensor s = frame_to_image(source), d = frame_to_image(kernels::slice(drv, 0, k, k + 1));
        pred = kernels::concat({s, d, pred}, 1);
      }
      out_frames.push_back(pred);
      if (!o.grid.empty() && std::count(grid_frames.begin(), grid_frames.end(), start + k)) {
        // source | driving | result with the source's, the driving's and the moved keypoints
        auto kp = [&](const Tensor& v, int64_t i) {
          return raw::to_device(kernels::slice(v, 0, i, i + 1), Device::cpu()).to_vector<float>();
        };
        Tensor s = frame_to_image(source), d = frame_to_image(kernels::slice(drv, 0, k, k + 1)),
               r = frame_to_image(kernels::slice(g.prediction, 0, k, k + 1));
        draw_keypoints(s, kp(kp_source.value, 0), radius);
        draw_keypoints(d, kp(kp_driving.value, k), radius);
        draw_keypoints(r, kp(kp_norm.value, k), radius);
        grid_rows.push_back(kernels::concat({s, d, r}, 1));
      }
      if (!o.save_intermediates.empty()) {
        NamedTensors t = {{"kp_driving", kernels::slice(kp_norm.value, 0, k, k + 1)},
                          {"mask", kernels::slice(g.motion.mask, 0, k, k + 1)},
                          {"deformed", kernels::slice(g.deformed, 0, k, k + 1)}};
        if (kp_norm.jacobian.defined()) t.emplace_back("jacobian_driving", kernels::slice(kp_norm.jacobian, 0, k, k + 1));
        if (g.motion.occlusion_map.defined()) t.emplace_back("occlusion_map", kernels::slice(g.motion.occlusion_map, 0, k, k + 1));
        t.emplace_back("kp_source", kp_source.value);
        char name[48];
        std::snprintf(name, sizeof name, "/frame_%05lld.safetensors", (long long)(start + k));
        save_safetensors(o.save_intermediates + name, t);
      }
    }
  }
  write_frames(o.out, out_frames, driving.fps);
  if (!o.grid.empty()) write_image(o.grid, kernels::concat(grid_rows, 0));
  std::printf("animate: %zu frames at %.2f fps -> %s\n", out_frames.size(), driving.fps > 0 ? driving.fps : 25.0,
              o.out.c_str());
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
  return reconstruct_test_videos(o, o.data, o.size, o.size, resolve_device(o.device, "reconstruct"), "copy-source", 1,
                                 [](const Tensor& source, const Tensor& drv, bool, std::vector<Tensor>& visual) {
                                   for (int64_t k = 0; k < drv.size(0); ++k)
                                     visual.push_back(kernels::concat({frame_to_image(kernels::slice(drv, 0, k, k + 1)),
                                                                       frame_to_image(source)}, 1));
                                   return kernels::expand(source, drv.shape());
                                 });
}

int reconstruct(const ReconstructOptions& o) {
  if (!o.baseline.empty()) return reconstruct_copy_source(o);
  ANIMA_CHECK(!o.checkpoint.empty(), "reconstruct: give --checkpoint (or --baseline copy-source)");
  if (checkpoint_model_kind(o.checkpoint, o.config) == "refined_mask") return reconstruct_refined_mask(o);
  ANIMA_CHECK(o.ablation == "full", "reconstruct: --ablation is for the refined-mask model; ", o.checkpoint,
              " is a First Order Motion Model checkpoint");
  NoGradGuard no_grad;
  LoadedModel m = load_model(o.checkpoint, o.config, o.device);
  fomm::Keypoints kp_source;  // of the current video's first frame
  ReconstructOptions opt = o;
  if (opt.max_videos < 0) opt.max_videos = m.cfg.reconstruction_num_videos;  // reconstruction_params.num_videos
  return reconstruct_test_videos(
      opt, m.cfg.dataset.root_dir, m.cfg.dataset.frame_shape[0], m.cfg.dataset.frame_shape[1], m.device, "fomm", 0,
      [&](const Tensor& source, const Tensor& drv, bool new_video, std::vector<Tensor>& visual) {
        if (new_video) kp_source = m.kp->forward(source);
        fomm::Keypoints kd = m.kp->forward(drv);
        fomm::Keypoints ks{kernels::expand(kp_source.value, kd.value.shape()),
                           kp_source.jacobian.defined() ? kernels::expand(kp_source.jacobian, kd.jacobian.shape()) : Tensor(),
                           Tensor()};
        Tensor pred = m.generator->forward(kernels::expand(source, drv.shape()), kd, ks).prediction;
        for (int64_t k = 0; k < drv.size(0); ++k)
          visual.push_back(kernels::concat({frame_to_image(kernels::slice(drv, 0, k, k + 1)),
                                            frame_to_image(kernels::slice(pred, 0, k, k + 1))}, 1));
        return pred;
      });
}

}  // namespace anima::tools
