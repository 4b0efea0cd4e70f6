// Image and video IO, the synthetic dataset, the FOMM dataset layouts and the loader.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "data/video_io.h"
#include "kernels/elementwise.h"
#include "kernels/shape_ops.h"
#include "tensor/file_util.h"

#include <unistd.h>
#include <algorithm>
#include "tests/test_util.h"

using namespace anima;

namespace {

// A fresh folder, removed when the test binary exits (whatever the tests' outcome).
std::string temp_dir(const std::string& name) {
  struct Created {
    std::vector<std::string> dirs;
    ~Created() {
      for (const std::string& d : dirs) std::system(("rm -rf '" + d + "'").c_str());
    }
  };
  static Created created;
  std::string d = "/tmp/anima_test_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf '" + d + "' && mkdir -p '" + d + "'").c_str());
  if (std::find(created.dirs.begin(), created.dirs.end(), d) == created.dirs.end()) created.dirs.push_back(d);
  return d;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

double psnr(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<uint8_t>(), y = b.to_vector<uint8_t>();
  double mse = 0;
  for (size_t i = 0; i < x.size(); ++i) mse += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  mse /= double(x.size());
  return mse == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

const std::string& small_dataset() {  // 10 videos (5 identities x 2 clips), 6 frames, 32 px
  static std::string dir = [] {
    std::string d = temp_dir("synthetic");
    SyntheticOptions o;
    o.videos = 10;
    o.frames = 6;
    o.size = 32;
    o.seed = 3;
    make_synthetic_dataset(d, o);
    return d;
  }();
  return dir;
}

}  // namespace

