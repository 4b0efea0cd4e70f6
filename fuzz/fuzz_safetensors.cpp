// libFuzzer target: the safetensors reader (and the JSON parser under it) on arbitrary bytes.
// Every input must either parse or throw anima::Error; anything else (a crash, a sanitizer
// report, another exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    anima::SafetensorsFile f = anima::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& [name, t] : f.tensors) (void)t.numel();
  } catch (const anima::Error&) {
  }
  return 0;
}
