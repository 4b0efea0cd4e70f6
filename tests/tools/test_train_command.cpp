// `anima train` end to end on synthetic data: a run folder with log and checkpoint, and a resumed
// run that ends bit-identical to an uninterrupted one.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/synthetic.h"
#include "data/video_io.h"
#include "formats/safetensors.h"
#include "kernels/shape_ops.h"
#include "models/fomm/inference.h"
#include "models/fomm/visualize.h"
#include "models/prioritycut/discriminator_step.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"
#include "tests/tiny_fomm_config.h"
#include "tests/tiny_refined_mask_config.h"
#include "tools/animate.h"
#include "tools/train.h"

using namespace anima;

namespace {

// A fresh folder holding a synthetic dataset (8 videos of 6 frames at size x size) and the
// config `yaml`, and the options of a quiet CPU run of `steps` steps into <dir>/straight.
tools::TrainOptions tiny_run(const std::string& dir, const char* yaml, int64_t size, uint64_t seed, int64_t steps) {
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  SyntheticOptions so;
  so.videos = 8;
  so.frames = 6;
  so.size = size;
  make_synthetic_dataset(dir + "/data", so);
  std::ofstream(dir + "/tiny.yaml") << yaml;
  tools::TrainOptions o;
  o.config = dir + "/tiny.yaml";
  o.data = dir + "/data";
  o.device = "cpu";
  o.seed = seed;
  o.quiet = true;
  o.log_every = 1;
  o.max_steps = steps;
  o.out = dir + "/straight";
  return o;
}

// Reconstruction of <dir>/data's test videos on the CPU with <dir>/straight's checkpoint.
tools::ReconstructOptions tiny_reconstruction(const std::string& dir) {
  tools::ReconstructOptions rc;
  rc.checkpoint = dir + "/straight/checkpoint.safetensors";
  rc.data = dir + "/data";
  rc.out = dir + "/recon";
  rc.device = "cpu";
  return rc;
}

// Trains `first` steps into <dir>/first, resumes from there to o.max_steps into <dir>/second,
// and checks every tensor of the result against <dir>/straight bit for bit. Returns how many
// tensors were compared.
int check_resume_equals_straight(const std::string& dir, tools::TrainOptions o, int64_t first) {
  int64_t total = o.max_steps;
  o.max_steps = first;
  o.out = dir + "/first";
  REQUIRE(tools::train(o) == 0);
  o.max_steps = total;
  o.out = dir + "/second";
  o.checkpoint = dir + "/first/checkpoint.safetensors";
  REQUIRE(tools::train(o) == 0);
  SafetensorsFile a = load_safetensors(dir + "/straight/checkpoint.safetensors");
  SafetensorsFile b = load_safetensors(dir + "/second/checkpoint.safetensors");
  CHECK(a.metadata.at("step") == std::to_string(total));
  CHECK(b.metadata.at("step") == std::to_string(total));
  CHECK(read_file_bytes(dir + "/second/log.txt").find("resumed from") != std::string::npos);
  REQUIRE(a.tensors.size() == b.tensors.size());
  int compared = 0;
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    CHECK(test::bit_equal(t, b.at(name)));  // any dtype, byte for byte
    ++compared;
  }
  return compared;
}

// The loss terms logged at `step` ("epoch E step S name value ..." lines of a run's log.txt).
std::map<std::string, double> logged_losses(const std::string& log_path, int64_t step) {
  std::istringstream in(read_file_bytes(log_path));
  std::string line, word;
  while (std::getline(in, line)) {
    std::istringstream ws(line);
    std::string epoch_word, e, step_word, s;
    if (!(ws >> epoch_word >> e >> step_word >> s) || epoch_word != "epoch" || step_word != "step" ||
        s != std::to_string(step))
      continue;
    std::map<std::string, double> terms;
    std::string name;
    double value;
    while (ws >> name >> value) terms[name] = value;
    return terms;
  }
  return {};
}

}  // namespace

