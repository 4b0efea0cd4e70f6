// Runs that must not be lost or forked (issue 19): existing run folders, seeds on resume,
// diverged weights, signals, stale temporary files, bad metadata, unwritable outputs.
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>

#include <iterator>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/image_io.h"
#include "data/synthetic.h"
#include "data/video_io.h"
#include "formats/safetensors.h"
#include "layers/checkpoint.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"
#include "tests/tiny_fomm_config.h"
#include "tools/animate.h"
#include "tools/train.h"

using namespace anima;

namespace {

// A fresh folder with a small synthetic dataset and the tiny FOMM config (with one text replaced),
// and the options of a quiet CPU run into <dir>/run.
tools::TrainOptions small_run(const std::string& dir, const std::string& replace_from = "",
                              const std::string& replace_to = "") {
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  SyntheticOptions so;
  so.videos = 6;
  so.frames = 4;
  so.size = 32;
  make_synthetic_dataset(dir + "/data", so);
  std::string yaml = test::kTinyFommYaml;
  if (!replace_from.empty()) yaml.replace(yaml.find(replace_from), replace_from.size(), replace_to);
  std::ofstream(dir + "/tiny.yaml") << yaml;
  tools::TrainOptions o;
  o.config = dir + "/tiny.yaml";
  o.data = dir + "/data";
  o.device = "cpu";
  o.seed = 3;
  o.quiet = true;
  o.log_every = 1;
  o.max_steps = 2;
  o.out = dir + "/run";
  return o;
}

std::string step_of(const std::string& checkpoint) { return load_safetensors(checkpoint).metadata.at("step"); }

}  // namespace

