// PyTorch checkpoint files (`torch.save`), read natively: no Python, and no code from the file
// ever runs (formats/pickle.h interprets an allow-list of state-dict objects only).
//
// Both containers torch.save has written:
//  - the zip archive of PyTorch >= 1.6: PREFIX/data.pkl (the object pickle; a storage is the
//    persistent id ('storage', torch.FloatStorage, KEY, LOCATION, NUMEL)), PREFIX/data/KEY (each
//    storage's raw little-endian bytes, stored uncompressed), PREFIX/version, PREFIX/byteorder;
//    read with libzip;
//  - the legacy stream of PyTorch 0.4-1.5 (what the official First Order Motion Model files are,
//    despite their .tar name): pickles of the magic number, the protocol version (1001) and the
//    system info, the object pickle (persistent ids ('storage', TYPE, KEY, LOCATION, NUMEL,
//    VIEW)), the sorted list of storage keys, then per key an int64 element count and the bytes.
//
// The object is flattened into dotted names as a state dict's keys are: {'generator':
// OrderedDict{'conv.weight': T}} gives "generator.conv.weight"; list and tuple items and int keys
// are numbered. Tensors may be views (storage offset, strides: materialised contiguously) and may
// share storages; half, bfloat16 and double become float32, int8/16/32 int32, bool and uint8
// uint8, int64 stays. Every other leaf (epoch, learning rates, ...) is kept as text.
// Every size, offset and stride is checked against the storage and the file with
// overflow-checked arithmetic; a violation is an anima::Error naming the file and the tensor.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

struct PyTorchFile {
  std::string path;
  std::string container;                                    // "zip" or "legacy"
  std::vector<std::pair<std::string, Tensor>> tensors;      // the wanted tensors, in file order
  std::vector<std::pair<std::string, std::string>> values;  // other leaves: {"epoch", "99"}, ...
  std::vector<std::pair<std::string, Shape>> skipped;       // tensors not wanted (not read)
  const std::string* value(const std::string& name) const;  // a leaf's text, or null
};

// Which tensors to read (by flattened name); an empty filter reads all.
using TensorFilter = std::function<bool(const std::string& name)>;

// True when the first bytes are a zip archive or a pickle (what torch.save writes).
bool looks_like_pytorch(const unsigned char* first, size_t n);

PyTorchFile load_pytorch(const std::string& path, const TensorFilter& want = {});
// Parses an in-memory image of a file (used by load_pytorch on the mapped file, and by the fuzzer).
PyTorchFile parse_pytorch(const unsigned char* data, size_t size, const std::string& what,
                          const TensorFilter& want = {});

}  // namespace anima
