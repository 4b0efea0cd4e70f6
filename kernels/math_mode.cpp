#include "kernels/math_mode.h"

#include <atomic>

namespace anima {
namespace {
std::atomic<bool> g_allow_tf32{true};
std::atomic<bool> g_deterministic{false};
}  // namespace

bool allow_tf32() { return g_allow_tf32; }
void set_allow_tf32(bool on) { g_allow_tf32 = on; }
bool deterministic() { return g_deterministic; }
void set_deterministic(bool on) { g_deterministic = on; }

std::string math_mode_report() {
  return std::string("TF32 convolutions ") + (allow_tf32() ? "on" : "off") + ", deterministic " +
         (deterministic() ? "on" : "off");
}

MathModeScope::MathModeScope(bool allow_tf32_on, bool deterministic_on)
    : previous_tf32_(allow_tf32()), previous_deterministic_(deterministic()) {
  set_allow_tf32(allow_tf32_on);
  set_deterministic(deterministic_on);
}

MathModeScope::~MathModeScope() {
  set_allow_tf32(previous_tf32_);
  set_deterministic(previous_deterministic_);
}

}  // namespace anima
