#include "tensor/file_util.h"

#include <sys/stat.h>
#include <filesystem>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace anima {

void check_regular_file(const std::string& path) {
  struct stat st;
  ANIMA_CHECK(::stat(path.c_str(), &st) == 0, path, ": cannot open (", std::strerror(errno), ")");
  ANIMA_CHECK(S_ISREG(st.st_mode), path, ": not a regular file (",
              S_ISDIR(st.st_mode)    ? "a folder"
              : S_ISFIFO(st.st_mode) ? "a pipe"
              : S_ISCHR(st.st_mode)  ? "a device"
                                     : "special",
              ")");
}

std::string read_file_bytes(const std::string& path) {
  check_regular_file(path);  // a pipe would block, a device (/dev/zero) never end
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), path, ": cannot open (", std::strerror(errno), ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  ANIMA_CHECK(!in.bad(), path, ": read error");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ANIMA_CHECK(fd >= 0, path, ": cannot create temporary file ", tmp, " (", std::strerror(errno), ")");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      ANIMA_FAIL(path, ": write failed (", std::strerror(err), "); the previous file is untouched");
    }
    done += size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    ANIMA_FAIL(path, ": fsync/close failed (", std::strerror(err), "); the previous file is untouched");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    ANIMA_FAIL(path, ": rename failed (", std::strerror(err), ")");
  }
  // Make the rename itself durable.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

int remove_stale_temp_files(const std::string& folder) {
  std::error_code ec;
  int removed = 0;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
    std::string name = e.path().filename().string();
    size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || !e.is_regular_file(ec)) continue;
    std::string rest = name.substr(at + 5);
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits > 9 || (digits < rest.size() && rest[digits] != '.')) continue;
    pid_t pid = pid_t(std::stol(rest.substr(0, digits)));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    if (std::filesystem::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

void make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  ANIMA_CHECK(!ec && std::filesystem::is_directory(path), path, ": cannot create the folder (",
              ec ? ec.message() : std::string("a file of that name exists"), ")");
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace anima