TEST_SUITE("data") {

TEST_CASE("images: PNG round trip, JPEG, format from the bytes, grey to RGB, errors") {
  std::string d = temp_dir("images");
  std::vector<PuppetFrame> frames = render_puppet_video(1, 0, 0, 1, 40);
  write_image(d + "/a.png", frames[0].image);
  Tensor back = read_image(d + "/a.png");
  CHECK(back.shape() == Shape{40, 40, 3});
  CHECK(back.to_vector<uint8_t>() == frames[0].image.to_vector<uint8_t>());
  // PNG bytes under a .jpg name decode as PNG.
  std::rename((d + "/a.png").c_str(), (d + "/disguised.jpg").c_str());
  CHECK(sniff_image_format(read_file_bytes(d + "/disguised.jpg")) == "png");
  CHECK(read_image(d + "/disguised.jpg").to_vector<uint8_t>() == frames[0].image.to_vector<uint8_t>());
  write_image(d + "/b.jpg", frames[0].image, 95);
  CHECK(sniff_image_format(read_file_bytes(d + "/b.jpg")) == "jpeg");
  CHECK(psnr(read_image(d + "/b.jpg"), frames[0].image) > 30.0);
  write_image(d + "/grey.png", frames[0].mask);  // one channel
  Tensor grey = read_image(d + "/grey.png");
  CHECK(grey.shape() == Shape{40, 40, 3});
  auto g = grey.to_vector<uint8_t>(), m = frames[0].mask.to_vector<uint8_t>();
  CHECK(g[3 * 500] == m[500]);
  CHECK(g[3 * 500 + 2] == m[500]);
  Tensor chw = image_to_chw(frames[0].image);
  CHECK(chw.shape() == Shape{3, 40, 40});
  CHECK(chw_to_image(chw).to_vector<uint8_t>() == frames[0].image.to_vector<uint8_t>());
  // Float -> uint8 as skimage's img_as_ubyte (the official demo): v * 255 in float32, ties to even.
  // 0.5/255*255 etc. are exact .5 ties in float32; 1e-3 off a tie rounds to nearest.
  std::vector<float> v = {2.5f / 255, 3.5f / 255, 0.5f / 255, 254.5f / 255, 100.5f / 255, 7.5f / 255, -1, 2, NAN};
  std::vector<uint8_t> want = {2, 4, 0, 254, 100, 8, 0, 255, 0};
  for (size_t i = 0; i < 6; ++i) REQUIRE(v[i] * 255.f == float(int(v[i] * 255.f)) + 0.5f);  // exact ties
  CHECK(chw_to_image(Tensor::from_vector<float>(v, Shape{1, 1, int64_t(v.size())})).to_vector<uint8_t>() == want);
  std::ofstream(d + "/junk.png") << "not an image at all";
  CHECK_THROWS_WITH_AS(read_image(d + "/junk.png"), doctest::Contains("not an image anima reads"), Error);
  CHECK_THROWS_WITH_AS(read_image(d + "/missing.png"), doctest::Contains("cannot open"), Error);
  CHECK_THROWS_WITH_AS(write_image(d + "/x.tif", frames[0].image), doctest::Contains("unknown extension"), Error);
}

TEST_CASE("video: mp4 round trip above 30 dB, GIF, frame rate, corrupt and truncated files") {
  REQUIRE_VIDEO_OR_SKIP();
  std::string d = temp_dir("video");
  std::vector<PuppetFrame> frames = render_puppet_video(2, 1, 0, 12, 64);
  std::vector<Tensor> images;
  for (auto& f : frames) images.push_back(f.image);
  write_video(d + "/v.mp4", images, 25.0);
  VideoData v = read_video(d + "/v.mp4");
  REQUIRE(v.frames.size() == images.size());
  CHECK(v.fps == doctest::Approx(25.0));
  double worst = 99;
  for (size_t i = 0; i < images.size(); ++i) worst = std::min(worst, psnr(v.frames[i], images[i]));
  INFO("worst PSNR " << worst << " dB, H.264 encoder present: " << has_h264_encoder());
  CHECK(worst >= 30.0);
  CHECK(probe_video(d + "/v.mp4") == 12);
  CHECK(read_video(d + "/v.mp4", 3).frames.size() == 3);
  write_video(d + "/v.gif", images, 10.0);
  CHECK(read_video(d + "/v.gif").frames.size() == 12);
  // Odd sizes are padded for yuv420p and still decode.
  std::vector<Tensor> odd{Tensor::zeros(Shape{31, 33, 3}, DType::U8), Tensor::zeros(Shape{31, 33, 3}, DType::U8)};
  write_video(d + "/odd.mp4", odd, 10.0);
  CHECK(read_video(d + "/odd.mp4").frames[0].size(1) >= 33);
  // Truncated and garbage files are clear errors, not crashes.
  std::string bytes = read_file_bytes(d + "/v.mp4");
  std::ofstream(d + "/cut.mp4", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  bool cut_ok = false;
  try {
    cut_ok = probe_video(d + "/cut.mp4") < 12;  // may decode a prefix, or fail: never crash
  } catch (const Error& e) {
    cut_ok = std::string(e.what()).find("cut.mp4") != std::string::npos;
  }
  CHECK(cut_ok);
  std::ofstream(d + "/junk.mp4") << "garbage";
  CHECK_THROWS_WITH_AS(read_video(d + "/junk.mp4"), doctest::Contains("junk.mp4"), Error);
  CHECK_THROWS_WITH_AS(write_video(d + "/x.avi", images, 25), doctest::Contains("unsupported extension"), Error);
  CHECK_THROWS_WITH_AS(write_video(d + "/x.mp4", {images[0], odd[0]}, 25), doctest::Contains("frames must all be"),
                       Error);
}

TEST_CASE("synthetic dataset: layout, disjoint identities, ground truth, determinism") {
  const std::string& d = small_dataset();
  CHECK(exists(d + "/train/id0000#clip00.png"));
  CHECK(exists(d + "/test/id0004#clip01.png"));
  CHECK(!exists(d + "/train/id0004#clip00.png"));
  CHECK(exists(d + "/gt/train/id0000#clip01/masks.png"));
  CHECK(exists(d + "/gt/test/id0004#clip00/background.png"));
  std::string csv = read_file_bytes(d + "/gt/train/id0001#clip00/keypoints.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 7);  // header + 6 frames
  // The same seed renders the same video; the pose moves; masks cover the puppet.
  auto a = render_puppet_video(3, 1, 0, 6, 32), b = render_puppet_video(3, 1, 0, 6, 32);
  CHECK(a[5].image.to_vector<uint8_t>() == b[5].image.to_vector<uint8_t>());
  CHECK(a[0].image.to_vector<uint8_t>() != a[5].image.to_vector<uint8_t>());
  CHECK(a[0].joints != a[5].joints);
  auto mv = a[2].mask.to_vector<uint8_t>();
  int64_t covered = std::count_if(mv.begin(), mv.end(), [](uint8_t v) { return v > 128; });
  CHECK(covered > 40);
  CHECK(covered < 32 * 32 / 2);
  SyntheticOptions one;
  one.videos = 1;
  CHECK_THROWS_WITH_AS(make_synthetic_dataset("/tmp/x", one), doctest::Contains("make-dataset"), Error);
}

TEST_CASE("synthetic puppets: the style scales the figure and its travel; scale 1 is the original") {
  auto covered = [](const PuppetFrame& f) {
    auto m = f.mask.to_vector<uint8_t>();
    return double(std::count_if(m.begin(), m.end(), [](uint8_t v) { return v > 128; }));
  };
  auto centre_x = [](const PuppetFrame& f) { return f.joints[2]; };  // the neck
  PuppetStyle plain, big{1.8, 1.0}, far{1.0, 3.0};
  auto a = render_puppet_video(4, 2, 0, 8, 64), a1 = render_puppet_video(4, 2, 0, 8, 64, nullptr, plain);
  auto b = render_puppet_video(4, 2, 0, 8, 64, nullptr, big), c = render_puppet_video(4, 2, 0, 8, 64, nullptr, far);
  CHECK(a[3].image.to_vector<uint8_t>() == a1[3].image.to_vector<uint8_t>());
  // Area grows with the square of the scale (edges and occlusions make it inexact).
  double ratio = covered(b[3]) / covered(a[3]);
  INFO("area ratio at scale 1.8: " << ratio);
  CHECK(ratio > 2.4);
  CHECK(ratio < 4.0);
  // The head stays inside the frame, and the figure's vertical middle near the centre.
  for (const auto& f : b) CHECK(f.joints[1] > -1.0f);
  // Three times the drift: the neck's horizontal travel over the clip triples.
  auto travel = [&](const std::vector<PuppetFrame>& v) {
    float lo = 9, hi = -9;
    for (const auto& f : v) lo = std::min(lo, centre_x(f)), hi = std::max(hi, centre_x(f));
    return double(hi - lo);
  };
  CHECK(travel(c) > 1.5 * travel(a));
  // A plain background is one colour; the default one is not.
  auto distinct_colours = [](const Tensor& bg) {
    auto v = bg.to_vector<uint8_t>();
    std::vector<uint32_t> c;
    for (size_t i = 0; i + 2 < v.size(); i += 3) c.push_back(uint32_t(v[i]) << 16 | uint32_t(v[i + 1]) << 8 | v[i + 2]);
    std::sort(c.begin(), c.end());
    return std::unique(c.begin(), c.end()) - c.begin();
  };
  Tensor textured, plain_bg;
  render_puppet_video(4, 2, 0, 1, 32, &textured);
  render_puppet_video(4, 2, 0, 1, 32, &plain_bg, PuppetStyle{1.0, 1.0, true});
  CHECK(distinct_colours(plain_bg) == 1);
  CHECK(distinct_colours(textured) > 50);
  CHECK_THROWS_WITH_AS(render_puppet_video(4, 2, 0, 2, 32, nullptr, PuppetStyle{3.0, 1.0}), doctest::Contains("scale"),
                       Error);
}

TEST_CASE("dataset: strip, frame-folder and mp4 layouts, resizing, id sampling, corrupt entries") {
  REQUIRE_VIDEO_OR_SKIP();
  DatasetOptions o;
  o.frame_h = o.frame_w = 32;
  VideoDataset train(small_dataset(), "train", o);
  CHECK(train.size() == 8);
  CHECK(train.load_video(0).shape() == Shape{6, 3, 32, 32});
  o.frame_h = o.frame_w = 16;
  VideoDataset small(small_dataset(), "train", o);
  CHECK(small.load_video(1).shape() == Shape{6, 3, 16, 16});
  o.id_sampling = true;
  o.num_repeats = 3;
  VideoDataset ids(small_dataset(), "train", o);
  CHECK(ids.epoch_length() == 4 * 3);
  CHECK(identity_of("id0003#clip01") == "id0003");
  // Other layouts under one root: a frame folder, an mp4, a corrupt file, a README.
  std::string d = temp_dir("layouts");
  std::system(("mkdir -p '" + d + "/train/folder#a'").c_str());
  auto frames = render_puppet_video(5, 0, 0, 4, 32);
  std::vector<Tensor> images;
  for (size_t i = 0; i < frames.size(); ++i) {
    images.push_back(frames[i].image);
    write_image(d + "/train/folder#a/" + std::to_string(i) + ".png", frames[i].image);
  }
  write_video(d + "/train/movie#b.mp4", images, 10);
  std::ofstream(d + "/train/broken#c.png") << "not a png";
  std::ofstream(d + "/train/README.txt") << "notes";
  DatasetOptions o2;
  o2.frame_h = o2.frame_w = 32;
  VideoDataset mixed(d, "train", o2);
  CHECK(mixed.size() == 2);
  CHECK(mixed.skipped() == 1);
  CHECK(mixed.load_video(0).shape() == Shape{4, 3, 32, 32});
  CHECK(mixed.load_frames(0, {3, 1}).shape() == Shape{2, 3, 32, 32});
  CHECK(mixed.load_video(1).shape() == Shape{4, 3, 32, 32});
  // A frame folder's training pair reads only its two frames: the same tensors as the whole video's.
  CHECK(mixed.frame_count_without_decoding(0) == 4);
  CHECK(mixed.frame_count_without_decoding(1) == -1);  // the mp4 is decoded to be counted
  Tensor whole = mixed.load_video(0);
  auto frame_of = [&](int64_t k) { return kernels::slice(whole, 0, k, k + 1).reshape({3, 32, 32}); };
  for (int64_t item = 0; item < 6; ++item) {
    VideoDataset::Pair p = mixed.training_pair(0, item);
    if (p.video != 0) continue;
    CHECK(test::bit_equal(p.source, frame_of(p.source_frame)));
    CHECK(test::bit_equal(p.driving, frame_of(p.driving_frame)));
  }
  std::string empty = temp_dir("empty");
  std::system(("mkdir -p '" + empty + "/train'").c_str());
  std::ofstream(empty + "/train/bad.png") << "x";
  CHECK_THROWS_WITH_AS(VideoDataset(empty, "train", o2), doctest::Contains("no readable video"), Error);
  CHECK_THROWS_WITH_AS(VideoDataset(empty, "val", o2), doctest::Contains("is not a folder"), Error);
}

TEST_CASE("training pairs and the loader: two distinct frames, and batches independent of the worker count") {
  DatasetOptions o;
  o.frame_h = o.frame_w = 32;
  o.seed = 11;
  o.num_repeats = 2;
  o.horizontal_flip = true;
  o.time_flip = true;
  o.brightness = o.contrast = o.saturation = 0.1f;
  o.hue = 0.05f;
  VideoDataset ds(small_dataset(), "train", o);
  VideoDataset::Pair p = ds.training_pair(0, 3);
  CHECK(p.source_frame != p.driving_frame);
  CHECK(p.source.shape() == Shape{3, 32, 32});
  auto order = ds.epoch_order(1);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k) CHECK(sorted[k] == int64_t(k));
  CHECK(order != ds.epoch_order(2));
  std::vector<TrainBatch> one, four;
  {
    TrainLoader l1(ds, 3, 1, 2);
    CHECK(l1.batches_per_epoch() == 5);
    for (int s = 0; s < 7; ++s) one.push_back(l1.next());
  }
  {
    TrainLoader l4(ds, 3, 4, 6);
    for (int s = 0; s < 7; ++s) four.push_back(l4.next());
  }
  for (int s = 0; s < 7; ++s) {
    INFO("step " << s);
    CHECK(one[size_t(s)].step == s);
    CHECK(one[size_t(s)].epoch == s / 5);
    CHECK(test::bit_equal(one[size_t(s)].source, four[size_t(s)].source));
    CHECK(test::bit_equal(one[size_t(s)].driving, four[size_t(s)].driving));
    CHECK(one[size_t(s)].videos == four[size_t(s)].videos);
  }
  CHECK_THROWS_WITH_AS(TrainLoader(ds, 100, 1), doctest::Contains("fewer than one batch"), Error);
}

TEST_CASE("FOMM's resize and crop augmentations: the geometry on a hand-made clip") {
  // Two 4x4 frames whose pixel values name their position: 100 t + 10 y + x.
  std::vector<float> v;
  for (int t = 0; t < 2; ++t)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) v.push_back(float(100 * t + 10 * y + x));
  Tensor clip = test::tensor(v, Shape{2, 1, 4, 4});
  // Twice the size (8x8, nearest), then a 4x4 crop at row 2 (u 0.5 of offsets 0..4), column 0.
  ResizeCropParams p;
  p.resize = true;
  p.ratio_lo = p.ratio_hi = 2;
  p.crop_h = p.crop_w = 4;
  ResizeCropGeometry g = draw_resize_crop(4, 4, p, 0.3, 0.5, 0.0);
  CHECK(g.resized_h == 8);
  CHECK(g.y0 == 2);
  CHECK(g.x0 == 0);
  Tensor out = apply_resize_crop(clip, g);
  REQUIRE(out.shape() == Shape{2, 1, 4, 4});
  std::vector<float> expected;
  for (int t = 0; t < 2; ++t)
    for (int y : {1, 1, 2, 2})
      for (int x : {0, 0, 1, 1}) expected.push_back(float(100 * t + 10 * y + x));
  CHECK(out.to_vector<float>() == expected);
  // Half the size (2x2 from 4x4), then a 4x4 crop: edge padding of one pixel on each side and
  // no random offset left.
  p.ratio_lo = p.ratio_hi = 0.5f;
  g = draw_resize_crop(4, 4, p, 0.9, 0.9, 0.9);
  CHECK(g.resized_w == 2);
  CHECK(g.pad_top == 1);
  CHECK(g.y0 == 0);
  out = apply_resize_crop(clip, g);
  expected.clear();
  for (int t = 0; t < 2; ++t)
    for (int y : {1, 1, 3, 3})
      for (int x : {1, 1, 3, 3}) expected.push_back(float(100 * t + 10 * y + x));
  CHECK(out.to_vector<float>() == expected);
  // The official mgif values: the offset stays inside the enlarged frame; no crop keeps the size.
  p.ratio_lo = 0.9f;
  p.ratio_hi = 1.1f;
  p.crop_h = p.crop_w = 256;
  g = draw_resize_crop(256, 256, p, 0.999, 0.999, 0.0);
  CHECK(g.resized_h == 281);
  CHECK(g.y0 == 25);
  CHECK(g.x0 == 0);
  p.crop_h = p.crop_w = 0;
  g = draw_resize_crop(256, 256, p, 0.0, 0.5, 0.5);
  CHECK(g.out_h == 230);
  CHECK(g.y0 == 0);
}

TEST_CASE("FOMM's resize and crop augmentations in training pairs: one geometry per pair, reproducible") {
  // One video of three identical frames (a horizontal strip), so any difference between the
  // source and the driving frame of a pair could only come from different geometry.
  std::string d = temp_dir("resizecrop");
  std::system(("mkdir -p '" + d + "/train'").c_str());
  std::vector<uint8_t> px;
  for (int y = 0; y < 16; ++y)
    for (int f = 0; f < 3; ++f)
      for (int x = 0; x < 16; ++x)
        for (int c = 0; c < 3; ++c) px.push_back(uint8_t((y * 16 + x + 40 * c) % 256));
  write_image(d + "/train/still.png", Tensor::from_vector<uint8_t>(px, Shape{16, 48, 3}));
  DatasetOptions o;
  o.frame_h = o.frame_w = 16;
  o.seed = 5;
  VideoDataset plain(d, "train", o);
  o.resize_crop.resize = true;
  o.resize_crop.ratio_lo = 0.8f;
  o.resize_crop.ratio_hi = 1.25f;
  o.resize_crop.crop_h = o.resize_crop.crop_w = 12;
  VideoDataset augmented(d, "train", o), again(d, "train", o);
  o.seed = 6;
  VideoDataset other_seed(d, "train", o);
  int changed = 0, seed_differs = 0;
  for (int64_t item = 0; item < 8; ++item) {
    INFO("item " << item);
    VideoDataset::Pair p = augmented.training_pair(0, item), q = again.training_pair(0, item);
    REQUIRE(p.source.shape() == Shape{3, 16, 16});  // cropped to 12x12, resampled to the frame shape
    CHECK(test::bit_equal(p.source, p.driving));
    CHECK(test::bit_equal(p.source, q.source));
    changed += !test::bit_equal(p.source, plain.training_pair(0, item).source);
    seed_differs += !test::bit_equal(p.source, other_seed.training_pair(0, item).source);
  }
  CHECK(changed == 8);
  CHECK(seed_differs > 0);
  o.resize_crop.ratio_lo = 0;
  CHECK_THROWS_WITH_AS(VideoDataset(d, "train", o), doctest::Contains("resize ratio"), Error);
}

TEST_CASE("animation pairs from a csv and from a seed") {
  DatasetOptions o;
  o.frame_h = o.frame_w = 32;
  VideoDataset test_set(small_dataset(), "test", o);
  REQUIRE(test_set.size() == 2);
  std::string d = temp_dir("pairs");
  std::ofstream(d + "/pairs.csv") << "distance,source,driving\n0,id0004#clip00,id0004#clip01.png\n";
  auto pairs = animation_pairs_from_csv(test_set, d + "/pairs.csv");
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0] == std::pair<int64_t, int64_t>{0, 1});
  std::ofstream(d + "/bad.csv") << "source,driving\nnope,id0004#clip00\n";
  CHECK_THROWS_WITH_AS(animation_pairs_from_csv(test_set, d + "/bad.csv"), doctest::Contains("no video named 'nope'"),
                       Error);
  VideoDataset train(small_dataset(), "train", o);
  auto random = random_animation_pairs(train, 20, 5);
  CHECK(random.size() == 20);
  for (auto [s, t] : random)
    CHECK(identity_of(train.videos()[size_t(s)].name) != identity_of(train.videos()[size_t(t)].name));
  CHECK(random == random_animation_pairs(train, 20, 5));
}