TEST_SUITE("tools") {

TEST_CASE("FOMM normalize_kp: relative movement, relative Jacobians, hull-area scale") {
  CHECK(fomm::convex_hull_area({0, 0, 1, 0, 1, 1, 0, 1, 0.5f, 0.5f}) == doctest::Approx(1.0));
  CHECK(fomm::convex_hull_area({0, 0, 1, 1, 2, 2}) == 0.0);
  fomm::Keypoints src{test::tensor({0, 0, 0.5f, 0, 0, 0.5f}, Shape{1, 3, 2}), Tensor(), Tensor()};
  fomm::Keypoints init{test::tensor({0, 0, 1, 0, 0, 1}, Shape{1, 3, 2}), Tensor(), Tensor()};
  fomm::Keypoints now{test::tensor({0.2f, 0, 1.2f, 0, 0.2f, 1}, Shape{1, 3, 2}), Tensor(), Tensor()};
  fomm::Keypoints rel = fomm::normalize_kp(src, now, init, {false, true, true});
  CHECK_CLOSE(rel.value, test::tensor({0.2f, 0, 0.7f, 0, 0.2f, 0.5f}, Shape{1, 3, 2}), 1e-6, 0);
  fomm::Keypoints scaled = fomm::normalize_kp(src, now, init, {true, true, true});  // hull areas 1/8 vs 1/2
  CHECK_CLOSE(scaled.value, test::tensor({0.1f, 0, 0.6f, 0, 0.1f, 0.5f}, Shape{1, 3, 2}), 1e-6, 0);
  fomm::Keypoints absolute = fomm::normalize_kp(src, now, init, {false, false, false});
  CHECK(test::bit_equal(absolute.value, now.value));
}

TEST_CASE("the training visualisation of a PriorityCut step: every official column, the mask and the U-Net maps") {
  std::string yaml = std::string(test::kTinyFommYaml) +
                     "prioritycut_params: {discriminator: unet, mix: prioritycut, mix_probability: 1.0}\n";
  prioritycut::PriorityCutConfig c = prioritycut::parse_prioritycut_config(yaml, "tiny-pc");
  c.fomm.discriminator.num_blocks = 2;  // 32x32 must divide by 2^blocks
  c.fomm.train.loss_weights.feature_matching = {10, 10};
  Generator gen(4);
  std::unique_ptr<fomm::FommTrainer> tp = prioritycut::make_trainer(c, std::make_shared<Vgg19>(gen), gen);
  fomm::FommTrainer& t = *tp;
  Tensor source = test::random_tensor(Shape{2, 3, 32, 32}, 1, 0, 1),
         driving = test::random_tensor(Shape{2, 3, 32, 32}, 2, 0, 1);
  fomm::StepOutput o = t.step(source, driving);
  REQUIRE(o.transformed_frame.shape() == Shape{2, 3, 32, 32});
  REQUIRE(o.discriminator_pixel_fake.shape() == Shape{2, 1, 32, 32});
  Tensor vis = fomm::visualize_step(source, driving, o, t.last_mix_mask());
  CHECK(vis.size(0) == 2 * 32);
  // 17 FOMM columns (see the train test below), the PriorityCut mask, two U-Net maps.
  CHECK(vis.size(1) == (17 + 1 + 2) * 32);
  CHECK(vis.size(2) == 3);
  // The transformed frame's column is not the driving frame's (a random TPS warp moved it).
  Tensor transformed = kernels::slice(kernels::slice(vis, 0, 0, 32), 1, 32, 64),
         drv = kernels::slice(kernels::slice(vis, 0, 0, 32), 1, 64, 96);
  CHECK(transformed.to_vector<uint8_t>() != drv.to_vector<uint8_t>());
}

TEST_CASE("train writes a run folder; resuming from a checkpoint equals the uninterrupted run") {
  REQUIRE_VIDEO_OR_SKIP();
  std::string d = "/tmp/anima_test_train_" + std::to_string(::getpid());
  tools::TrainOptions o = tiny_run(d, test::kTinyFommYaml, 32, 5, 4);
  REQUIRE(tools::train(o) == 0);
  std::string log = read_file_bytes(d + "/straight/log.txt");
  CHECK(log.find("seed 5") != std::string::npos);
  CHECK(log.find("equivariance_jacobian") != std::string::npos);
  CHECK(log.find("step 4") != std::string::npos);
  Tensor vis = read_image(d + "/straight/vis/epoch_0000.png");
  CHECK(vis.size(0) == 2 * 32);  // two samples
  // source, transformed, driving, deformed, prediction, occlusion; the 4 + 1 sparse deformed
  // sources and their masks; all masks summed.
  CHECK(vis.size(1) == (6 + 2 * 5 + 1) * 32);
  CHECK(read_image(d + "/straight/curves.png").size(1) > 0);  // the loss curves, redrawn each epoch
  CHECK(check_resume_equals_straight(d, o, 2) > 50);

  // The trained checkpoint animates a source image with a driving video and reconstructs videos.
  auto frames = render_puppet_video(9, 30, 0, 5, 32);
  std::vector<Tensor> images;
  for (auto& f : frames) images.push_back(f.image);
  write_video(d + "/driving.mp4", images, 12.0);
  write_image(d + "/source.png", render_puppet_video(9, 31, 0, 1, 40)[0].image);  // resized to 32x32
  tools::AnimateOptions an;
  an.checkpoint = d + "/straight/checkpoint.safetensors";
  an.source = d + "/source.png";
  an.driving = d + "/driving.mp4";
  an.out = d + "/animation";
  an.device = "cpu";
  an.best_frame = 2;
  an.save_intermediates = d + "/intermediates";
  an.batch = 2;
  REQUIRE(tools::animate(an) == 0);
  CHECK(read_image(d + "/animation/00004.png").shape() == Shape{32, 32, 3});
  SafetensorsFile inter = load_safetensors(d + "/intermediates/frame_00003.safetensors");
  CHECK(inter.at("mask").shape() == Shape{1, 5, 16, 16});
  CHECK(inter.at("jacobian_driving").shape() == Shape{1, 4, 2, 2});
  an.out = d + "/animation.mp4";
  an.side_by_side = true;
  REQUIRE(tools::animate(an) == 0);
  VideoData v = read_video(d + "/animation.mp4");
  CHECK(v.frames.size() == 5);
  CHECK(v.fps == doctest::Approx(12.0));
  CHECK(v.frames[0].size(1) == 96);  // source | driving | result
  an.grid = d + "/grid.png";
  an.out = d + "/animation_again";
  an.side_by_side = false;
  REQUIRE(tools::animate(an) == 0);
  CHECK(read_image(d + "/grid.png").shape() == Shape{5 * 32, 3 * 32, 3});  // 5 frames, keypoints drawn
  an.grid.clear();
  an.best_frame = 9;
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("--best-frame 9 outside"), Error);
  tools::ReconstructOptions rc = tiny_reconstruction(d);
  REQUIRE(tools::reconstruct(rc) == 0);
  std::string csv = read_file_bytes(d + "/recon/reconstruction.csv");
  CHECK(csv.find("mean,,") != std::string::npos);
  std::string first_video = csv.substr(csv.find('\n') + 1);
  first_video = first_video.substr(0, first_video.find(','));
  CHECK(read_image(d + "/recon/frames/" + first_video + "/00000.png").shape() == Shape{32, 32, 3});
  rc.ablation = "no_id";
  CHECK_THROWS_WITH_AS(tools::reconstruct(rc),
                       doctest::Contains("--ablation no_id is not an option of the First Order Motion Model"), Error);
  // --first-driving 1 scores FOMM on the refined-mask model's frames 1..T-1.
  rc.ablation = "full";
  rc.first_driving = 1;
  rc.out = d + "/recon1";
  REQUIRE(tools::reconstruct(rc) == 0);
  CHECK(read_image(d + "/recon1/frames/" + first_video + "/00004.png").shape() == Shape{32, 32, 3});
  CHECK(access((d + "/recon1/frames/" + first_video + "/00005.png").c_str(), F_OK) != 0);  // 6 frames, 5 driven
  // Pairs mode (the official FOMM animate mode): the pairs of a csv of test videos, then random ones.
  VideoDataset test_split(d + "/data", "test", DatasetOptions{});
  REQUIRE(test_split.size() >= 2);
  const std::string va = test_split.videos()[0].name, vb = test_split.videos()[1].name;
  std::ofstream(d + "/pairs.csv") << "source,driving\n" << va << "," << vb << "\n" << vb << "," << va << "\n";
  tools::AnimateOptions pa;
  pa.checkpoint = an.checkpoint;
  pa.device = "cpu";
  pa.pairs = d + "/pairs.csv";
  pa.data = d + "/data";
  pa.out = d + "/pairs";
  REQUIRE(tools::animate(pa) == 0);
  CHECK(read_video(d + "/pairs/" + va + "-" + vb + ".mp4").frames.size() == 6);
  CHECK(read_file_bytes(d + "/pairs/pairs.csv").find(vb + "," + va + "," + vb + "-" + va + ".mp4") !=
        std::string::npos);
  pa.pairs.clear();
  pa.pairs_mode = true;  // --pairs without a csv (none in the config): random pairs
  pa.num_pairs = 3;
  pa.out = d + "/random_pairs";
  REQUIRE(tools::animate(pa) == 0);
  std::string listed = read_file_bytes(d + "/random_pairs/pairs.csv");
  CHECK(std::count(listed.begin(), listed.end(), '\n') == 4);  // header + 3 pairs
  pa.source = d + "/source.png";
  CHECK_THROWS_WITH_AS(tools::animate(pa), doctest::Contains("give no --source"), Error);
  // A config of another model than the checkpoint's is refused, naming both.
  std::ofstream(d + "/rm.yaml") << test::kTinyRefinedMaskYaml;
  an.config = d + "/rm.yaml";
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("holds a 'fomm' model"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("reconstruct --baseline copy-source writes the first frame for every driving frame") {
  REQUIRE_VIDEO_OR_SKIP();  // the copies are written as mp4
  std::string d = "/tmp/anima_copy_source_test_" + std::to_string(getpid());
  std::system(("rm -rf '" + d + "'").c_str());
  SyntheticOptions so;
  so.videos = 6;
  so.frames = 5;
  so.size = 32;
  make_synthetic_dataset(d + "/data", so);
  tools::ReconstructOptions rc;
  rc.baseline = "copy-source";
  rc.data = d + "/data";
  rc.out = d + "/copy";
  rc.device = "cpu";
  CHECK_THROWS_WITH_AS(tools::reconstruct(rc), doctest::Contains("give --data and --size"), Error);
  rc.size = 32;
  REQUIRE(tools::reconstruct(rc) == 0);
  VideoDataset test(d + "/data", "test", DatasetOptions{});
  REQUIRE(test.size() >= 1);
  const std::string& name = test.videos()[0].name;
  Tensor first = read_any_video(d + "/data/test/" + name + ".png").frames[0];  // uint8 [H, W, 3]
  for (int k = 0; k < 4; ++k) {  // frames 1..4 are driven, each written as the first frame
    char f[32];
    std::snprintf(f, sizeof f, "/%05d.png", k);
    Tensor g = read_image(d + "/copy/frames/" + name + f);
    CHECK(test::bit_equal(g, first));
  }
  CHECK(access((d + "/copy/frames/" + name + "/00004.png").c_str(), F_OK) != 0);
  std::string csv = read_file_bytes(d + "/copy/reconstruction.csv");
  size_t row = csv.find(name + ",4,");
  REQUIRE(row != std::string::npos);
  // The puppet moves, so copying frame 0 has a positive mean L1 against frames 1..4.
  CHECK(std::stod(csv.substr(row + name.size() + 3)) > 0.0);
  rc.checkpoint = d + "/none.safetensors";
  CHECK_THROWS_WITH_AS(tools::reconstruct(rc), doctest::Contains("--baseline needs no --checkpoint"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train, resume, animate and reconstruct with the refined-mask model (and its ablations)") {
  REQUIRE_VIDEO_OR_SKIP();
  std::string d = "/tmp/anima_test_train_rm_" + std::to_string(::getpid());
  tools::TrainOptions o = tiny_run(d, test::kTinyRefinedMaskYaml, 48, 8, 3);
  REQUIRE(tools::train(o) == 0);
  std::string log = read_file_bytes(d + "/straight/log.txt");
  for (const char* term : {" mask ", " coarse ", " fine "}) CHECK(log.find(term) != std::string::npos);
  Tensor vis = read_image(d + "/straight/vis/epoch_0000.png");
  CHECK(vis.size(0) == 2 * 48);
  CHECK(vis.size(1) == 8 * 48);  // s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f
  CHECK(load_safetensors(d + "/straight/checkpoint.safetensors").metadata.at("model") == "refined_mask");
  CHECK(check_resume_equals_straight(d, o, 1) > 100);

  auto frames = render_puppet_video(9, 30, 0, 4, 48);
  std::vector<Tensor> images;
  for (auto& f : frames) images.push_back(f.image);
  write_video(d + "/driving.mp4", images, 10.0);
  write_image(d + "/source.png", render_puppet_video(9, 31, 0, 1, 48)[0].image);
  tools::AnimateOptions an;
  an.checkpoint = d + "/straight/checkpoint.safetensors";
  an.source = d + "/source.png";
  an.driving = d + "/driving.mp4";
  an.device = "cpu";
  an.batch = 3;
  for (const char* ablation : {"full", "no_pert", "no_ref", "no_id"}) {
    INFO(ablation);
    an.ablation = ablation;
    an.out = d + "/anim_" + ablation;
    an.save_intermediates = d + "/inter_" + ablation;
    REQUIRE(tools::animate(an) == 0);
    CHECK(read_image(d + "/anim_" + ablation + "/00003.png").shape() == Shape{48, 48, 3});
    SafetensorsFile inter = load_safetensors(d + "/inter_" + ablation + "/frame_00003.safetensors");
    CHECK(inter.at("driving_mask").shape() == Shape{1, 1, 12, 12});
    CHECK(inter.metadata.at("ablation") == ablation);
  }
  an.ablation = "full";
  an.save_intermediates.clear();
  an.figure_row = true;
  an.out = d + "/anim.mp4";
  an.grid = d + "/grid.png";
  REQUIRE(tools::animate(an) == 0);
  VideoData v = read_video(d + "/anim.mp4");
  CHECK(v.frames.size() == 4);
  CHECK(v.frames[0].size(1) == 8 * 48);                                    // the figure-3 row
  CHECK(read_image(d + "/grid.png").shape() == Shape{4 * 48, 8 * 48, 3});  // 4 frames < 6: all of them
  // A video as the source (its frame 1) and a PNG strip as the driving video; source | driving | result.
  an.figure_row = false;
  an.side_by_side = true;
  an.grid.clear();
  an.source = d + "/driving.mp4";
  an.source_frame = 1;
  write_image(d + "/strip.png", kernels::concat(images, 1));
  an.driving = d + "/strip.png";
  an.out = d + "/anim_sbs";
  REQUIRE(tools::animate(an) == 0);
  CHECK(read_image(d + "/anim_sbs/00003.png").shape() == Shape{48, 3 * 48, 3});
  an.source_frame = 7;
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("--source-frame 7 outside"), Error);
  an.source_frame = 0;
  an.ablation = "sideways";
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("unknown ablation"), Error);
  tools::ReconstructOptions rc = tiny_reconstruction(d);
  rc.ablation = "no_ref";
  REQUIRE(tools::reconstruct(rc) == 0);
  std::string csv = read_file_bytes(d + "/recon/reconstruction.csv");
  CHECK(csv.find("mean,,") != std::string::npos);
  CHECK(csv.find(",5,") != std::string::npos);  // 6 frames, driven by all but the first
  an.best_frame = 2;
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("not options of the refined-masking model"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE(
    "GPU training in deterministic mode repeats and resumes bit for bit, matches the CPU's first losses, and its "
    "checkpoint continues on the CPU and back [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  struct Model {
    const char* name;
    const char* yaml;
    int64_t size;
  };
  for (const Model& m :
       {Model{"fomm", test::kTinyFommYaml, 32}, Model{"refined_mask", test::kTinyRefinedMaskYaml, 48}}) {
    INFO("model " << m.name);
    std::string d = "/tmp/anima_test_train_gpu_" + std::string(m.name) + "_" + std::to_string(::getpid());
    tools::TrainOptions o = tiny_run(d, m.yaml, m.size, 6, 4);
    o.device = "cuda";
    o.deterministic = true;
    o.strict_fp32 = true;
    REQUIRE(tools::train(o) == 0);
    // The same run again: every tensor of the checkpoint and every logged loss equal.
    tools::TrainOptions again = o;
    again.out = d + "/again";
    REQUIRE(tools::train(again) == 0);
    SafetensorsFile a = load_safetensors(d + "/straight/checkpoint.safetensors");
    SafetensorsFile b = load_safetensors(d + "/again/checkpoint.safetensors");
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& [name, t] : a.tensors) {
      INFO(name);
      CHECK(test::bit_equal(t, b.at(name)));
    }
    for (int64_t step = 1; step <= 4; ++step)
      CHECK(logged_losses(d + "/straight/log.txt", step) == logged_losses(d + "/again/log.txt", step));
    // Interrupted after 2 steps and resumed: the same as the uninterrupted run.
    CHECK(check_resume_equals_straight(d, o, 2) > 50);

    // The CPU from the same seed: the same weights, batches and draws, so the first step's losses
    // differ only by the order of float sums (cuDNN's algorithms against the CPU's loops).
    tools::TrainOptions cpu = o;
    cpu.device = "cpu";
    cpu.max_steps = 1;
    cpu.out = d + "/cpu";
    REQUIRE(tools::train(cpu) == 0);
    std::map<std::string, double> lc = logged_losses(d + "/cpu/log.txt", 1),
                                  lg = logged_losses(d + "/straight/log.txt", 1);
    REQUIRE(!lc.empty());
    REQUIRE(lc.size() == lg.size());
    for (const auto& [name, v] : lc) {
      INFO("loss " << name << ": CPU " << v << ", GPU " << lg[name]);
      CHECK(std::fabs(lg[name] - v) <= 1e-5 + 1e-3 * std::fabs(v));
    }

    // The GPU's checkpoint continues on the CPU, and the CPU's on the GPU.
    tools::TrainOptions on_cpu = cpu;
    on_cpu.checkpoint = d + "/straight/checkpoint.safetensors";
    on_cpu.max_steps = 5;
    on_cpu.out = d + "/on_cpu";
    REQUIRE(tools::train(on_cpu) == 0);
    tools::TrainOptions back = o;
    back.checkpoint = d + "/on_cpu/checkpoint.safetensors";
    back.max_steps = 6;
    back.out = d + "/back_on_gpu";
    REQUIRE(tools::train(back) == 0);
    SafetensorsFile c = load_safetensors(d + "/back_on_gpu/checkpoint.safetensors");
    CHECK(c.metadata.at("step") == "6");
    CHECK(c.tensors.size() == a.tensors.size());
    for (const auto& [name, t] : c.tensors) {
      if (t.dtype() != DType::F32) continue;
      INFO(name);
      for (float v : t.to_vector<float>()) REQUIRE(std::isfinite(v));
    }
    std::system(("rm -rf '" + d + "'").c_str());
  }
}

}  // TEST_SUITE
