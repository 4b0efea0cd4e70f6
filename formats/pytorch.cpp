#include "formats/pytorch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "formats/pickle.h"
#include "formats/safetensors.h"
#include "formats/zip_reader.h"
#include "tensor/file_util.h"

namespace anima {
namespace {

using pickle::StorageRef;
using pickle::StorageType;
using pickle::Value;

constexpr int kMaxDims = 16;
constexpr int kMaxDepth = 64;
constexpr uint64_t kMaxLeaves = uint64_t(1) << 22;
constexpr uint64_t kMaxElements = uint64_t(1) << 40;
constexpr uint64_t kMaxPickleBytes = uint64_t(1) << 30;

// A storage's bytes: inside the mapped file (legacy) or read from the zip entry on first use.
struct StorageBytes {
  StorageType type = StorageType::F32;
  int64_t numel = 0;  // elements, as declared by the persistent id
  const unsigned char* data = nullptr;
  std::string owned;
  bool present = false;
};

// The persistent ids of one object pickle: every storage it names, checked for consistency.
class StorageTable {
 public:
  explicit StorageTable(bool legacy) : legacy_(legacy) {}
  Value* load(pickle::Unpickler& u, const Value& pid) {
    const auto& a = pid.items;
    size_t want = legacy_ ? 6 : 5;
    ANIMA_CHECK(pid.kind == Value::Kind::Tuple && a.size() == want && a[0]->kind == Value::Kind::String &&
                    a[0]->text == "storage",
                u.what(), ": a persistent id that is not ('storage', type, key, location, numel",
                legacy_ ? ", view)" : ")");
    StorageRef ref;
    ANIMA_CHECK(a[1]->kind == Value::Kind::Global && pickle::storage_type_of_global(a[1]->text, &ref.type), u.what(),
                ": a storage of unknown type (", a[1]->kind_name(), " '", printable(a[1]->text), "')");
    ANIMA_CHECK(a[2]->kind == Value::Kind::String && a[3]->kind == Value::Kind::String, u.what(),
                ": a storage key or location that is not a string");
    ANIMA_CHECK(a[4]->kind == Value::Kind::Int && a[4]->integer >= 0 && uint64_t(a[4]->integer) < kMaxElements,
                u.what(), ": storage '", printable(a[2]->text), "' has an invalid size");
    ref.key = a[2]->text;
    ref.numel = a[4]->integer;
    auto [it, fresh] = storages.emplace(ref.key, StorageBytes{});
    if (fresh) {
      it->second.type = ref.type;
      it->second.numel = ref.numel;
    }
    ANIMA_CHECK(it->second.type == ref.type && it->second.numel == ref.numel, u.what(), ": storage '",
                printable(ref.key), "' is declared twice with different types or sizes");
    if (legacy_ && a[5]->kind != Value::Kind::None) {  // (view key, offset, size) inside the root
      const Value& v = *a[5];
      ANIMA_CHECK(v.kind == Value::Kind::Tuple && v.items.size() == 3 && v.items[1]->kind == Value::Kind::Int &&
                      v.items[2]->kind == Value::Kind::Int,
                  u.what(), ": storage '", printable(ref.key), "' has an invalid view");
      int64_t off = v.items[1]->integer, n = v.items[2]->integer;
      ANIMA_CHECK(off >= 0 && n >= 0 && off <= ref.numel && n <= ref.numel - off, u.what(), ": a view [", off, ", +", n,
                  ") of storage '", printable(ref.key), "' lies outside its ", ref.numel, " elements");
      ref.view_offset = off;
      ref.numel = n;
    }
    return u.make_storage(ref);
  }
  std::map<std::string, StorageBytes> storages;

