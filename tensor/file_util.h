// Whole-file reads and atomic writes, for checkpoints, images and datasets.
#pragma once
#include <string>

namespace anima {

// The file's bytes; throws naming the file and the system's reason. Only regular files: a pipe,
// a device or a folder is refused before it is opened.
std::string read_file_bytes(const std::string& path);
// Throws unless `path` is an existing regular file (stat only: never blocks).
void check_regular_file(const std::string& path);

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename, fsync
// of the folder. A failure at any step leaves the previous file untouched and the temporary removed.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Removes the temporary files of atomic writes (NAME.tmp.PID, NAME.tmp.PID.EXT) in `folder` whose
// process is gone (a run killed while writing); returns how many. Files of live processes stay.
int remove_stale_temp_files(const std::string& folder);

// Whether something exists at `path` (stat only), and whether two paths name the same file.
bool path_exists(const std::string& path);
bool same_file(const std::string& a, const std::string& b);

// Creates a folder and its missing parents (mkdir -p); an error names the path and the reason.
void make_directories(const std::string& path);

}  // namespace anima
