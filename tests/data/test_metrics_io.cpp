// Keypoint and embedding files (data/metrics_io.h): parsing, AKD, MKR, AED, and errors that name
// the file, the line and the column.
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "data/metrics_io.h"
#include "tests/test_util.h"

using namespace anima;

TEST_SUITE("data.metrics") {

TEST_CASE("metrics io: AKD and MKR over the keypoints detected, rows matched by frame key") {
  // Frame 0: keypoints 0 and 1 in both (distances 5 and 0), keypoint 2 missing in the ground truth.
  // Frame 1: ground truth has all three; generated misses 0 and 2, keypoint 1 is 1 away.
  FrameTable gt = parse_frame_table("frame,x0,y0,x1,y1,x2,y2\n0,0,0,1,1,,\n1,0,0,0,0,5,5\n", "gt.csv", "keypoints");
  FrameTable gen = parse_frame_table("# a comment\nframe,x0,y0,x1,y1,x2,y2\r\n1,nan,NaN,0,1,,\r\n\n0,3,4,1,1,2,2\r\n",
                                     "gen.csv", "keypoints");
  CHECK(gt.frames == std::vector<std::string>{"0", "1"});
  CHECK(std::isnan(gt.at(0, 4)));
  KeypointScores s = compare_keypoints(gen, gt);
  REQUIRE(s.akd.size() == 2);
  CHECK(s.akd[0] == doctest::Approx(2.5));
  CHECK(s.akd[1] == doctest::Approx(1.0));
  REQUIRE(s.mkr.size() == 2);
  CHECK(s.mkr[0] == 0.0);
  CHECK(s.mkr[1] == doctest::Approx(2.0 / 3));
  // A frame with no keypoint in common gives no AKD value; one with none in the ground truth no MKR.
  FrameTable none = parse_frame_table("frame,x0,y0\n0,,\n", "none.csv", "keypoints");
  FrameTable one = parse_frame_table("frame,x0,y0\n0,1,2\n", "one.csv", "keypoints");
  CHECK(compare_keypoints(none, one).akd.empty());
  CHECK(compare_keypoints(none, one).mkr == std::vector<double>{1.0});
  CHECK(compare_keypoints(one, none).mkr.empty());
}

TEST_CASE("metrics io: AED is the per-frame L2 distance of embeddings") {
  FrameTable gt = parse_frame_table("frame,e0,e1,e2\na.png,0,0,0\nb.png,1,1,1\n", "gt.csv", "embeddings");
  FrameTable gen = parse_frame_table("frame,e0,e1,e2\nb.png,1,1,1\na.png,3,4,0\n", "gen.csv", "embeddings");
  std::vector<double> d = compare_embeddings(gen, gt);
  REQUIRE(d.size() == 2);
  CHECK(d[0] == doctest::Approx(5.0));
  CHECK(d[1] == 0.0);
}

TEST_CASE("metrics io: files written to disk are read back") {
  std::string path = "/tmp/anima_test_kp_" + std::to_string(::getpid()) + ".csv";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("frame,x0,y0\n0,0.5,-0.25\n", f);
    std::fclose(f);
  }
  FrameTable t = read_frame_table(path, "keypoints");
  CHECK(t.path == path);
  CHECK(t.values == std::vector<double>{0.5, -0.25});
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(read_frame_table(path, "keypoints"), doctest::Contains(path.c_str()), Error);
}

TEST_CASE("metrics io: bad files are errors naming file, line and column") {
  auto parse_kp = [](const std::string& text) { return parse_frame_table(text, "kp.csv", "keypoints"); };
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0\n0,1,2\n1,abc,2\n"),
                       doctest::Contains("kp.csv:3: column 2 (x0): 'abc' is not a number"), Error);
  CHECK_THROWS_WITH_AS(parse_kp("0,1,2\n"), doctest::Contains("kp.csv:1: expected a header line 'frame,"), Error);
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0,x1\n"), doctest::Contains("needs x,y pairs"), Error);
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0\n0,1,2,3\n"), doctest::Contains("kp.csv:2: 4 columns, the header has 3"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0\n0,1,\n"),
                       doctest::Contains("kp.csv:2: column 2 (x0) and column 3 (y0): a keypoint must have both"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0\n0,1,2\n\n0,1,2\n"),
                       doctest::Contains("kp.csv:4: frame '0' already appeared on line 2"), Error);
  CHECK_THROWS_WITH_AS(parse_kp("frame,x0,y0\n"), doctest::Contains("no frame rows"), Error);
  CHECK_THROWS_WITH_AS(parse_kp(""), doctest::Contains("empty keypoints file"), Error);
  CHECK_THROWS_WITH_AS(parse_frame_table("frame,e0\n0,\n", "e.csv", "embeddings"),
                       doctest::Contains("e.csv:2: column 2 (e0): an embedding value is missing"), Error);
  FrameTable a = parse_kp("frame,x0,y0\n0,1,2\n1,1,2\n");
  FrameTable b = parse_frame_table("frame,x0,y0\n0,1,2\n2,1,2\n", "other.csv", "keypoints");
  CHECK_THROWS_WITH_AS(compare_keypoints(a, b), doctest::Contains("frame '2' of other.csv is not in kp.csv"), Error);
  FrameTable c = parse_frame_table("frame,x0,y0,x1,y1\n0,1,2,3,4\n1,1,2,3,4\n", "wide.csv", "keypoints");
  CHECK_THROWS_WITH_AS(compare_keypoints(a, c), doctest::Contains("kp.csv has 2 value columns but wide.csv has 4"),
                       Error);
}

}  // TEST_SUITE