 private:
  bool legacy_;
};

struct FoundTensor {
  std::string name;
  const pickle::TensorRef* ref;
};

// Flattens the object into dotted names (state-dict keys).
struct Flattener {
  const std::string& what;
  std::vector<FoundTensor> tensors;
  std::vector<std::pair<std::string, std::string>> values;
  uint64_t leaves = 0;

  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }
  void leaf(const std::string& name, std::string text) {
    ANIMA_CHECK(++leaves <= kMaxLeaves, what, ": more than ", kMaxLeaves, " entries");
    values.emplace_back(name, std::move(text));
  }
  void visit(const Value& v, const std::string& name, int depth) {
    ANIMA_CHECK(depth <= kMaxDepth, what, ": entries nested deeper than ", kMaxDepth, " levels (at '",
                printable(name.substr(0, 200)), "')");
    switch (v.kind) {
      case Value::Kind::Dict:
        for (const auto& [k, item] : v.entries) {
          std::string key = k->kind == Value::Kind::String ? k->text
                            : k->kind == Value::Kind::Int  ? std::to_string(k->integer)
                                                           : "<big int>";
          ANIMA_CHECK(printable(key) == key && !key.empty(), what, ": a key '", printable(key),
                      "' is empty or holds control characters");
          visit(*item, join(name, key), depth + 1);
        }
        return;
      case Value::Kind::List:
      case Value::Kind::Tuple:
        for (size_t k = 0; k < v.items.size(); ++k) visit(*v.items[k], join(name, std::to_string(k)), depth + 1);
        return;
      case Value::Kind::Tensor:
        ANIMA_CHECK(++leaves <= kMaxLeaves, what, ": more than ", kMaxLeaves, " entries");
        tensors.push_back({name.empty() ? "tensor" : name, &v.tensor});
        return;
      case Value::Kind::None:
        return leaf(name, "None");
      case Value::Kind::Bool:
        return leaf(name, v.integer ? "True" : "False");
      case Value::Kind::Int:
        return leaf(name, std::to_string(v.integer));
      case Value::Kind::Float: {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v.number);
        return leaf(name, buf);
      }
      case Value::Kind::String:
        return leaf(name, printable(v.text));
      default:
        return leaf(name, std::string("<") + v.kind_name() + ">");
    }
  }
};

DType anima_dtype(StorageType t) {
  switch (t) {
    case StorageType::F16:
    case StorageType::BF16:
    case StorageType::F32:
    case StorageType::F64:
      return DType::F32;
    case StorageType::I8:
    case StorageType::I16:
    case StorageType::I32:
      return DType::I32;
    case StorageType::I64:
      return DType::I64;
    case StorageType::U8:
    case StorageType::Bool:
      return DType::U8;
  }
  return DType::F32;
}

// Element `i` of a storage of type `t`, written to `dst` as the anima dtype.
void convert_element(StorageType t, const unsigned char* src, unsigned char* dst) {
  switch (t) {
    case StorageType::F16:
    case StorageType::BF16: {
      uint16_t h;
      std::memcpy(&h, src, 2);
      float f = t == StorageType::F16 ? half_to_float(h) : bfloat16_to_float(h);
      std::memcpy(dst, &f, 4);
      return;
    }
    case StorageType::F64: {
      double d;
      std::memcpy(&d, src, 8);
      float f = float(d);
      std::memcpy(dst, &f, 4);
      return;
    }
    case StorageType::I8:
    case StorageType::I16: {
      int32_t v = t == StorageType::I8 ? int32_t(int8_t(src[0])) : int32_t(int16_t(uint16_t(src[0] | src[1] << 8)));
      std::memcpy(dst, &v, 4);
      return;
    }
    case StorageType::Bool:
      *dst = src[0] != 0;
      return;
    default:
      std::memcpy(dst, src, pickle::element_size(t));
      return;  // F32, I32, I64, U8
  }
}

std::vector<int64_t> checked_shape(const pickle::TensorRef& r, const std::string& what, const std::string& name) {
  ANIMA_CHECK(r.size.size() == r.stride.size() && int(r.size.size()) <= kMaxDims, what, ": tensor '", name, "' has ",
              r.size.size(), " sizes and ", r.stride.size(), " strides (at most ", kMaxDims, " dims)");
  uint64_t numel = 1;
  for (size_t d = 0; d < r.size.size(); ++d) {
    ANIMA_CHECK(r.size[d] >= 0 && r.stride[d] >= 0 && uint64_t(r.stride[d]) < kMaxElements, what, ": tensor '", name,
                "' has a negative or huge size or stride");
    ANIMA_CHECK(!__builtin_mul_overflow(numel, uint64_t(r.size[d]), &numel) && numel < kMaxElements, what, ": tensor '",
                name, "' is implausibly large (2^40 elements or more)");
  }
  return r.size;
}

