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

}  // namespace anima
