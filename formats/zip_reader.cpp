#include "formats/zip_reader.h"

#include <algorithm>
#include <cstring>

#include "tensor/error.h"

namespace anima {
namespace {

voidpf mem_open(voidpf opaque, const void*, int) { return opaque; }
uLong mem_read(voidpf, voidpf stream, void* buf, uLong n) {
  auto* m = static_cast<MemoryStream*>(stream);
  uint64_t k = std::min<uint64_t>(n, m->size - m->pos);
  if (k) std::memcpy(buf, m->data + m->pos, size_t(k));
  m->pos += k;
  return uLong(k);
}
uLong mem_write(voidpf, voidpf, const void*, uLong) { return 0; }
ZPOS64_T mem_tell(voidpf, voidpf stream) { return static_cast<MemoryStream*>(stream)->pos; }
long mem_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* m = static_cast<MemoryStream*>(stream);
  uint64_t base = origin == ZLIB_FILEFUNC_SEEK_SET ? 0 : origin == ZLIB_FILEFUNC_SEEK_CUR ? m->pos : m->size;
  uint64_t to;
  if (__builtin_add_overflow(base, offset, &to) || to > m->size) return -1;
  m->pos = to;
  return 0;
}
int mem_close(voidpf, voidpf) { return 0; }
int mem_error(voidpf, voidpf) { return 0; }

// True when the archive ends exactly with its end-of-central-directory record (and its comment):
// minizip also accepts a file cut inside that record when the zip64 records before it survive.
bool ends_with_directory_end(const unsigned char* data, uint64_t size) {
  if (size < 22) return false;
  uint64_t lowest = size > 22 + 0xFFFF ? size - 22 - 0xFFFF : 0;
  for (uint64_t p = size - 22 + 1; p-- > lowest;)
    if (data[p] == 'P' && data[p + 1] == 'K' && data[p + 2] == 5 && data[p + 3] == 6 &&
        p + 22 + (uint64_t(data[p + 20]) | uint64_t(data[p + 21]) << 8) == size)
      return true;
  return false;
}

}  // namespace

ZipReader::ZipReader(const unsigned char* data, size_t size, std::string what)
    : stream_{data, size}, what_(std::move(what)) {
  ANIMA_CHECK(ends_with_directory_end(data, size), what_,
              ": a truncated zip archive (it does not end with an end-of-central-directory record)");
  zlib_filefunc64_def f{};
  f.zopen64_file = mem_open;
  f.zread_file = mem_read;
  f.zwrite_file = mem_write;
  f.ztell64_file = mem_tell;
  f.zseek64_file = mem_seek;
  f.zclose_file = mem_close;
  f.zerror_file = mem_error;
  f.opaque = &stream_;
  z_ = unzOpen2_64(nullptr, &f);
  ANIMA_CHECK(z_ != nullptr, what_, ": not a readable zip archive (no valid central directory)");
  try {
    scan();
  } catch (...) {
    unzClose(z_);
    throw;
  }
}

// One pass over the central directory: every entry's name, position and sizes.
void ZipReader::scan() {
  for (int rc = unzGoToFirstFile(z_); rc == UNZ_OK; rc = unzGoToNextFile(z_)) {
    unz_file_info64 info;
    char name[1024];
    ANIMA_CHECK(unzGetCurrentFileInfo64(z_, &info, name, sizeof name, nullptr, 0, nullptr, 0) == UNZ_OK, what_,
                ": a corrupt zip directory entry");
    ANIMA_CHECK(info.size_filename < sizeof name, what_, ": a zip entry name longer than 1023 bytes");
    Entry e;
    ANIMA_CHECK(unzGetFilePos64(z_, &e.pos) == UNZ_OK, what_, ": a corrupt zip directory entry");
    e.size = info.uncompressed_size;
    e.stored = info.compression_method == 0 && info.compressed_size == info.uncompressed_size;
    ANIMA_CHECK(entries_.size() < (size_t(1) << 20), what_, ": more than 2^20 zip entries");
    ANIMA_CHECK(entries_.emplace(name, e).second, what_, ": zip entry '", printable(name), "' appears twice");
  }
}

ZipReader::~ZipReader() {
  if (z_) unzClose(z_);
}

std::map<std::string, uint64_t> ZipReader::names() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [n, e] : entries_) out.emplace(n, e.size);
  return out;
}

std::string ZipReader::read(const std::string& name, uint64_t bytes) {
  const Entry& e = entry(name);
  ANIMA_CHECK(bytes <= e.size, what_, ": zip entry '", printable(name), "' holds ", e.size, " bytes, ", bytes,
              " needed");
  unz64_file_pos pos = e.pos;
  ANIMA_CHECK(unzGoToFilePos64(z_, &pos) == UNZ_OK && unzOpenCurrentFile(z_) == UNZ_OK, what_,
              ": cannot open zip entry '", printable(name), "'");
  std::string out(size_t(bytes), '\0');
  uint64_t got = 0;
  while (got < bytes) {
    int n = unzReadCurrentFile(z_, out.data() + got, unsigned(std::min<uint64_t>(bytes - got, 1u << 30)));
    if (n <= 0) break;
    got += uint64_t(n);
  }
  int closed = unzCloseCurrentFile(z_);
  ANIMA_CHECK(got == bytes, what_, ": zip entry '", printable(name), "' is truncated (", got, " of ", bytes, " bytes)");
  ANIMA_CHECK(closed != UNZ_CRCERROR, what_, ": zip entry '", printable(name), "' fails its CRC-32 check");
  return out;
}

const ZipReader::Entry& ZipReader::entry(const std::string& name) const {
  auto it = entries_.find(name);
  ANIMA_CHECK(it != entries_.end(), what_, ": the archive has no entry '", printable(name), "'");
  // torch.save stores entries uncompressed: a compressed one could claim any size.
  ANIMA_CHECK(it->second.stored, what_, ": zip entry '", printable(name),
              "' is compressed (torch.save stores entries uncompressed)");
  return it->second;
}

}  // namespace anima
