#include "data/metrics_io.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "tensor/error.h"
#include "tensor/file_util.h"

namespace anima {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_missing(const std::string& s) {
  if (s.empty()) return true;
  std::string l;
  for (char c : s) l += char(std::tolower(static_cast<unsigned char>(c)));
  return l == "nan";
}

double parse_value(const std::string& s, const std::string& where) {
  if (is_missing(s)) return NAN;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  ANIMA_CHECK(end == s.c_str() + s.size() && std::isfinite(v), where, ": '", s, "' is not a number");
  return v;
}

// The frames of `ground_truth` looked up in `generated`: row indices, checked.
std::vector<size_t> match_rows(const FrameTable& generated, const FrameTable& ground_truth) {
  ANIMA_CHECK(generated.columns() == ground_truth.columns(), generated.path, " has ", generated.columns(),
              " value columns but ", ground_truth.path, " has ", ground_truth.columns());
  ANIMA_CHECK(generated.frames.size() == ground_truth.frames.size(), generated.path, " has ", generated.frames.size(),
              " frames but ", ground_truth.path, " has ", ground_truth.frames.size());
  std::map<std::string, size_t> index;
  for (size_t r = 0; r < generated.frames.size(); ++r) index[generated.frames[r]] = r;
  std::vector<size_t> rows;
  for (const std::string& f : ground_truth.frames) {
    auto it = index.find(f);
    ANIMA_CHECK(it != index.end(), "frame '", f, "' of ", ground_truth.path, " is not in ", generated.path);
    rows.push_back(it->second);
  }
  return rows;
}

}  // namespace

FrameTable parse_frame_table(const std::string& text, const std::string& path, const std::string& what) {
  ANIMA_CHECK(what == "keypoints" || what == "embeddings", "parse_frame_table: unknown kind ", what);
  FrameTable t;
  t.path = path;
  std::istringstream in(text);
  std::string line;
  std::map<std::string, int64_t> seen;
  int64_t line_no = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty() || line[0] == '#') continue;
    std::vector<std::string> fields = split_csv_line(line);
    for (std::string& f : fields) f = trim(f);
    std::string at = path + ":" + std::to_string(line_no);
    if (!have_header) {
      ANIMA_CHECK(fields.size() >= 2 && fields[0] == "frame", at, ": expected a header line 'frame,",
                  what == "keypoints" ? "x0,y0,x1,y1,...'" : "e0,e1,...'", " (", what, " file), got '", line, "'");
      t.header.assign(fields.begin() + 1, fields.end());
      ANIMA_CHECK(what != "keypoints" || t.header.size() % 2 == 0, at, ": a keypoints header needs x,y pairs, got ",
                  t.header.size(), " value columns");
      have_header = true;
      continue;
    }
    ANIMA_CHECK(fields.size() == t.header.size() + 1, at, ": ", fields.size(), " columns, the header has ",
                t.header.size() + 1);
    ANIMA_CHECK(!fields[0].empty(), at, ": column 1 (frame) is empty");
    auto [it, fresh] = seen.emplace(fields[0], line_no);
    ANIMA_CHECK(fresh, at, ": frame '", fields[0], "' already appeared on line ", it->second);
    t.frames.push_back(fields[0]);
    for (size_t c = 1; c < fields.size(); ++c) {
      std::string where = at + ": column " + std::to_string(c + 1) + " (" + t.header[c - 1] + ")";
      double v = parse_value(fields[c], where);
      ANIMA_CHECK(what != "embeddings" || !std::isnan(v), where, ": an embedding value is missing");
      t.values.push_back(v);
    }
    if (what == "keypoints")
      for (size_t k = 0; k < t.header.size(); k += 2) {
        bool mx = std::isnan(t.values[t.values.size() - t.header.size() + k]);
        bool my = std::isnan(t.values[t.values.size() - t.header.size() + k + 1]);
        ANIMA_CHECK(mx == my, at, ": column ", k + 2, " (", t.header[k], ") and column ", k + 3, " (", t.header[k + 1],
                    "): a keypoint must have both coordinates or neither");
      }
  }
  ANIMA_CHECK(have_header, path, ": empty ", what, " file (expected a header line starting with 'frame')");
  ANIMA_CHECK(!t.frames.empty(), path, ": no frame rows after the header");
  return t;
}

FrameTable read_frame_table(const std::string& path, const std::string& what) {
  return parse_frame_table(read_file_bytes(path), path, what);
}

KeypointScores compare_keypoints(const FrameTable& generated, const FrameTable& ground_truth) {
  std::vector<size_t> rows = match_rows(generated, ground_truth);
  KeypointScores s;
  size_t K = size_t(ground_truth.columns()) / 2;
  for (size_t r = 0; r < rows.size(); ++r) {
    double distance = 0;
    int64_t both = 0, in_gt = 0, missed = 0;
    for (size_t k = 0; k < K; ++k) {
      double gx = ground_truth.at(r, 2 * k), gy = ground_truth.at(r, 2 * k + 1);
      double px = generated.at(rows[r], 2 * k), py = generated.at(rows[r], 2 * k + 1);
      bool g = !std::isnan(gx), p = !std::isnan(px);
      in_gt += g;
      missed += g && !p;
      if (g && p) {
        distance += std::hypot(px - gx, py - gy);
        ++both;
      }
    }
    if (both > 0) s.akd.push_back(distance / double(both));
    if (in_gt > 0) s.mkr.push_back(double(missed) / double(in_gt));
  }
  return s;
}

std::vector<double> compare_embeddings(const FrameTable& generated, const FrameTable& ground_truth) {
  std::vector<size_t> rows = match_rows(generated, ground_truth);
  std::vector<double> out;
  for (size_t r = 0; r < rows.size(); ++r) {
    double s = 0;
    for (size_t c = 0; c < size_t(ground_truth.columns()); ++c) {
      double d = generated.at(rows[r], c) - ground_truth.at(r, c);
      s += d * d;
    }
    out.push_back(std::sqrt(s));
  }
  return out;
}

}  // namespace anima
