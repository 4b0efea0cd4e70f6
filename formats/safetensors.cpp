#include "formats/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "formats/json.h"
#include "tensor/file_util.h"

namespace anima {
namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

struct DTypeInfo {
  const char* name;
  size_t size;
};

// The file dtypes we read, and how each maps onto our dtypes.
bool dtype_info(const std::string& s, DTypeInfo* out) {
  static const DTypeInfo known[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"I64", 8}, {"U8", 1}};
  for (const DTypeInfo& d : known)
    if (s == d.name) {
      *out = d;
      return true;
    }
  return false;
}

const char* stored_name(DType t, StoredFloat f) {
  switch (t) {
    case DType::F32:
      return f == StoredFloat::F32 ? "F32" : (f == StoredFloat::F16 ? "F16" : "BF16");
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
    case DType::U8:
      return "U8";
  }
  return "?";
}

}  // namespace

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xFF, mant = x & 0x7FFFFF;
  if (exp == 0xFF) return uint16_t(sign | 0x7C00u | (mant ? 0x200u : 0u));  // Inf / NaN
  int32_t e = int32_t(exp) - 127 + 15;
  if (e >= 31) return uint16_t(sign | 0x7C00u);  // overflow to Inf
  if (e <= 0) {                                  // subnormal half (or zero)
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    uint32_t shift = uint32_t(14 - e);
    uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (mant >> 13), rest = mant & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // may carry into Inf: correct
  return uint16_t(sign | half);
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      x = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7F800000u | (mant << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t float_to_bfloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFF)) return uint16_t((x >> 16) | 0x40);  // NaN
  uint32_t rounding = 0x7FFF + ((x >> 16) & 1);
  return uint16_t((x + rounding) >> 16);
}

float bfloat16_to_float(uint16_t b) {
  uint32_t x = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
  const Tensor* t = find(name);
  ANIMA_CHECK(t != nullptr, path, ": no tensor named '", name, "'");
  return *t;
}

namespace {
// The little-endian header length of the first 8 bytes, checked against the limit and the file size.
// What a file that is not safetensors most likely is, from its first bytes (for the message).
std::string other_format(const unsigned char* b) {
  if (b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4)
    return " (a zip archive: a PyTorch >= 1.6 checkpoint? `anima convert` turns it into one)";
  if (b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
    return " (a Python pickle: a legacy PyTorch checkpoint? `anima convert` turns it into one)";
  if (b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return " (a PNG image)";
  return "";
}

uint64_t header_length(const unsigned char* first8, uint64_t file_size, const std::string& what) {
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | first8[k];
  std::string other = other_format(first8);
  ANIMA_CHECK(other.empty(), what, ": not a safetensors file", other);
  ANIMA_CHECK(n <= kMaxHeader, what, ": not a safetensors file (its header length ", n, " exceeds the 100 MiB limit)");
  ANIMA_CHECK(n <= file_size - 8, what, ": header length ", n, " runs past the end of the file (", file_size,
              " bytes)");
  return n;
}

std::map<std::string, std::string> metadata_of(const json::Value& entry, const std::string& what) {
  ANIMA_CHECK(entry.kind == json::Value::Kind::Object, what, ": __metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : entry.object) {
    ANIMA_CHECK(v.kind == json::Value::Kind::String, what, ": metadata value of '", printable(k), "' is not a string");
    out[k] = v.string;
  }
  return out;
}
}  // namespace

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  check_regular_file(path);
  std::ifstream f(path, std::ios::binary);
  ANIMA_CHECK(f.good(), path, ": cannot open");
  f.seekg(0, std::ios::end);
  uint64_t size = uint64_t(f.tellg());
  f.seekg(0);
  ANIMA_CHECK(size >= 8, path, ": not a safetensors file (", size, " bytes, the header length alone takes 8)");
  unsigned char len[8] = {0};
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = header_length(len, size, path);
  std::string text(size_t(n), '\0');
  f.read(text.data(), std::streamsize(n));
  ANIMA_CHECK(uint64_t(f.gcount()) == n, path, ": could not read the ", n, "-byte header");
  json::Value header = json::parse(text, path + " (header)");
  ANIMA_CHECK(header.kind == json::Value::Kind::Object, path, ": header is not a JSON object");
  for (const auto& [name, entry] : header.object)
    if (name == "__metadata__") return metadata_of(entry, path);
  return {};
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& what) {
  ANIMA_CHECK(bytes.size() >= 8, what, ": not a safetensors file (", bytes.size(),
              " bytes, the header length alone takes 8)");
  uint64_t n = header_length(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), what);
  json::Value header = json::parse(bytes.substr(8, n), what + " (header)");
  ANIMA_CHECK(header.kind == json::Value::Kind::Object, what, ": header is not a JSON object");
  const char* data = bytes.data() + 8 + n;
  uint64_t data_size = bytes.size() - 8 - n;

