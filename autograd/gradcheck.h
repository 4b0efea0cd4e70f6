// Finite-difference check of backward rules.
//
// f maps the inputs to one tensor y. The check contracts y with a fixed random tensor v
// (L = sum(v * y), so every output element matters) and compares, for every element of every
// input that requires grad, the analytic dL/dx from backward() with the central difference
// (L(x + h) - L(x - h)) / 2h, with L accumulated in double on the host.
//
// Tolerance, per element: |analytic - numeric| <= atol + rtol * |numeric| + noise, where
// noise = 8 * 2^-24 * sum|v * y| / (2h) bounds the float32 rounding of y seen through the
// difference quotient. Inputs must be float32 tensors on one device (CPU or CUDA).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace anima {

struct GradcheckOptions {
  float step = 1e-3f;  // h
  double atol = 1e-4;
  double rtol = 1e-2;
  uint64_t seed = 1234;  // for the projection v
  int max_reported = 5;  // mismatches listed in the report
};

struct GradcheckResult {
  bool ok = true;
  int64_t checked = 0;  // elements compared
  int64_t mismatched = 0;
  double worst_excess = 0;  // largest |a - n| - tolerance (<= 0 when ok)
  std::string report;       // first mismatches and the worst one, or a one-line summary
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace anima
