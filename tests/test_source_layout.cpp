// The source tree's rules, checked on the files themselves: every include points down the
// folders' order (README, "Layout"), inside models/ only registry -> model -> common and
// prioritycut -> fomm, and no source file is over 500 lines.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace {

// The rank of a source file's room: a file may include files of its own room or of a lower one.
// models/ is split into its own floors: common < (fomm, refined_mask) < prioritycut < registry.
// fomm and refined_mask share a floor but may not include each other (different rooms, same rank).
struct Room {
  std::string name;
  double rank;
};

Room room_of(const std::string& path) {  // path relative to the repository root
  static const std::map<std::string, double> floors = {{"tensor", 1}, {"formats", 2}, {"kernels", 3}, {"autograd", 4},
                                                       {"layers", 5}, {"data", 6},    {"tools", 9}};
  std::string top = path.substr(0, path.find('/'));
  if (top == "models") {
    std::string rest = path.substr(7);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) return {"models", 7.9};  // registry.*
    std::string sub = rest.substr(0, slash);
    if (sub == "common") return {"models/common", 7.0};
    if (sub == "prioritycut") return {"models/prioritycut", 7.5};
    return {"models/" + sub, 7.2};
  }
  auto it = floors.find(top);
  return {top, it == floors.end() ? -1 : it->second};
}

std::vector<std::string> source_files() {
  std::vector<std::string> out;
  fs::path root = anima::test::source_path("");
  for (const char* dir : {"tensor", "formats", "kernels", "autograd", "layers", "data", "models", "tools", "tests"})
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".h" || ext == ".cpp" || ext == ".cu" || ext == ".cuh"))
        out.push_back(fs::relative(e.path(), root).string());
    }
  return out;
}

}  // namespace

TEST_CASE("source layout: includes point down the folders' order; no file over 500 lines") {
  if (!fs::is_directory(anima::test::source_path("tensor"))) {  // a test binary run away from its sources
    anima::test::mark_skipped("the source tree is not at ANIMA_SOURCE_DIR");
    return;
  }
  std::vector<std::string> files = source_files();
  REQUIRE(files.size() > 100);
  int includes = 0;
  for (const std::string& f : files) {
    std::ifstream in(anima::test::source_path(f));
    REQUIRE(in.good());
    std::string line;
    int lines = 0;
    Room from = room_of(f);
    while (std::getline(in, line)) {
      ++lines;
      if (f.rfind("tests/", 0) == 0 || line.rfind("#include \"", 0) != 0) continue;
      std::string target = line.substr(10, line.find('"', 10) - 10);
      Room to = room_of(target);
      if (to.rank < 0) continue;  // a file of the same folder named without its folder, or a system header
      ++includes;
      INFO(f, " includes ", target);
      CHECK(to.rank <= from.rank);
      if (to.rank == from.rank) CHECK(to.name == from.name);  // fomm/ and refined_mask/ stay apart
    }
    INFO(f, " has ", lines, " lines");
    CHECK(lines <= 500);
  }
  CHECK(includes > 300);
}