TEST_SUITE("tools") {

TEST_CASE("train: an existing run folder is continued or started over only on request; config.yaml survives a bad checkpoint") {
  std::string d = "/tmp/anima_test_runfolder_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  REQUIRE(tools::train(o) == 0);
  std::string ckpt = o.out + "/checkpoint.safetensors";
  CHECK(step_of(ckpt) == "2");
  // Training into it again used to wipe the run (a 1-step checkpoint replaced the 2-step one).
  o.max_steps = 1;
  CHECK_THROWS_WITH_AS(tools::train(o), doctest::Contains("already holds a run"), Error);
  CHECK(step_of(ckpt) == "2");
  // --resume continues it; its seed comes from the checkpoint.
  o.resume = true;
  o.seed.reset();
  o.max_steps = 3;
  REQUIRE(tools::train(o) == 0);
  CHECK(step_of(ckpt) == "3");
  CHECK(read_file_bytes(o.out + "/log.txt").find("resumed from " + ckpt + " at epoch") != std::string::npos);
  // A different --seed on resume would fork the run: refused.
  o.seed = 4;
  o.max_steps = 4;
  CHECK_THROWS_WITH_AS(tools::train(o), doctest::Contains("was trained with seed 3; resuming with --seed 4"), Error);
  // --force starts over.
  o.resume = false;
  o.force = true;
  o.max_steps = 1;
  REQUIRE(tools::train(o) == 0);
  CHECK(step_of(ckpt) == "1");
  CHECK(read_file_bytes(o.out + "/log.txt").find("resumed") == std::string::npos);
  // A failing --checkpoint into a new folder leaves nothing behind (config.yaml was written first).
  std::ofstream(d + "/junk.safetensors") << "not a checkpoint";
  tools::TrainOptions bad = small_run(d + "/second");
  bad.checkpoint = d + "/junk.safetensors";
  CHECK_THROWS_AS(tools::train(bad), Error);
  CHECK(::access((bad.out + "/config.yaml").c_str(), F_OK) != 0);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train: diverged weights are never saved, and a checkpoint with non-finite values is refused") {
  std::string d = "/tmp/anima_test_diverge_" + std::to_string(::getpid());
  // A learning rate of 1e30 makes the weights infinite within the first steps. What stops the run
  // depends on the float rounding of a diverging run (the kernels' summation orders): the loss
  // check, or the save of an epoch-end checkpoint refusing the state. Either way it stops with an
  // error and whatever checkpoint is on disk is an earlier, finite one.
  tools::TrainOptions o = small_run(d, "lr_generator: 2.0e-3", "lr_generator: 1.0e30");
  o.max_steps = 6;
  o.log_every = 100;
  try {
    tools::train(o);
    FAIL("a run with learning rate 1e30 finished");
  } catch (const Error& e) {
    std::string what = e.what();
    bool refused = what.find("non-finite values") != std::string::npos;
    bool loss_check = what.find("; stopping (the last checkpoint is kept)") != std::string::npos;
    CHECK_MESSAGE((refused || loss_check), what);
  }
  if (::access((o.out + "/checkpoint.safetensors").c_str(), F_OK) == 0)
    CHECK_NOTHROW(load_safetensors(o.out + "/checkpoint.safetensors"));
  struct OneWeight : Module {
    Tensor w = Tensor::zeros(Shape{2});
    OneWeight() { register_parameter("w", &w); }
  } m;
  // The save refuses a state with an infinite weight on its own, and the file there is kept.
  std::string path = d + "/kept.safetensors";
  save_checkpoint(path, {{{"m", &m}}, {}});
  std::string good = read_file_bytes(path);
  m.w = test::tensor({1.f, INFINITY}, Shape{2});
  CHECK_THROWS_WITH_AS(save_checkpoint(path, {{{"m", &m}}, {}}),
                       doctest::Contains("not written: the state holds 1 non-finite values in 1 tensor(s), first 'm.w'"),
                       Error);
  CHECK(read_file_bytes(path) == good);
  // A file holding a NaN weight is refused on load, naming the tensor.
  save_safetensors(d + "/nan.safetensors", {{"m.w", test::tensor({1.f, std::nanf("")}, Shape{2})}});
  CHECK_THROWS_WITH_AS(load_checkpoint(d + "/nan.safetensors", {{{"m", &m}}, {}}),
                       doctest::Contains("1 non-finite values in 1 tensor(s), first 'm.w'"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train: a step that ends the run and an epoch is saved once (a nearly full disk failed the second write)") {
  std::string d = "/tmp/anima_test_saveonce_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  o.max_steps = -1;
  o.epochs = 1;  // the last step ends the epoch (checkpoint_freq 1) and the run
  int64_t before = checkpoints_written();
  REQUIRE(tools::train(o) == 0);
  CHECK(checkpoints_written() - before == 1);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train: SIGTERM saves a checkpoint and stops cleanly; stale temporary files of dead runs are removed") {
  std::string d = "/tmp/anima_test_sigterm_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  o.max_steps = 100000;
  o.epochs = 100000;
  make_directories(o.out);
  // a temporary file of a process that no longer exists, and one of a live process (this one)
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string stale = o.out + "/checkpoint.safetensors.tmp." + std::to_string(dead);
  std::string live = o.out + "/other.tmp." + std::to_string(::getpid()) + ".mp4";
  std::ofstream(stale) << "partial";
  std::ofstream(live) << "partial";
  // A thread waits for a few logged steps, then signals the process as `kill -TERM` would.
  std::thread stopper([&] {
    for (int i = 0; i < 1200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::ifstream log(o.out + "/log.txt");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      if (text.find(" step 3 ") != std::string::npos) break;
    }
    ::kill(::getpid(), SIGTERM);
  });
  int rc = tools::train(o);
  stopper.join();
  CHECK(rc == 0);
  CHECK(std::stoll(step_of(o.out + "/checkpoint.safetensors")) >= 3);
  CHECK(::access(stale.c_str(), F_OK) != 0);  // removed at the start
  CHECK(::access(live.c_str(), F_OK) == 0);   // not a dead process's
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("train: bad checkpoint metadata is a clear error, not 'stoll' or 'map::at'") {
  std::string d = "/tmp/anima_test_meta_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  REQUIRE(tools::train(o) == 0);
  SafetensorsFile f = load_safetensors(o.out + "/checkpoint.safetensors");
  auto with_meta = [&](const std::string& key, const std::string& value) {
    std::map<std::string, std::string> meta = f.metadata;
    if (value.empty())
      meta.erase(key);
    else
      meta[key] = value;
    save_safetensors(d + "/edited.safetensors", f.tensors, meta);
    tools::TrainOptions r = o;
    r.out = d + "/resumed";
    r.checkpoint = d + "/edited.safetensors";
    std::system(("rm -rf '" + r.out + "'").c_str());
    return r;
  };
  CHECK_THROWS_WITH_AS(tools::train(with_meta("step", "-5")),
                       doctest::Contains("metadata 'step' is '-5', not an integer in 0.."), Error);
  CHECK_THROWS_WITH_AS(tools::train(with_meta("rng_stream", "x")), doctest::Contains("metadata 'rng_stream' is 'x'"),
                       Error);
  CHECK_THROWS_WITH_AS(tools::train(with_meta("epoch", "")),
                       doctest::Contains("not a training checkpoint (no 'epoch' in its metadata)"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("animate: unknown or unwritable outputs are refused before any frame is computed") {
  std::string d = "/tmp/anima_test_outputs_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  o.max_steps = 1;
  REQUIRE(tools::train(o) == 0);
  write_image(d + "/source.png", render_puppet_video(1, 0, 0, 1, 32)[0].image);
  tools::AnimateOptions an;
  an.checkpoint = o.out + "/checkpoint.safetensors";
  an.source = d + "/source.png";
  an.driving = d + "/data/test";  // not read: the output is checked first
  an.device = "cpu";
  an.out = d + "/x.avi";
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("unknown output format '.avi'"), Error);
  an.out = d + "/x.png";
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("unknown output format '.png'"), Error);
  an.out = "/nonexistent-dir/x.gif";
  if (built_with_video())
    CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("cannot write /nonexistent-dir/x.gif"), Error);
  an.out = d + "/frames";
  an.grid = d + "/grid.bmp";
  CHECK_THROWS_WITH_AS(tools::animate(an), doctest::Contains("give a .png or .jpg file"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

}  // TEST_SUITE

TEST_CASE("train: unreadable videos are skipped, counted and named in the log; a dataset of none stops clearly") {
  std::string d = "/tmp/anima_test_corrupt_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  o.max_steps = 4;
  std::vector<std::string> strips;
  for (const auto& e : std::filesystem::directory_iterator(d + "/data/train")) strips.push_back(e.path().string());
  std::sort(strips.begin(), strips.end());
  REQUIRE(strips.size() >= 3);
  // Truncated PNGs (their headers still read: they pass the scan) and a strip that is not a whole
  // number of frames (refused by the scan). One video stays readable.
  for (size_t k = 0; k + 2 < strips.size(); ++k) std::filesystem::resize_file(strips[k], 120);
  Tensor wide = Tensor::zeros(Shape{32, 48, 3}, DType::U8);
  write_image(strips[strips.size() - 2], wide);
  REQUIRE(tools::train(o) == 0);
  std::string log = read_file_bytes(o.out + "/log.txt");
  CHECK(log.find("1 skipped)") != std::string::npos);  // the strip of the wrong width, at the scan
  size_t at = log.find("skipped an unreadable item: ");
  REQUIRE(at != std::string::npos);
  CHECK(log.find("cannot decode image", at) != std::string::npos);
  CHECK(step_of(o.out + "/checkpoint.safetensors") == "4");
  // Every video unreadable: a clear stop.
  for (const std::string& s : strips) std::filesystem::resize_file(s, 120);
  o.force = true;
  CHECK_THROWS_WITH_AS(tools::train(o), doctest::Contains("could be read; the last error"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_SUITE("tools") {

TEST_CASE("video writer: an abandoned write leaves neither the file nor its temporary (issue 19, item 8)") {
  REQUIRE_VIDEO_OR_SKIP();
  std::string d = "/tmp/anima_test_writer_" + std::to_string(::getpid());
  make_directories(d);
  {
    VideoWriter w(d + "/x.mp4", 25.0);
    w.add(Tensor::zeros(Shape{16, 16, 3}, DType::U8));
    CHECK_THROWS_WITH_AS(w.add(Tensor::zeros(Shape{8, 8, 3}, DType::U8)), doctest::Contains("must all be uint8 [16, 16, 3]"),
                         Error);
  }  // destroyed without close(), as when an error unwinds animate
  CHECK(std::filesystem::is_empty(d));
  VideoWriter ok(d + "/y.gif", 10.0);
  for (int k = 0; k < 3; ++k) ok.add(Tensor::zeros(Shape{16, 16, 3}, DType::U8));
  ok.close();
  CHECK(read_video(d + "/y.gif").frames.size() == 3);
  std::system(("rm -rf '" + d + "'").c_str());
}

TEST_CASE("animate: peak memory does not grow with the driving video (decode -> model -> encode, bounded)") {
  REQUIRE_VIDEO_OR_SKIP();
#if defined(__SANITIZE_ADDRESS__)
  test::mark_skipped("under AddressSanitizer the peak RSS measures its quarantine of freed memory");
  return;
#endif
  // The anima command beside this test binary, run as a child to measure its peak RSS alone.
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").parent_path().string() + "/anima";
  if (::access(exe.c_str(), X_OK) != 0) {
    test::mark_skipped("no anima binary beside the test binary");
    return;
  }
  std::string d = "/tmp/anima_test_stream_" + std::to_string(::getpid());
  tools::TrainOptions o = small_run(d);
  o.max_steps = 1;
  REQUIRE(tools::train(o) == 0);
  // Driving videos of 40 and 400 frames at 256 x 256 (decoded frames are 192 KiB each; the model
  // runs at 32 x 32): holding every frame would add about 70 MiB for the long one.
  for (int frames : {40, 400}) {
    std::vector<Tensor> images;
    for (const PuppetFrame& f : render_puppet_video(4, 1, 0, frames, 256)) images.push_back(f.image);
    write_video(d + "/drive" + std::to_string(frames) + ".mp4", images, 25.0);
  }
  write_image(d + "/source.png", render_puppet_video(1, 0, 0, 1, 32)[0].image);
  auto peak_rss_mib = [&](int frames) {
    std::string out = d + "/out" + std::to_string(frames) + ".mp4";
    std::string drive = d + "/drive" + std::to_string(frames) + ".mp4";
    std::string ckpt = o.out + "/checkpoint.safetensors", src = d + "/source.png";
    std::vector<const char*> argv = {exe.c_str(), "animate", "--checkpoint", ckpt.c_str(), "--source", src.c_str(),
                                     "--driving", drive.c_str(), "--out", out.c_str(), "--device", "cpu", nullptr};
    std::string report = d + "/report" + std::to_string(frames) + ".txt";
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::execv(exe.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK(read_video(out).frames.size() == size_t(frames));
    // The command's own peak (VmHWM after exec: the forked test process's pages do not count).
    std::string text = read_file_bytes(report);
    size_t at = text.find("peak RSS ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + 9));
  };
  double short_run = peak_rss_mib(40), long_run = peak_rss_mib(400);
  INFO("peak RSS: " << short_run << " MiB for 40 frames, " << long_run << " MiB for 400");
  CHECK(long_run <= 1.2 * short_run);
  std::system(("rm -rf '" + d + "'").c_str());
}

}  // TEST_SUITE
