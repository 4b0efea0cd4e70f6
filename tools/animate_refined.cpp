// `anima animate` and `anima reconstruct` for the refined-masking model (equations 1-4).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/video_io.h"
#include "kernels/elementwise.h"
#include "kernels/shape_ops.h"
#include "formats/safetensors.h"
#include "models/refined_mask/model.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"
#include "tools/animate.h"
#include "tools/visualize.h"

namespace anima::tools {
namespace {

struct LoadedRefinedMask {
  std::unique_ptr<refined_mask::RefinedMaskModel> model;
  Device device;
};

LoadedRefinedMask load_refined(const std::string& checkpoint, const std::string& config, const std::string& device_name) {
  auto [text, what] = model_config_text(checkpoint, config);
  refined_mask::RefinedMaskConfig cfg = refined_mask::parse_refined_mask_config(text, what);
  LoadedRefinedMask m;
  m.device = resolve_device(device_name, "animate");
  Generator gen(0);
  m.model = std::make_unique<refined_mask::RefinedMaskModel>(cfg, gen);
  load_checkpoint(checkpoint, m.model->parts());
  m.model->to(m.device);
  m.model->train(false);
  return m;
}

// Frame k of a batch animation as figure 3's row: s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f.
Tensor figure_row(const Tensor& source, const Tensor& driving, const refined_mask::Animation& a, int64_t k) {
  int64_t H = source.size(2), W = source.size(3);
  auto pick = [&](const Tensor& t) { return image_panel(kernels::slice(t, 0, k, k + 1), H, W); };
  return kernels::concat({image_panel(source, H, W), pick(a.source_mask), pick(driving), pick(a.driving_mask_raw),
                          pick(a.perturbed_mask), pick(a.driving_mask), pick(a.coarse), pick(a.prediction)},
                         1);
}

// Animates `source` ([1, 3, H, W]) with `driving` ([T, 3, H, W]) in batches; calls back per frame.
template <class PerFrame>
void run_batches(refined_mask::RefinedMaskModel& model, const Tensor& source, const Tensor& driving, int batch,
                 refined_mask::Ablation ablation, PerFrame&& per_frame) {
  Tensor source_mask = model.mask_generator->forward(source);
  int64_t n = driving.size(0);
  for (int64_t start = 0; start < n; start += batch) {
    int64_t count = std::min<int64_t>(batch, n - start);
    Tensor drv = kernels::slice(driving, 0, start, start + count);
    refined_mask::Animation a = model.animate(kernels::expand(source, drv.shape()), source_mask, drv, ablation);
    for (int64_t k = 0; k < count; ++k) per_frame(start + k, drv, a, k);
  }
}

}  // namespace

int animate_refined_mask(const AnimateOptions& o) {
  ANIMA_CHECK(o.best_frame == 0 && !o.adapt_scale && !o.no_relative, "animate: --best-frame, --adapt-scale and ",
              "--absolute are First Order Motion Model options; ", o.checkpoint, " is a refined-mask checkpoint");
  NoGradGuard no_grad;
  refined_mask::Ablation ablation = refined_mask::parse_ablation(o.ablation);
  LoadedRefinedMask m = load_refined(o.checkpoint, o.config, o.device);
  const auto& cfg = m.model->config();
  int64_t h = cfg.frame_h(), w = cfg.frame_w();
  Tensor source = prepare_frame(read_source_image(o.source, o.source_frame), h, w, m.device);
  VideoData video = read_any_video(o.driving);
  ANIMA_CHECK(!video.frames.empty(), "animate: ", o.driving, " has no frames");
  std::vector<Tensor> batch;
  for (const Tensor& f : video.frames) batch.push_back(prepare_frame(f, h, w, m.device));
  Tensor driving = kernels::concat(batch, 0);
  if (!o.save_intermediates.empty()) make_directories(o.save_intermediates);
  std::vector<Tensor> out_frames, grid_rows;
  std::vector<int64_t> grid_frames = evenly_spaced(driving.size(0), 6);
  run_batches(*m.model, source, driving, o.batch, ablation,
              [&](int64_t frame, const Tensor& drv, const refined_mask::Animation& a, int64_t k) {
                if (o.figure_row) {
                  out_frames.push_back(figure_row(source, drv, a, k));
                } else {
                  Tensor f = frame_to_image(kernels::slice(a.prediction, 0, k, k + 1));
                  out_frames.push_back(o.side_by_side ? kernels::concat({frame_to_image(source),
                                                                         frame_to_image(kernels::slice(drv, 0, k, k + 1)), f}, 1)
                                                      : f);
                }
                if (!o.grid.empty() && std::count(grid_frames.begin(), grid_frames.end(), frame))
                  grid_rows.push_back(figure_row(source, drv, a, k));
                if (o.save_intermediates.empty()) return;
                auto pick = [&](const Tensor& t) { return kernels::slice(t, 0, k, k + 1); };
                NamedTensors t = {{"source_mask", pick(a.source_mask)},
                                  {"driving_mask_raw", pick(a.driving_mask_raw)},
                                  {"perturbed_mask", pick(a.perturbed_mask)},
                                  {"driving_mask", pick(a.driving_mask)},
                                  {"coarse", pick(a.coarse)},
                                  {"prediction", pick(a.prediction)}};
                char name[48];
                std::snprintf(name, sizeof name, "/frame_%05lld.safetensors", (long long)frame);
                save_safetensors(o.save_intermediates + name, t, {{"ablation", refined_mask::ablation_name(ablation)}});
              });
  write_frames(o.out, out_frames, video.fps);
  if (!o.grid.empty()) write_image(o.grid, kernels::concat(grid_rows, 0));
  std::printf("animate (refined-mask, %s): %zu frames at %.2f fps -> %s\n", refined_mask::ablation_name(ablation), out_frames.size(),
              video.fps > 0 ? video.fps : 25.0, o.out.c_str());
  return 0;
}

int reconstruct_refined_mask(const ReconstructOptions& o) {
  NoGradGuard no_grad;
  refined_mask::Ablation ablation = refined_mask::parse_ablation(o.ablation);
  LoadedRefinedMask m = load_refined(o.checkpoint, o.config, o.device);
  const auto& cfg = m.model->config();
  Tensor source_mask;  // m(s) of the current video's first frame
  ReconstructOptions opt = o;
  if (opt.max_videos < 0) opt.max_videos = cfg.reconstruction_num_videos;  // reconstruction_params.num_videos
  return reconstruct_test_videos(
      // "all the frames of the video except the first" (the paper's section 4.1)
      opt, cfg.dataset.root_dir, cfg.frame_h(), cfg.frame_w(), m.device, std::string("refined-mask, ") + refined_mask::ablation_name(ablation), 1,
      [&](const Tensor& source, const Tensor& drv, bool new_video, std::vector<Tensor>& visual) {
        if (new_video) source_mask = m.model->mask_generator->forward(source);
        refined_mask::Animation a = m.model->animate(kernels::expand(source, drv.shape()), source_mask, drv, ablation);
        for (int64_t k = 0; k < drv.size(0); ++k) visual.push_back(figure_row(source, drv, a, k));
        return a.prediction;
      });
}

}  // namespace anima::tools
