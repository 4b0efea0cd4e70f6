// The `anima` command line. Every subcommand catches errors at the top, prints one clear line and
// exits non-zero.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "data/media_limits.h"
#include "data/video_io.h"
#include "kernels/conv.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "kernels/cuda_libraries.h"
#include "kernels/math_mode.h"
#include "models/registry.h"
#include "tensor/error.h"
#include "tensor/runtime.h"
#include "tools/animate.h"
#include "tools/bench.h"
#include "tools/convert.h"
#include "tools/data_commands.h"
#include "tools/evaluate.h"
#include "tools/inspect.h"
#include "tools/plot.h"
#include "tools/train.h"

int main(int argc, char** argv) {
  anima::kernels::cpu_blas_select_kernels(argv);
  CLI::App app{
      "anima: image animation (refined masking, First Order Motion Model + PriorityCut) "
      "on a from-scratch C++/CUDA deep-learning framework"};
  app.require_subcommand(1);

  auto* info = app.add_subcommand("info", "print the build and the available devices");

  auto* bench = app.add_subcommand("bench", "time ops on the CPU and the GPU");
  bench->require_subcommand(1);
  anima::tools::BenchOptions bench_opt;
  auto* bench_ops =
      bench->add_subcommand("ops", "elementwise, reductions, softmax, matmul, layout, conv, norms, resampling, Adam");
  auto* bench_kernels = bench->add_subcommand(
      "kernels", "image-animation kernels at 256x256: grid_sample, keypoints, pyramid, perceptual loss, augmentations");
  for (CLI::App* sub : {bench_ops, bench_kernels}) {
    sub->add_option("--device", bench_opt.device, "cpu, cuda or all")->check(CLI::IsMember({"cpu", "cuda", "all"}));
    sub->add_option("--batch", bench_opt.batch, "batch size (default 16 on the GPU, 2 on the CPU)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--repeats", bench_opt.repeats, "timed runs per op")->check(CLI::PositiveNumber);
    sub->add_option("--filter", bench_opt.filter, "only ops whose name contains this text");
    sub->add_option("--csv", bench_opt.csv, "append one row per op to this CSV file");
  }

  auto* bench_model =
      bench->add_subcommand("model", "training-step time, peak memory and animation frames/s of a model");
  anima::tools::BenchModelOptions model_opt;
  std::string model_name;
  std::vector<std::string> model_names;
  for (const anima::ModelEntry& e : anima::model_registry()) model_names.push_back(e.name);
  bench_model->add_option("--model", model_name, "a model's name (picks its small example config)")
      ->check(CLI::IsMember(model_names, [](std::string n) {
        for (char& c : n)
          if (c == '-') c = '_';
        return n;
      }));
  auto* bench_model_config =
      bench_model->add_option("--config", model_opt.config, "model config (any model)")->check(CLI::ExistingFile);
  bench_model->add_option("--device", model_opt.device, "auto, cpu or cuda");
  bench_model->add_option("--batch", model_opt.batch, "batch size (default: the config's)")
      ->check(CLI::NonNegativeNumber);
  bench_model->add_option("--steps", model_opt.steps, "timed steps (and timed animation batches)")
      ->check(CLI::PositiveNumber);
  bench_model
      ->add_option("--anim-batch", model_opt.anim_batches,
                   "animation batch sizes, e.g. 1,32 (default: the training batch)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  bench_model->add_flag("--skip-train", model_opt.skip_train, "time the animation only (no training step)");
  // Which CPU convolution algorithm the benchmarks run (kernels/conv.h), to compare them.
  std::string cpu_conv = "auto";
  for (CLI::App* sub : {bench_ops, bench_kernels, bench_model})
    sub->add_option("--cpu-conv", cpu_conv, "CPU convolution: auto, im2col, rows (direct), tiled (direct) or winograd")
        ->check(CLI::IsMember({"auto", "im2col", "rows", "tiled", "winograd"}));
  auto* bench_data = bench->add_subcommand("data", "read a dataset in the FOMM layout and time the loader");
  anima::tools::BenchDataOptions data_opt;
  bench_data->add_option("--data", data_opt.data, "dataset root (with train/)")->required();
  bench_data->add_option("--size", data_opt.size, "frame size")->check(CLI::PositiveNumber);
  bench_data->add_option("--batch", data_opt.batch, "batch size")->check(CLI::PositiveNumber);
  bench_data->add_option("--workers", data_opt.workers, "loader threads")->check(CLI::PositiveNumber);
  bench_data->add_option("--batches", data_opt.batches, "batches to time")->check(CLI::Range(2, 1000000));

  auto* make_ds = app.add_subcommand("make-dataset", "write the synthetic puppet dataset (FOMM layout)");
  anima::SyntheticOptions syn;
  std::string syn_out;
  make_ds->add_option("--out", syn_out, "output folder")->required();
  make_ds->add_option("--videos", syn.videos, "number of videos")->check(CLI::Range(2, 10000000));
  make_ds->add_option("--frames", syn.frames, "frames per video")->check(CLI::Range(2, 100000));
  make_ds->add_option("--size", syn.size, "frame size in pixels")->check(CLI::Range(16, 4096));
  make_ds->add_option("--seed", syn.seed, "random seed");
  make_ds->add_option("--clips-per-identity", syn.clips_per_identity, "videos per identity")
      ->check(CLI::PositiveNumber);
  make_ds->add_option("--puppet-scale", syn.style.scale, "puppet size (1 = about 40% of the frame height)")
      ->check(CLI::Range(0.25, 2.5));
  make_ds
      ->add_option("--drift", syn.style.drift, "multiplies the puppet's horizontal travel (1 = up to 15% of the width)")
      ->check(CLI::Range(0.0, 5.0));
  make_ds->add_flag("--plain-background", syn.style.plain_background, "one colour per video as background");
  make_ds->add_option("--layout", syn.layout, "png (strips), frames (folders) or mp4")
      ->check(CLI::IsMember({"png", "frames", "mp4"}));

  auto* train = app.add_subcommand(
      "train", "train a model from a config (FOMM with its or PriorityCut's discriminator, refined-mask)");
  anima::tools::TrainOptions train_opt;
  train
      ->add_option("--config", train_opt.config,
                   "YAML config in the FOMM layout; its `model:` key names the model (absent: fomm)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--out", train_opt.out, "run folder")->required();
  train->add_option("--data", train_opt.data, "dataset root (default: dataset_params.root_dir)");
  train->add_option("--checkpoint", train_opt.checkpoint, "resume from this checkpoint (into --out)")
      ->check(CLI::ExistingFile);
  train
      ->add_option("--init-from", train_opt.init_from,
                   "start a new run from these weights (an anima checkpoint or an official PyTorch .pth/.pth.tar)")
      ->check(CLI::ExistingFile);
  train->add_flag("--resume", train_opt.resume, "continue the run in --out from its checkpoint");
  train->add_flag("--force", train_opt.force, "start over in an --out that already holds a run");
  train
      ->add_option("--vgg", train_opt.vgg,
                   "VGG-19 weights for the perceptual loss (safetensors, or torchvision's .pth)")
      ->check(CLI::ExistingFile);
  train->add_option("--device", train_opt.device, "auto, cpu or cuda");
  train->add_option("--seed", train_opt.seed, "random seed (default 0; a resumed run keeps its checkpoint's)");
  train->add_option("--workers", train_opt.workers, "loader threads")->check(CLI::PositiveNumber);
  train->add_option("--epochs", train_opt.epochs, "override train_params.num_epochs")->check(CLI::PositiveNumber);
  train->add_option("--max-steps", train_opt.max_steps, "stop after this many steps")->check(CLI::NonNegativeNumber);
  train->add_option("--log-every", train_opt.log_every, "log every N steps")->check(CLI::PositiveNumber);
  train->add_flag("--quiet", train_opt.quiet, "no progress bar");

  auto* animate = app.add_subcommand("animate", "animate a source image with a driving video (either model)");
  anima::tools::AnimateOptions an;
  animate->add_option("--checkpoint", an.checkpoint, "checkpoint (anima's, or an official PyTorch .pth/.pth.tar)")
      ->required()
      ->check(CLI::ExistingFile);
  animate->add_option("--config", an.config, "config (default: the one stored in the checkpoint)")
      ->check(CLI::ExistingFile);
  animate->add_option("--source", an.source, "source image (or a video: see --source-frame)")->check(CLI::ExistingPath);
  animate->add_option("--source-frame", an.source_frame, "when --source is a video: which frame")
      ->check(CLI::NonNegativeNumber);
  animate->add_option("--driving", an.driving, "driving video: a video file, a PNG strip or a folder of frames")
      ->check(CLI::ExistingPath);
  auto* pairs = animate
                    ->add_option("--pairs", an.pairs,
                                 "pairs mode: a csv (columns source, driving) of test videos to animate; without a "
                                 "value, dataset_params.pairs_list or random pairs")
                    ->expected(0, 1)
                    ->default_str("");
  animate->add_option("--data", an.data, "pairs mode: the dataset root (default: dataset_params.root_dir)");
  animate->add_option("--num-pairs", an.num_pairs, "pairs mode: at most this many (default: animate_params.num_pairs)")
      ->check(CLI::NonNegativeNumber);
  animate->add_option("--out", an.out, "result: .mp4, .gif or a folder of PNG frames")->required();
  animate->add_option("--best-frame", an.best_frame, "driving frame used as the reference pose");
  animate->add_option("--batch", an.batch, "frames per forward pass")->check(CLI::PositiveNumber);
  animate->add_option("--save-intermediates", an.save_intermediates,
                      "folder for per-frame keypoints, masks, occlusion, deformed source");
  animate->add_option("--device", an.device, "auto, cpu or cuda");
  animate->add_flag("--side-by-side", an.side_by_side, "write source | driving | result");
  animate->add_flag("--figure-row", an.figure_row,
                    "write the model's figure per frame (FOMM: source | driving | result with keypoints; "
                    "refined-mask: s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f)");
  animate->add_option("--grid", an.grid, "also write a PNG grid of 6 evenly spaced frames (keypoints or masks drawn)");
  animate->add_flag("--adapt-scale", an.adapt_scale, "adapt the movement scale by keypoint hull areas");
  animate->add_flag("--absolute", an.no_relative, "use absolute keypoints instead of relative motion");
  const auto ablations = CLI::IsMember({"full", "no_pert", "no_ref", "no_id"});
  animate
      ->add_option("--ablation", an.ablation, "refined-mask: full, no_pert (no P_test), no_ref (no r), no_id (neither)")
      ->check(ablations);

  auto* recon = app.add_subcommand("reconstruct", "reconstruct every test video from its first frame (either model)");
  anima::tools::ReconstructOptions rc;
  recon->add_option("--checkpoint", rc.checkpoint, "checkpoint")->check(CLI::ExistingFile);
  recon->add_option("--config", rc.config, "config (default: stored in the checkpoint)")->check(CLI::ExistingFile);
  recon->add_option("--data", rc.data, "dataset root (default: dataset_params.root_dir)");
  recon->add_option("--out", rc.out, "output folder")->required();
  recon->add_option("--max-videos", rc.max_videos,
                    "at most this many test videos (default: reconstruction_params.num_videos)");
  recon->add_option("--device", rc.device, "auto, cpu or cuda");
  recon->add_option("--ablation", rc.ablation, "refined-mask: full, no_pert, no_ref or no_id")->check(ablations);
  recon
      ->add_option("--first-driving", rc.first_driving,
                   "first driving frame (default: the model's convention, FOMM 0, refined-mask 1)")
      ->check(CLI::NonNegativeNumber);
  recon->add_option("--baseline", rc.baseline, "copy-source: no model, every frame is the video's first frame")
      ->check(CLI::IsMember({"copy-source"}));
  recon->add_option("--size", rc.size, "frame size of --baseline")->check(CLI::Range(16, 4096));

  auto* evaluate = app.add_subcommand(
      "evaluate", "the papers' metrics (L1, PSNR, SSIM, masked, AKD, MKR, AED, IoU) of generated videos");
  anima::tools::EvaluateOptions ev;
  evaluate->add_option("--generated", ev.generated,
                       "generated video, frame folder or folder of videos (repeat: one per method)");
  evaluate->add_option("--ground-truth", ev.ground_truth, "ground-truth video(s), matched by name");
  evaluate->add_option("--name", ev.names, "method name per --generated (default: the path's stem)");
  evaluate->add_option("--masks", ev.masks,
                       "salient masks (video(s) matched to the ground truth) for the masked metrics");
  evaluate->add_option("--keypoints-generated", ev.keypoints_generated,
                       "keypoints csv file or folder (one per method)");
  evaluate->add_option("--keypoints-gt", ev.keypoints_gt, "ground-truth keypoints csv file or folder");
  evaluate->add_option("--embeddings-generated", ev.embeddings_generated,
                       "embeddings csv file or folder (one per method)");
  evaluate->add_option("--embeddings-gt", ev.embeddings_gt, "ground-truth embeddings csv file or folder");
  evaluate->add_option("--synthetic-gt", ev.synthetic_gt,
                       "gt/<split> folder of the synthetic dataset (foreground IoU)");
  evaluate->add_option("--fg-threshold", ev.fg_threshold, "colour distance that makes a pixel foreground (IoU)")
      ->check(CLI::Range(0.0, 2.0));
  evaluate->add_option("--out", ev.out, "write PREFIX.csv and PREFIX.md");
  evaluate->add_option("--device", ev.device, "auto, cpu or cuda");
  evaluate->add_option("--batch", ev.batch, "frames per metric call")->check(CLI::PositiveNumber);
  evaluate
      ->add_option("--skip-gt-frames", ev.skip_gt_frames,
                   "drop the first N ground-truth frames (refined-mask reconstructions start at frame 1)")
      ->check(CLI::NonNegativeNumber);

  auto* inspect = app.add_subcommand("inspect", "list a checkpoint's tensors and metadata, or a config's networks");
  std::string inspect_path;
  bool inspect_all = false;
  inspect->add_option("path", inspect_path, "a checkpoint (.safetensors or PyTorch .pth) or a .yaml config")
      ->required()
      ->check(CLI::ExistingFile);
  inspect->add_flag("--all", inspect_all, "for a config: every tensor's name and shape");

  auto* convert = app.add_subcommand(
      "convert", "a PyTorch checkpoint (official FOMM, refined-masking, torchvision VGG-19) into an anima one");
  anima::tools::ConvertOptions conv;
  convert->add_option("input", conv.in, "a .pth / .pth.tar (or an anima checkpoint)")
      ->required()
      ->check(CLI::ExistingFile);
  convert->add_option("--config", conv.config, "the config the model was trained with (absent: VGG-19 weights)")
      ->check(CLI::ExistingFile);
  convert->add_option("--out", conv.out, "output .safetensors")->required();

  auto* plot = app.add_subcommand("plot", "draw a run's training curves (log.txt) as a PNG");
  std::string plot_log, plot_out;
  anima::tools::PlotOptions plot_opt;
  plot->add_option("--log", plot_log, "a run's log.txt")->required()->check(CLI::ExistingFile);
  plot->add_option("--out", plot_out, "output image (.png or .jpg)")->required();
  plot->add_option("--width", plot_opt.width, "image width")->check(CLI::Range(100, 20000));
  plot->add_option("--height", plot_opt.height, "image height")->check(CLI::Range(60, 20000));
  plot->add_flag("!--linear", plot_opt.log_y, "linear y axes (default: log scale)");

  // The GPU backends' numeric modes (kernels/math_mode.h) for every command that computes.
  std::string tf32 = "on";
  bool deterministic = false;
  for (CLI::App* sub : {train, animate, recon, evaluate, bench_ops, bench_kernels, bench_model}) {
    sub->add_option("--tf32", tf32, "GPU convolutions: on (TF32 tensor cores, the default) or off (strict FP32)")
        ->check(CLI::IsMember({"on", "off"}));
    sub->add_flag("--deterministic", deterministic, "GPU: deterministic algorithms only (a run repeats bit for bit)");
  }

  // What the image and video readers accept (data/media_limits.h).
  anima::MediaLimits limits = anima::media_limits();
  for (CLI::App* sub : {train, animate, recon, evaluate, bench_data})
    sub->add_option("--max-pixels", limits.max_pixels, "refuse images and frames of more pixels")
        ->check(CLI::PositiveNumber);
  for (CLI::App* sub : {train, animate, recon, evaluate, bench_data})
    sub->add_option("--max-frames", limits.max_frames, "refuse videos of more frames")->check(CLI::PositiveNumber);

  CLI11_PARSE(app, argc, argv);
  anima::set_media_limits(limits);
  anima::MathModeScope modes(tf32 == "on", deterministic);
  train_opt.deterministic = deterministic;
  train_opt.strict_fp32 = tf32 == "off";
  try {
    if (info->parsed()) {
      std::printf("anima: built %s CUDA, %s video IO\n", anima::built_with_cuda() ? "with" : "without",
                  anima::built_with_video() ? "with" : "without");
      std::printf("device: %s\n", anima::device_report().c_str());
      std::printf("GPU libraries: %s\n", anima::kernels::cuda_libraries_report().c_str());
      std::printf("modes: %s\n", anima::math_mode_report().c_str());
      std::printf("%s\n", anima::kernels::cpu_report().c_str());
      return 0;
    }
    if (make_ds->parsed()) return anima::tools::make_dataset(syn_out, syn);
    if (train->parsed()) return anima::tools::train(train_opt);
    if (plot->parsed()) return anima::tools::plot_log_file(plot_log, plot_out, plot_opt), 0;
    if (inspect->parsed()) return anima::tools::inspect(inspect_path, inspect_all);
    if (convert->parsed()) return anima::tools::convert(conv);
    if (animate->parsed()) {
      an.pairs_mode = pairs->count() > 0;
      return anima::tools::animate(an);
    }
    if (recon->parsed()) return anima::tools::reconstruct(rc);
    if (evaluate->parsed()) return anima::tools::evaluate(ev);
    if (bench_data->parsed()) return anima::tools::bench_data(data_opt);
    anima::kernels::set_cpu_conv_algo(anima::kernels::parse_cpu_conv_algo(cpu_conv));
    if (bench_model->parsed()) {
      if (!bench_model_config->count() && !model_name.empty())
        model_opt.config =
            anima::tools::find_config(anima::find_model(model_name, "bench model --model").example_config);
      return anima::tools::bench_model(model_opt);
    }
    if (bench_ops->parsed() || bench_kernels->parsed()) {
      bench_opt.suite = bench_ops->parsed() ? "ops" : "kernels";
      return anima::tools::run_bench(bench_opt);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anima: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
