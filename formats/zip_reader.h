// Reading a zip archive held in memory (minizip, Debian's libminizip), for PyTorch checkpoints.
// Only stored (uncompressed) entries are read, as torch.save writes them: a compressed entry could
// claim any uncompressed size. A full read checks the entry's CRC-32. Errors name `what`.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <minizip/unzip.h>

namespace anima {

struct MemoryStream {
  const unsigned char* data;
  uint64_t size, pos = 0;
};

class ZipReader {
 public:
  ZipReader(const unsigned char* data, size_t size, std::string what);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  std::map<std::string, uint64_t> names() const;  // every entry and its size
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  uint64_t size(const std::string& name) const { return entry(name).size; }
  // The first `bytes` bytes of a stored entry (all of it: the CRC-32 is checked too).
  std::string read(const std::string& name, uint64_t bytes);

 private:
  struct Entry {
    unz64_file_pos pos{};
    uint64_t size = 0;
    bool stored = false;
  };
  void scan();
  const Entry& entry(const std::string& name) const;
  MemoryStream stream_;
  std::string what_;
  unzFile z_ = nullptr;
  std::map<std::string, Entry> entries_;
};

}  // namespace anima
