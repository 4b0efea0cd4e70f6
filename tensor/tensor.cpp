#include "tensor/tensor.h"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "tensor/allocator.h"
#include "tensor/hd.h"
#include "tensor/runtime.h"

#if ANIMA_CUDA
#include "tensor/cuda_check.h"
#endif

namespace anima {

Storage::Storage(Device dev, size_t n, bool pin)
    : device(dev), nbytes(n), pinned(pin), data(pin ? allocate_pinned(n) : allocate(dev, n)) {}
Storage::~Storage() {
  if (pinned)
    deallocate_pinned(data);
  else
    deallocate(device, data, nbytes);
}

const TensorImpl& Tensor::checked() const {
  ANIMA_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

const Shape& Tensor::shape() const { return checked().shape; }
DType Tensor::dtype() const { return checked().dtype; }
Device Tensor::device() const { return checked().storage->device; }

int64_t Tensor::size(int d) const { return shape()[shape().wrap_dim(d, "Tensor::size")]; }

bool Tensor::same_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

void* Tensor::data_ptr() const {
  const TensorImpl& t = checked();
  return static_cast<char*>(t.storage->data) + t.offset * int64_t(dtype_size(t.dtype));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(device, size_t(shape.numel()) * dtype_size(dtype));
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  bool pin = cuda_available();
  impl->storage = std::make_shared<Storage>(Device::cpu(), size_t(shape.numel()) * dtype_size(dtype), pin);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
#if ANIMA_CUDA
  if (device.is_cuda()) {  // all-zero bytes are zero in every dtype; no host round trip
    Tensor t = empty(shape, dtype, device);
    if (t.nbytes() > 0) ANIMA_CUDA_CHECK(cudaMemsetAsync(t.data_ptr(), 0, t.nbytes(), 0));
    return t;
  }
#endif
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  // Filled on the host and copied (a synchronous copy for CUDA tensors): for hot paths use
  // kernels::full, which fills on the device.
  Tensor host = empty(shape, dtype, Device::cpu());
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = host.data<T>();
    T v = static_cast<T>(value);
    for (int64_t i = 0; i < host.numel(); ++i) p[i] = v;
  });
  return device.is_cpu() ? host : raw::to_device(host, device);
}

Tensor Tensor::scalar(float value, Device device) { return full(Shape{}, value, DType::F32, device); }

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  ANIMA_CHECK(int64_t(values.size()) == shape.numel(), "Tensor::from_vector: ", values.size(),
              " values given for shape ", shape.str(), " (", shape.numel(), " elements)");
  Tensor host = empty(shape, dtype_of<T>::value, Device::cpu());
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(T));
  return device.is_cpu() ? host : raw::to_device(host, device);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  ANIMA_CHECK(dtype() == dtype_of<T>::value, "Tensor::to_vector: tensor is ", dtype_name(dtype()), ", read as ",
              dtype_name(dtype_of<T>::value));
  std::vector<T> out(static_cast<size_t>(numel()));
  if (out.empty()) return out;
#if ANIMA_CUDA
  if (is_cuda()) {
    ANIMA_CUDA_CHECK(cudaMemcpy(out.data(), data_ptr(), nbytes(), cudaMemcpyDeviceToHost));
    return out;
  }
#endif
  std::memcpy(out.data(), data_ptr(), nbytes());
  return out;
}

#define ANIMA_INSTANTIATE(T)                                                           \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;
ANIMA_INSTANTIATE(float)
ANIMA_INSTANTIATE(uint8_t)
ANIMA_INSTANTIATE(int32_t)
ANIMA_INSTANTIATE(int64_t)
#undef ANIMA_INSTANTIATE

float Tensor::item() const {
  ANIMA_CHECK(numel() == 1, "Tensor::item: tensor of shape ", shape().str(), " has ", numel(), " elements, expected 1");
  return to_vector<float>()[0];
}

