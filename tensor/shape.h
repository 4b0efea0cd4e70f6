// A tensor shape: up to kMaxDims extents, stored inline so it can be passed by value to kernels.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "tensor/hd.h"

namespace anima {

constexpr int kMaxDims = 8;

struct Shape {
  std::array<int64_t, kMaxDims> d{};
  int ndim = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int64_t operator[](int i) const { return d[i]; }
  int64_t& operator[](int i) { return d[i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= d[i];
    return n;
  }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::vector<int64_t> vec() const { return {d.begin(), d.begin() + ndim}; }
  std::string str() const;
  // Resolves a possibly negative dimension index against ndim; throws naming `op` if out of range.
  int wrap_dim(int dim, const char* op) const;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

// Row-major (C-order) strides in elements.
std::array<int64_t, kMaxDims> contiguous_strides(const Shape& s);

// The NumPy/PyTorch broadcast of two shapes (aligned at the trailing dimension); throws naming
// `op` and both shapes when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace anima
