// Keypoint and embedding files from external detectors, and the papers' metrics on them:
// AKD (average keypoint distance), MKR (missing keypoint rate), AED (average Euclidean distance
// of identity embeddings). Host code; the files are small.
//
// File format (CSV, one per video; easy to write from a face-landmark or pose tool's output):
//   frame,x0,y0,x1,y1,...            header line, required; the first column must be "frame"
//   0,12.5,30.25,,,...               one row per frame; the frame key is any text without commas
//   1,12.7,30.0,nan,nan,...          (an index or a file name) and rows are matched between the
//                                    generated and the ground-truth file by this key
// A missing (undetected) keypoint is an empty field or "nan" (any case) in both its x and y.
// Embeddings use the same layout with any number of value columns (`frame,e0,e1,...`) and no
// missing values. Coordinates are in whatever unit the tool writes (the papers: pixels of the
// 256x256 frame; the synthetic dataset's keypoints.csv: [-1, 1]), and AKD is in that unit.
// Lines starting with '#' and blank lines are skipped; "\r\n" line ends are accepted.
// Every parse error names the file, the line and the column.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace anima {

struct FrameTable {
  std::string path;
  std::vector<std::string> header;  // the value columns' names (without "frame")
  std::vector<std::string> frames;  // frame keys in file order, unique
  std::vector<double> values;       // frames.size() x header.size(), NaN = missing
  int64_t columns() const { return int64_t(header.size()); }
  double at(size_t row, size_t col) const { return values[row * header.size() + col]; }
};

// `what` is "keypoints" (an even number of value columns, x and y missing together) or
// "embeddings" (no missing values).
FrameTable read_frame_table(const std::string& path, const std::string& what);
FrameTable parse_frame_table(const std::string& text, const std::string& path, const std::string& what);

// Per-frame values, in the ground truth's frame order. Both files must hold the same frames
// and the same number of columns (errors name both files and the first differing frame).
//   akd: per frame, the mean Euclidean distance over the keypoints detected in both frames;
//        frames with no such keypoint give no value.
//   mkr: per frame, the fraction of the keypoints detected in the ground truth that are missing
//        in the generated frame; frames without any ground-truth keypoint give no value.
struct KeypointScores {
  std::vector<double> akd, mkr;
};
KeypointScores compare_keypoints(const FrameTable& generated, const FrameTable& ground_truth);

// Per frame: || e_generated - e_ground_truth ||_2 (AED's terms).
std::vector<double> compare_embeddings(const FrameTable& generated, const FrameTable& ground_truth);

}  // namespace anima
