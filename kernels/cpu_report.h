// One line on the CPU backend for run logs and bench headers.
#pragma once
#include <string>

namespace anima::kernels {

// "CPU: <n> threads, OpenBLAS <kernel family>, convolution <algorithm>"
std::string cpu_report();

}  // namespace anima::kernels
