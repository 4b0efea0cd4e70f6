// Files of named tensors as anima reads them, told apart by their first bytes: safetensors (what
// anima writes) or a PyTorch checkpoint (torch.save's zip archive or legacy stream: the official
// First Order Motion Model files, torchvision's VGG-19, the refined-masking authors' checkpoints).
// A PyTorch file's tensors get the flattened state-dict names of formats/pytorch.h; its metadata
// is {"format": "pytorch-zip" | "pytorch-legacy"} plus its top-level "epoch" when it has one.
#pragma once
#include <map>
#include <string>

#include "formats/pytorch.h"
#include "formats/safetensors.h"

namespace anima {

bool is_pytorch_file(const std::string& path);  // reads the first bytes only

// `want` selects tensors of a PyTorch file by name (the others are not read; safetensors files are
// read whole). `skipped`, when given, receives how many PyTorch tensors were left unread.
SafetensorsFile load_tensor_file(const std::string& path, const TensorFilter& want = {}, size_t* skipped = nullptr);
// Only the metadata (a PyTorch file's object pickle is read, none of its tensors).
std::map<std::string, std::string> read_tensor_file_metadata(const std::string& path);

}  // namespace anima
