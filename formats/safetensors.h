// safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}), then the raw little-endian tensor bytes, contiguous and in
// offset order. Files written here load in Python's `safetensors`, and the reader accepts what
// Python writes.
//
// Reading validates everything before touching data: header length within the file, JSON
// well-formed, known dtypes, non-negative shapes, offsets inside the data and consistent with the
// shape, tensors contiguous without holes or overlaps. Any violation is an anima::Error naming
// the file and the tensor; nothing is read out of bounds.
// Writing is atomic: a temporary file in the same folder, fsync, rename, fsync of the folder.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/file_util.h"
#include "tensor/tensor.h"

namespace anima {

// On-disk float formats; F16/BF16 are converted from/to float32 (round to nearest even).
enum class StoredFloat { F32, F16, BF16 };

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, on the CPU
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> stored_dtypes;  // name -> dtype string in the file

  const Tensor* find(const std::string& name) const;
  const Tensor& at(const std::string& name) const;  // throws naming the file and the tensor
  std::string path;
};

SafetensorsFile load_safetensors(const std::string& path);
// Only the "__metadata__" strings, reading just the header (not the tensors' bytes).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);
// Parses an in-memory image of a file (used by load_safetensors and the fuzz tests).
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& what);

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      StoredFloat float_format = StoredFloat::F32);
std::string serialize_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata,
                                  StoredFloat float_format = StoredFloat::F32);

// float32 <-> half / bfloat16 bit patterns (round to nearest even; NaN and Inf kept).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
uint16_t float_to_bfloat16(float f);
float bfloat16_to_float(uint16_t b);

}  // namespace anima
