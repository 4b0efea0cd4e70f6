#include "tensor/shape.h"

#include <sstream>

#include "tensor/device.h"
#include "tensor/error.h"

namespace anima {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  ANIMA_CHECK(dims.size() <= size_t(kMaxDims), "Shape: ", dims.size(), " dimensions given, at most ", kMaxDims,
              " supported");
  ndim = int(dims.size());
  for (int i = 0; i < ndim; ++i) {
    ANIMA_CHECK(dims[i] >= 0, "Shape: negative extent ", dims[i], " at dimension ", i);
    d[i] = dims[i];
  }
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < ndim; ++i) os << (i ? ", " : "") << d[i];
  os << "]";
  return os.str();
}

int Shape::wrap_dim(int dim, const char* op) const {
  int w = dim < 0 ? dim + ndim : dim;
  ANIMA_CHECK(w >= 0 && w < ndim, op, ": dimension ", dim, " out of range for shape ", str());
  return w;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

std::array<int64_t, kMaxDims> contiguous_strides(const Shape& s) {
  std::array<int64_t, kMaxDims> st{};
  int64_t acc = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.d[i];
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  Shape out;
  out.ndim = a.ndim > b.ndim ? a.ndim : b.ndim;
  for (int i = 0; i < out.ndim; ++i) {
    int ia = a.ndim - out.ndim + i, ib = b.ndim - out.ndim + i;
    int64_t ea = ia >= 0 ? a.d[ia] : 1, eb = ib >= 0 ? b.d[ib] : 1;
    ANIMA_CHECK(ea == eb || ea == 1 || eb == 1, op, ": shapes ", a.str(), " and ", b.str(),
                " cannot be broadcast together (dimension ", i, ": ", ea, " vs ", eb, ")");
    out.d[i] = ea == 1 ? eb : ea;
  }
  return out;
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda" || s == "gpu") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      return Device::cuda(std::stoi(s.substr(5)));
    } catch (const std::exception&) {
    }
  }
  ANIMA_FAIL("parse_device: '", s, "' is not a device (expected cpu, cuda or cuda:N)");
}

}  // namespace anima