TEST_CASE("the mp4 layout of the synthetic data") {
  REQUIRE_VIDEO_OR_SKIP();
  DatasetOptions o;
  o.frame_h = o.frame_w = 32;
  std::string mp4 = temp_dir("mp4layout");
  SyntheticOptions so;
  so.videos = 4;
  so.frames = 5;
  so.size = 32;
  so.layout = "mp4";
  make_synthetic_dataset(mp4, so);
  VideoDataset vids(mp4, "train", o);
  CHECK(vids.videos()[0].kind == VideoEntry::Kind::VideoFile);
  CHECK(vids.load_video(0).shape() == Shape{5, 3, 32, 32});
}

}  // TEST_SUITE

TEST_SUITE("data") {

TEST_CASE("pinned staging buffers: plain memory without a GPU") {
  Tensor t = Tensor::empty_pinned(Shape{4, 4});
  CHECK(t.device().is_cpu());
  CHECK(t.is_pinned() == cuda_available());
  kernels::fill(t, 2.0);
  CHECK(t.to_vector<float>() == std::vector<float>(16, 2.f));
}

TEST_CASE("the loader delivers the same batches on the GPU through pinned memory [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  DatasetOptions o;
  o.frame_h = o.frame_w = 32;
  o.num_repeats = 2;
  VideoDataset ds(small_dataset(), "train", o);
  TrainLoader cpu(ds, 4, 2), gpu(ds, 4, 2, 4, Device::cuda());
  for (int s = 0; s < 3; ++s) {
    TrainBatch a = cpu.next(), b = gpu.next();
    CHECK(b.source.is_cuda());
    CHECK(b.host_source.is_pinned());
    CHECK(test::bit_equal(a.source, raw::to_device(b.source, Device::cpu())));
    CHECK(test::bit_equal(a.driving, raw::to_device(b.driving, Device::cpu())));
  }
}

}  // TEST_SUITE