Tensor Tensor::detach() const {
  const TensorImpl& t = checked();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->offset = t.offset;
  impl->shape = t.shape;
  impl->dtype = t.dtype;
  return Tensor(std::move(impl));
}

std::string Tensor::str(int max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << shape().str() << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ", values=[";
  Tensor host = is_cuda() ? raw::to_device(*this, Device::cpu()) : *this;
  int64_t n = numel(), shown = n < max_elements ? n : max_elements;
  dispatch_dtype(dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = host.data<T>();
    for (int64_t i = 0; i < shown; ++i) {
      if (i) os << ", ";
      if constexpr (std::is_same_v<T, float>)
        os << std::setprecision(6) << p[i];
      else
        os << int64_t(p[i]);
    }
  });
  if (shown < n) os << ", ... (" << n - shown << " more)";
  os << "])";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

namespace raw {

Tensor view(const Tensor& t, const Shape& shape) {
  ANIMA_CHECK(shape.numel() == t.numel(), "view: cannot view a tensor of shape ", t.shape().str(), " (", t.numel(),
              " elements) as ", shape.str(), " (", shape.numel(), " elements)");
  Tensor v = t.detach();
  v.impl()->shape = shape;
  return v;
}

Shape infer_shape(const std::vector<int64_t>& dims, int64_t numel, const char* op) {
  std::vector<int64_t> out = dims;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      ANIMA_CHECK(infer < 0, op, ": more than one -1 in the requested shape");
      infer = int(i);
    } else {
      ANIMA_CHECK(dims[i] >= 0, op, ": invalid extent ", dims[i]);
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    ANIMA_CHECK(known > 0 && numel % known == 0, op, ": cannot infer -1 for ", numel,
                " elements from the known extents (product ", known, ")");
    out[infer] = numel / known;
  }
  Shape s(out);
  ANIMA_CHECK(s.numel() == numel, op, ": requested shape ", s.str(), " has ", s.numel(), " elements, the tensor has ",
              numel);
  return s;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  ANIMA_CHECK(dst.dtype() == src.dtype() && dst.numel() == src.numel(), "copy_into: destination ", dst.shape().str(),
              " ", dtype_name(dst.dtype()), " does not match source ", src.shape().str(), " ", dtype_name(src.dtype()));
  if (src.nbytes() == 0) return;
  if (dst.device().is_cpu() && src.device().is_cpu()) {
    std::memcpy(dst.data_ptr(), src.data_ptr(), src.nbytes());
    return;
  }
#if ANIMA_CUDA
  cudaMemcpyKind kind =
      src.is_cuda() ? (dst.is_cuda() ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost) : cudaMemcpyHostToDevice;
  if (kind == cudaMemcpyHostToDevice && src.is_pinned()) {
    // Queued on the default stream: later kernels see the data, the host does not wait.
    ANIMA_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), src.nbytes(), kind, 0));
    return;
  }
  ANIMA_CUDA_CHECK(cudaMemcpy(dst.data_ptr(), src.data_ptr(), src.nbytes(), kind));
#else
  ANIMA_FAIL("copy_into: CUDA tensor in a CUDA=0 build");
#endif
}

Tensor to_device(const Tensor& t, Device device) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  copy_into(out, t);
  return out;
}

}  // namespace raw

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    ANIMA_CHECK(t->defined(), op, ": an input tensor is undefined");
    if (!first) {
      first = t;
      continue;
    }
    ANIMA_CHECK(t->device() == first->device(), op, ": inputs are on different devices (", first->device().str(),
                " with shape ", first->shape().str(), ", ", t->device().str(), " with shape ", t->shape().str(), ")");
  }
}

void check_dtype(const char* op, const Tensor& t, DType expected) {
  ANIMA_CHECK(t.dtype() == expected, op, ": expected a ", dtype_name(expected), " tensor, got ", dtype_name(t.dtype()),
              " with shape ", t.shape().str());
}

}  // namespace anima