// A tensor's elements copied out of its storage (any offset and strides), contiguous.
Tensor materialise(const pickle::TensorRef& r, const StorageBytes& s, const std::string& what,
                   const std::string& name) {
  std::vector<int64_t> size = checked_shape(r, what, name);
  Tensor out = Tensor::empty(Shape(size), anima_dtype(r.storage->type));
  int64_t numel = out.numel();
  if (numel == 0) return out;
  // The last element reached, overflow-checked, must lie inside the storage (or its view).
  uint64_t last = 0, term = 0;
  bool ok = r.offset >= 0;
  for (size_t d = 0; d < size.size() && ok; ++d)
    ok = !__builtin_mul_overflow(uint64_t(size[d] - 1), uint64_t(r.stride[d]), &term) &&
         !__builtin_add_overflow(last, term, &last);
  ok = ok && !__builtin_add_overflow(last, uint64_t(r.offset), &last) && last < uint64_t(r.storage->numel);
  ANIMA_CHECK(ok, what, ": tensor '", name, "' (shape ", Shape(size).str(), ", offset ", r.offset,
              ") reaches past its storage '", printable(r.storage->key), "' of ", r.storage->numel, " elements");
  size_t in_size = pickle::element_size(r.storage->type), out_size = dtype_size(out.dtype());
  const unsigned char* base = s.data + (uint64_t(r.storage->view_offset) + uint64_t(r.offset)) * in_size;
  unsigned char* dst = static_cast<unsigned char*>(out.data_ptr());
  std::vector<int64_t> index(size.size(), 0);
  int64_t at = 0;  // element offset of `index` in the storage
  for (int64_t i = 0; i < numel; ++i) {
    convert_element(r.storage->type, base + uint64_t(at) * in_size, dst + uint64_t(i) * out_size);
    for (size_t d = size.size(); d-- > 0;) {  // odometer over the multi-index
      at += r.stride[d];
      if (++index[d] < size[d]) break;
      at -= r.stride[d] * size[d];
      index[d] = 0;
    }
  }
  return out;
}

// Fills `file` from the flattened object; `fetch` makes a storage's bytes available.
void collect(const Value& root, const std::string& what, const TensorFilter& want, StorageTable& table,
             const std::function<void(const std::string& key, StorageBytes&)>& fetch, PyTorchFile& file) {
  Flattener f{what, {}, {}, 0};
  f.visit(root, "", 0);
  file.values = std::move(f.values);
  for (const FoundTensor& t : f.tensors) {
    ANIMA_CHECK(printable(t.name) == t.name, what, ": tensor name '", printable(t.name), "' holds control characters");
    if (want && !want(t.name)) {
      file.skipped.emplace_back(t.name, Shape(checked_shape(*t.ref, what, t.name)));
      continue;
    }
    StorageBytes& s = table.storages.at(t.ref->storage->key);
    if (!s.present) fetch(t.ref->storage->key, s);
    file.tensors.emplace_back(t.name, materialise(*t.ref, s, what, t.name));
  }
}

// ---- the legacy stream --------------------------------------------------------------------

void parse_legacy(const unsigned char* data, size_t size, const std::string& what, const TensorFilter& want,
                  PyTorchFile& file) {
  file.container = "legacy";
  size_t pos = 0;
  pickle::Unpickler header(what, nullptr);
  const Value& magic = header.load(data, size, pos);
  static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  ANIMA_CHECK(magic.kind == Value::Kind::BigInt && magic.text == std::string(reinterpret_cast<const char*>(kMagic), 10),
              what, ": a pickle, but not a PyTorch checkpoint (no torch.save magic number)");
  const Value& version = header.load(data, size, pos);
  ANIMA_CHECK(version.kind == Value::Kind::Int && version.integer == 1001, what, ": legacy PyTorch format version ",
              version.kind == Value::Kind::Int ? version.integer : -1, " is not supported (1001 is)");
  const Value& info = header.load(data, size, pos);
  const Value* little = info.get("little_endian");
  ANIMA_CHECK(little && little->kind == Value::Kind::Bool && little->integer, what,
              ": saved on a big-endian machine (or without system info); only little-endian files are read");

  StorageTable table(/*legacy=*/true);
  pickle::Unpickler objects(what, [&](pickle::Unpickler& u, const Value& pid) { return table.load(u, pid); });
  const Value& root = objects.load(data, size, pos);
  const Value& keys = header.load(data, size, pos);
  ANIMA_CHECK(keys.kind == Value::Kind::List, what, ": the storage key list is a ", keys.kind_name());
  for (const Value* k : keys.items) {
    ANIMA_CHECK(k->kind == Value::Kind::String, what, ": a storage key that is not a string");
    auto it = table.storages.find(k->text);
    ANIMA_CHECK(it != table.storages.end(), what, ": storage '", printable(k->text), "' is listed but never used");
    StorageBytes& s = it->second;
    ANIMA_CHECK(!s.present, what, ": storage '", printable(k->text), "' is listed twice");
    ANIMA_CHECK(size - pos >= 8, what, ": truncated before storage '", printable(k->text), "' (byte ", pos, ")");
    uint64_t numel = 0;
    for (int b = 7; b >= 0; --b) numel = (numel << 8) | data[pos + size_t(b)];
    pos += 8;
    ANIMA_CHECK(numel == uint64_t(s.numel), what, ": storage '", printable(k->text), "' holds ", numel,
                " elements, its tensors were saved with ", s.numel);
    uint64_t bytes = numel * pickle::element_size(s.type);  // numel < 2^40: no overflow
    ANIMA_CHECK(bytes <= size - pos, what, ": truncated: storage '", printable(k->text), "' needs ", bytes,
                " bytes at byte ", pos, ", the file has ", size - pos, " left");
    s.data = data + pos;
    s.present = true;
    pos += size_t(bytes);
  }
  for (const auto& [key, s] : table.storages)
    ANIMA_CHECK(s.present, what, ": storage '", printable(key), "' is used but its bytes are missing");
  collect(
      root, what, want, table, [](const std::string&, StorageBytes&) {}, file);
}

