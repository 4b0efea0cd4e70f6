// One line on the CPU backend for run logs and bench headers.
#pragma once
#include <string>

namespace anima::kernels {

// "CPU: <n> threads, OpenBLAS <kernel family>, convolution <algorithm>, OpenMP wait <wait>,
// vector loops <avx512 | avx2 | baseline>"
std::string cpu_report();

}  // namespace anima::kernels
