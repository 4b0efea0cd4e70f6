// libFuzzer target: both config parsers (the First Order Motion Model's with PriorityCut's
// section, and the refined-masking model's) on arbitrary YAML text. Every input must either
// parse or throw anima::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/prioritycut/config.h"
#include "models/refined_mask/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    anima::prioritycut::parse_prioritycut_config(text, "fuzz.yaml");
  } catch (const anima::Error&) {
  }
  try {
    anima::refined_mask::parse_refined_mask_config(text, "fuzz.yaml");
  } catch (const anima::Error&) {
  }
  return 0;
}
