// SHA-256 (FIPS 180-4), for checking that runs give the same bits (a checkpoint's digest) and
// for manifests. Not for secrets: no constant-time guarantees.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace anima {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::string hex();  // finishes: the digest as 64 lowercase hex digits

 private:
  void block(const unsigned char* p);
  uint32_t h_[8];
  unsigned char buf_[64];
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::string& path);  // throws naming the file

}  // namespace anima
