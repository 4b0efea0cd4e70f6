// Test helper: writes a legacy-stream PyTorch checkpoint (the layout torch.save used up to 1.5,
// as the official FOMM files are) of float32/int64 tensors, nested as official files are:
// "generator.conv.weight" goes to {'generator': OrderedDict{'conv.weight': T}}. Only what the
// tests need (protocol 2, contiguous tensors); the committed goldens come from PyTorch itself.
#pragma once
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "tensor/file_util.h"

namespace anima::test {

class PickleText {
 public:
  std::string out;
  void str(const std::string& s) {
    out += 'X';
    u32(uint32_t(s.size()));
    out += s;
  }
  void i32(int64_t v) {
    out += 'J';
    u32(uint32_t(int32_t(v)));
  }
  void u32(uint32_t v) {
    for (int k = 0; k < 4; ++k) out += char((v >> (8 * k)) & 0xFF);
  }
  void global(const char* module, const char* name) { out += std::string("c") + module + "\n" + name + "\n"; }
};

inline std::string legacy_pytorch_bytes(const NamedTensors& tensors, int64_t epoch = 3) {
  std::string file = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);  // magic
  file += std::string("\x80\x02M\xe9\x03.", 6);                                                     // 1001
  PickleText info;
  info.out = "\x80\x02}(";
  info.str("little_endian");
  info.out += "\x88u.";
  file += info.out;
  // The object: {part: OrderedDict{name: tensor}}, 'epoch': epoch.
  std::map<std::string, std::vector<std::pair<std::string, const Tensor*>>> parts;
  std::vector<std::string> order;
  for (const auto& [n, t] : tensors) {
    std::string part = n.substr(0, n.find('.')), rest = n.substr(n.find('.') + 1);
    if (!parts.count(part)) order.push_back(part);
    parts[part].emplace_back(rest, &t);
  }
  PickleText p;
  p.out = "\x80\x02}(";
  int key = 0;
  std::string storages;
  PickleText keys;
  keys.out = "\x80\x02](";
  for (const std::string& part : order) {
    p.str(part);
    p.global("collections", "OrderedDict");
    p.out += ")R(";
    for (const auto& [name, t] : parts[part]) {
      bool f32 = t->dtype() == DType::F32;
      p.str(name);
      p.global("torch._utils", "_rebuild_tensor_v2");
      p.out += "((";
      p.str("storage");
      p.global("torch", f32 ? "FloatStorage" : "LongStorage");
      p.str(std::to_string(key));
      p.str("cpu");
      p.i32(t->numel());
      p.out += "NtQ";
      p.i32(0);
      p.out += "(";
      for (int64_t s : t->shape().vec()) p.i32(s);
      p.out += "t(";
      int64_t stride = 1;
      std::vector<int64_t> strides(t->shape().vec().size());
      for (size_t d = strides.size(); d-- > 0;) {
        strides[d] = stride;
        stride *= t->shape().vec()[d];
      }
      for (int64_t s : strides) p.i32(s);
      p.out += "t\x89";
      p.global("collections", "OrderedDict");
      p.out += ")RtR";
      keys.str(std::to_string(key));
      uint64_t numel = uint64_t(t->numel());
      for (int k = 0; k < 8; ++k) storages += char((numel >> (8 * k)) & 0xFF);
      storages.append(static_cast<const char*>(t->data_ptr()), numel * dtype_size(t->dtype()));
      ++key;
    }
    p.out += "u";
  }
  p.str("epoch");
  p.i32(epoch);
  p.out += "u.";
  keys.out += "e.";
  return file + p.out + keys.out + storages;
}

inline void write_legacy_pytorch(const std::string& path, const NamedTensors& tensors, int64_t epoch = 3) {
  write_file_atomic(path, legacy_pytorch_bytes(tensors, epoch));
}

}  // namespace anima::test
