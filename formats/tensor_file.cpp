#include "formats/tensor_file.h"

#include <fstream>

#include "tensor/file_util.h"

namespace anima {
namespace {

std::map<std::string, std::string> pytorch_metadata(const PyTorchFile& f) {
  std::map<std::string, std::string> meta{{"format", "pytorch-" + f.container}};
  if (const std::string* epoch = f.value("epoch")) meta["epoch"] = *epoch;
  return meta;
}

}  // namespace

bool is_pytorch_file(const std::string& path) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  ANIMA_CHECK(in.good(), path, ": cannot open");
  unsigned char b[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(b), 4);
  return looks_like_pytorch(b, size_t(in.gcount()));
}

SafetensorsFile load_tensor_file(const std::string& path, const TensorFilter& want, size_t* skipped) {
  if (!is_pytorch_file(path)) return load_safetensors(path);
  PyTorchFile p = load_pytorch(path, want);
  SafetensorsFile f;
  f.path = path;
  f.metadata = pytorch_metadata(p);
  f.tensors = std::move(p.tensors);
  if (skipped) *skipped = p.skipped.size();
  return f;
}

std::map<std::string, std::string> read_tensor_file_metadata(const std::string& path) {
  if (!is_pytorch_file(path)) return read_safetensors_metadata(path);
  return pytorch_metadata(load_pytorch(path, [](const std::string&) { return false; }));
}

}  // namespace anima
