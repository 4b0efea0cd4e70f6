// Training curves: log parsing (header, config and resume lines skipped; a re-logged step keeps
// its last value) and the rendered plot (requested size, something drawn in every panel).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "data/image_io.h"
#include "tests/test_util.h"
#include "tools/plot.h"

using namespace anima;

TEST_SUITE("tools") {

TEST_CASE("plot: a run's log becomes one panel per loss term, of the requested size") {
  std::string d = "/tmp/anima_test_plot_" + std::to_string(::getpid());
  std::system(("rm -rf '" + d + "' && mkdir -p '" + d + "'").c_str());
  {
    std::ofstream f(d + "/log.txt");
    f << "anima train; commit abc; device cpu; seed 5\n--- config ---\ntrain_params:\n  epoch_milestones: [1]\n"
         "epoch step in the config is not a loss line\n--- end config ---\n";
    for (int s = 1; s <= 20; ++s)
      f << "epoch " << (s - 1) / 10 << " step " << s << " perceptual " << 100.0 / s << " gen_gan " << 0.25 + 0.01 * s
        << " consistency " << (s % 3) * 0.1 << "\n";
    f << "resumed from x at epoch 1, step 15\n";
    f << "epoch 1 step 16 perceptual 7.5 gen_gan 0.4 consistency 0.2\n";
  }
  tools::LossCurves curves = tools::read_loss_log(d + "/log.txt");
  REQUIRE(curves.names == std::vector<std::string>{"perceptual", "gen_gan", "consistency"});
  REQUIRE(curves.points.at("perceptual").size() == 20);
  CHECK(curves.points.at("perceptual")[15] == std::pair<double, double>{16, 7.5});  // the resumed value
  tools::PlotOptions o;
  o.width = 640;
  o.height = 400;
  tools::plot_log_file(d + "/log.txt", d + "/curves.png", o);
  Tensor image = read_image(d + "/curves.png");
  REQUIRE(image.shape() == Shape{400, 640, 3});
  auto rects = tools::plot_panels(3, 640, 400);
  REQUIRE(rects.size() == 3);
  CHECK(rects[2].y0 == 200);  // two columns, two rows
  const uint8_t* p = image.data<uint8_t>();
  for (size_t i = 0; i < rects.size(); ++i) {
    INFO("panel " << i);
    int64_t coloured = 0, dark = 0;  // the curve (saturated colour) and axes/labels (dark grey)
    for (int y = rects[i].y0; y <= rects[i].y1; ++y)
      for (int x = rects[i].x0; x <= rects[i].x1; ++x) {
        const uint8_t* q = p + (int64_t(y) * 640 + x) * 3;
        int mx = std::max({int(q[0]), int(q[1]), int(q[2])}), mn = std::min({int(q[0]), int(q[1]), int(q[2])});
        coloured += mx - mn > 60;
        dark += mx < 120;
      }
    CHECK(coloured > 50);
    CHECK(dark > 200);
  }
  // The empty bottom-right quarter stays background.
  for (int y = 210; y < 400; y += 7)
    for (int x = 330; x < 640; x += 7) CHECK(p[(int64_t(y) * 640 + x) * 3] == 255);
  // A log without loss lines, and a panel grid too small for its axes.
  std::ofstream(d + "/empty.txt") << "anima train; commit abc\nresumed from x\n";
  CHECK_THROWS_WITH_AS(tools::read_loss_log(d + "/empty.txt"), doctest::Contains("no loss lines"), Error);
  o.width = 60;
  o.height = 40;
  CHECK_THROWS_WITH_AS(tools::plot_loss_curves(curves, o), doctest::Contains("too small"), Error);
  std::system(("rm -rf '" + d + "'").c_str());
}

}  // TEST_SUITE