  SafetensorsFile f;
  f.path = what;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.object) {
    if (name == "__metadata__") {
      f.metadata = metadata_of(entry, what);
      continue;
    }
    ANIMA_CHECK(!name.empty() && printable(name) == name, what, ": tensor name '", printable(name),
                "' is empty or holds control characters");
    ANIMA_CHECK(entry.kind == json::Value::Kind::Object, what, ": entry '", name, "' is not an object");
    const json::Value* dt = entry.find("dtype");
    const json::Value* shape = entry.find("shape");
    const json::Value* offs = entry.find("data_offsets");
    ANIMA_CHECK(dt && dt->kind == json::Value::Kind::String && shape && shape->kind == json::Value::Kind::Array &&
                    offs && offs->kind == json::Value::Kind::Array && offs->array.size() == 2,
                what, ": tensor '", name, "' needs dtype (string), shape (array) and data_offsets ([begin, end])");
    DTypeInfo info{};
    ANIMA_CHECK(dtype_info(dt->string, &info), what, ": tensor '", name, "' has dtype '", dt->string,
                "', supported: F32, F16, BF16, I32, I64, U8");
    std::vector<int64_t> dims;
    uint64_t numel = 1;
    for (const json::Value& d : shape->array) {
      ANIMA_CHECK(
          d.kind == json::Value::Kind::Number && d.is_integer && d.integer >= 0 && d.integer < (int64_t(1) << 40), what,
          ": tensor '", name, "' has an invalid extent in its shape");
      dims.push_back(d.integer);
      ANIMA_CHECK(int(dims.size()) <= kMaxDims, what, ": tensor '", name, "' has more than ", kMaxDims, " dimensions");
      // overflow-checked: every partial product stays below 2^40 elements
      ANIMA_CHECK(!__builtin_mul_overflow(numel, uint64_t(d.integer), &numel) && numel < (uint64_t(1) << 40), what,
                  ": tensor '", name, "' is implausibly large (2^40 elements or more)");
    }
    ANIMA_CHECK(int(dims.size()) <= kMaxDims, what, ": tensor '", name, "' has ", dims.size(), " dimensions, at most ",
                kMaxDims, " supported");
    for (const json::Value& o : offs->array)
      ANIMA_CHECK(o.kind == json::Value::Kind::Number && o.is_integer && o.integer >= 0, what, ": tensor '", name,
                  "' has invalid data_offsets");
    uint64_t begin = uint64_t(offs->array[0].integer), end = uint64_t(offs->array[1].integer);
    ANIMA_CHECK(begin <= end && end <= data_size, what, ": tensor '", name, "' data_offsets [", begin, ", ", end,
                "] outside the ", data_size, " data bytes");
    ANIMA_CHECK(end - begin == numel * info.size, what, ": tensor '", name, "' has ", end - begin, " bytes for shape ",
                Shape(dims).str(), " of ", dt->string, " (", numel * info.size, " expected)");
    spans.push_back({begin, end, name});
    DType target = (dt->string == "I32")   ? DType::I32
                   : (dt->string == "I64") ? DType::I64
                   : (dt->string == "U8")  ? DType::U8
                                           : DType::F32;
    Tensor t = Tensor::empty(Shape(dims), target);
    const char* src = data + begin;
    if (dt->string == "F16" || dt->string == "BF16") {
      bool half = dt->string == "F16";
      float* dst = t.data<float>();
      for (uint64_t k = 0; k < numel; ++k) {
        uint16_t v;
        std::memcpy(&v, src + 2 * k, 2);
        dst[k] = half ? half_to_float(v) : bfloat16_to_float(v);
      }
    } else if (numel > 0) {
      std::memcpy(t.data_ptr(), src, numel * info.size);
    }
    f.stored_dtypes[name] = dt->string;
    f.tensors.emplace_back(name, t);
  }
  // The tensors must tile the data buffer exactly, as the reference implementation requires.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expect = 0;
  for (const Span& s : spans) {
    ANIMA_CHECK(s.begin == expect, what, ": tensor '", s.name, "' starts at byte ", s.begin,
                " but the previous tensor ends at ", expect, " (overlap or hole in the data)");
    expect = s.end;
  }
  ANIMA_CHECK(expect == data_size, what, ": tensors cover ", expect, " of ", data_size, " data bytes");
  return f;
}

SafetensorsFile load_safetensors(const std::string& path) { return parse_safetensors(read_file_bytes(path), path); }

std::string serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata, StoredFloat float_format) {
  // Largest element size first keeps every tensor naturally aligned after the 8-aligned header.
  std::vector<size_t> order(tensors.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  auto stored_size = [&](const Tensor& t) {
    return t.dtype() == DType::F32 && float_format != StoredFloat::F32 ? size_t(2) : dtype_size(t.dtype());
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return stored_size(tensors[a].second) > stored_size(tensors[b].second); });
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  std::string data;
  std::vector<std::string> seen;
  for (size_t k : order) {
    const auto& [name, tensor] = tensors[k];
    ANIMA_CHECK(name != "__metadata__" && !name.empty(), "save_safetensors: invalid tensor name '", name, "'");
    ANIMA_CHECK(std::find(seen.begin(), seen.end(), name) == seen.end(), "save_safetensors: tensor '", name,
                "' given twice");
    seen.push_back(name);
    Tensor host = tensor.is_cuda() ? raw::to_device(tensor, Device::cpu()) : tensor;
    size_t begin = data.size();
    if (host.dtype() == DType::F32 && float_format != StoredFloat::F32) {
      const float* p = host.data<float>();
      for (int64_t i = 0; i < host.numel(); ++i) {
        uint16_t v = float_format == StoredFloat::F16 ? float_to_half(p[i]) : float_to_bfloat16(p[i]);
        data.append(reinterpret_cast<const char*>(&v), 2);
      }
    } else {
      data.append(static_cast<const char*>(host.data_ptr()), host.nbytes());
    }
    std::string shape;
    for (int d = 0; d < host.dim(); ++d) shape += (d ? "," : "") + std::to_string(host.shape()[d]);
    header += std::string(header.size() > 1 ? "," : "") + json::quote(name) + ":{\"dtype\":\"" +
              stored_name(host.dtype(), float_format) + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int k = 0; k < 8; ++k) out[size_t(k)] = char((n >> (8 * k)) & 0xFF);
  return out + header + data;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, StoredFloat float_format) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata, float_format));
}

}  // namespace anima