// ---- the zip archive --------------------------------------------------------------------

void parse_zip(const unsigned char* data, size_t size, const std::string& what, const TensorFilter& want,
               PyTorchFile& file) {
  file.container = "zip";
  ZipReader zip(data, size, what);
  // The one PREFIX/data.pkl at the top of the archive names the record prefix.
  std::string prefix;
  for (const auto& [s, bytes] : zip.names()) {
    size_t slash = s.find('/');
    if (slash == std::string::npos || s.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
    ANIMA_CHECK(prefix.empty(), what, ": the archive holds two object pickles (", printable(prefix), "/data.pkl and ",
                printable(s), ")");
    prefix = s.substr(0, slash);
  }
  ANIMA_CHECK(!prefix.empty(), what, ": a zip archive without PREFIX/data.pkl: not a PyTorch checkpoint");
  if (zip.has(prefix + "/byteorder")) {
    uint64_t n = zip.size(prefix + "/byteorder");
    ANIMA_CHECK(n <= 16, what, ": invalid byteorder record");
    std::string order = zip.read(prefix + "/byteorder", n);
    ANIMA_CHECK(order == "little", what, ": saved with byte order '", printable(order), "'; only little is read");
  }
  uint64_t pkl_bytes = zip.size(prefix + "/data.pkl");
  ANIMA_CHECK(pkl_bytes <= kMaxPickleBytes, what, ": data.pkl is ", pkl_bytes, " bytes (at most 1 GiB)");
  std::string pkl = zip.read(prefix + "/data.pkl", pkl_bytes);
  StorageTable table(/*legacy=*/false);
  pickle::Unpickler u(what + ": data.pkl",
                      [&](pickle::Unpickler& up, const Value& pid) { return table.load(up, pid); });
  size_t pos = 0;
  const Value& root = u.load(reinterpret_cast<const unsigned char*>(pkl.data()), pkl.size(), pos);
  auto fetch = [&](const std::string& key, StorageBytes& s) {
    std::string name = prefix + "/data/" + key;
    uint64_t need = uint64_t(s.numel) * pickle::element_size(s.type);
    ANIMA_CHECK(zip.size(name) >= need, what, ": storage '", printable(key), "' needs ", need,
                " bytes, its entry holds ", zip.size(name));
    s.owned = zip.read(name, need);
    s.data = reinterpret_cast<const unsigned char*>(s.owned.data());
    s.present = true;
  };
  collect(root, what, want, table, fetch, file);
}

// A read-only mapping of a whole file.
struct MappedFile {
  void* p = MAP_FAILED;
  size_t size = 0;
  explicit MappedFile(const std::string& path) {
    check_regular_file(path);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ANIMA_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      ANIMA_FAIL(path, ": cannot stat: ", std::strerror(e));
    }
    size = size_t(st.st_size);
    if (size > 0) p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    ANIMA_CHECK(size == 0 || p != MAP_FAILED, path, ": cannot map: ", std::strerror(e));
  }
  ~MappedFile() {
    if (p != MAP_FAILED) ::munmap(p, size);
  }
  const unsigned char* data() const { return size ? static_cast<const unsigned char*>(p) : nullptr; }
};

}  // namespace

const std::string* PyTorchFile::value(const std::string& name) const {
  for (const auto& [n, v] : values)
    if (n == name) return &v;
  return nullptr;
}

bool looks_like_pytorch(const unsigned char* b, size_t n) {
  if (n >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) return true;
  return n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5;
}

PyTorchFile parse_pytorch(const unsigned char* data, size_t size, const std::string& what, const TensorFilter& want) {
  PyTorchFile file;
  file.path = what;
  if (size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0)
    ANIMA_FAIL(what,
               ": a tar archive (torch.save of PyTorch < 0.4): not supported; load and re-save it with a "
               "newer PyTorch");
  ANIMA_CHECK(looks_like_pytorch(data, size), what, ": not a PyTorch checkpoint (neither a zip archive nor a pickle)");
  if (data[0] == 'P')
    parse_zip(data, size, what, want, file);
  else
    parse_legacy(data, size, what, want, file);
  return file;
}

PyTorchFile load_pytorch(const std::string& path, const TensorFilter& want) {
  MappedFile m(path);
  return parse_pytorch(m.data(), m.size, path, want);
}

}  // namespace anima
