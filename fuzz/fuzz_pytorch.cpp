// libFuzzer target: the PyTorch checkpoint reader (both containers, the restricted unpickler and
// minizip under it) on arbitrary bytes. Every input must either parse or throw anima::Error;
// anything else (a crash, a sanitizer report, another exception) is a finding.
#include <cstddef>
#include <cstdint>

#include "formats/pytorch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    anima::PyTorchFile f = anima::parse_pytorch(data, size, "fuzz");
    for (const auto& [name, t] : f.tensors) (void)t.numel();
  } catch (const anima::Error&) {
  }
  return 0;
}
