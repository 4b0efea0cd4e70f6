// Tensor: a shape, a dtype, a device and a reference to contiguous storage (row-major, C order).
// Views (reshape, detach) share the storage; every other op writes a new tensor.
//
// The methods marked "differentiable" are recorded by autograd when grad mode is on and an input
// requires grad. They are declared here, for the familiar `x.reshape(...)` / `x.backward()`
// spelling, and defined in autograd/ (autograd/tensor_methods.cpp), which owns the recording.
// Everything else here is plain data handling and never touches autograd.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"

namespace anima {

// A block of device or host memory from the allocators; freed (or returned to the CUDA cache)
// when the last tensor using it goes away.
struct Storage {
  // pinned: page-locked host memory (CPU device only), so copies to the GPU run asynchronously.
  Storage(Device device, size_t nbytes, bool pinned = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device;
  size_t nbytes;
  bool pinned;
  void* data;
};

struct Node;          // autograd/node.h
struct AutogradMeta;  // below

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<AutogradMeta> autograd;  // grad and grad_fn; created when needed
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- construction (never recorded) ----
  // zeros() on a GPU is an asynchronous memset; full()/ones() fill on the host and copy, so code
  // on a hot GPU path uses kernels::full (kernels/elementwise.h) instead.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor scalar(float value, Device device = Device::cpu());
  // A CPU tensor in page-locked memory when a GPU is usable (plain memory otherwise): copies from
  // it to the GPU are asynchronous. Keep it alive until the work that reads the copy is queued.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);
  // Copies host data in; values.size() must equal shape.numel().
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());

  // ---- properties ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int dim() const { return shape().ndim; }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_pinned() const { return defined() && impl_->storage->pinned; }
  bool same_storage(const Tensor& other) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // Raw element pointer (device memory for CUDA tensors). data<T>() checks the dtype.
  void* data_ptr() const;
  template <class T>
  T* data() const {
    ANIMA_CHECK(dtype() == dtype_of<T>::value, "Tensor::data: tensor is ", dtype_name(dtype()), ", accessed as ",
                dtype_name(dtype_of<T>::value));
    return static_cast<T*>(data_ptr());
  }

  // ---- host read-back (copies from the GPU when needed) ----
  template <class T>
  std::vector<T> to_vector() const;
  float item() const;  // one-element float32 tensor

  // ---- differentiable views and copies (autograd/tensor_methods.cpp) ----
  Tensor reshape(const std::vector<int64_t>& shape) const;  // one extent may be -1
  Tensor to(Device device) const;
  Tensor clone() const;

  // ---- autograd (autograd/tensor_methods.cpp) ----
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  // Marks a leaf tensor as a parameter/input whose gradient is wanted.
  Tensor& set_requires_grad(bool value);
  // The accumulated gradient of a leaf after backward(); undefined if none.
  Tensor grad() const;
  void zero_grad() const;
  std::shared_ptr<Node> grad_fn() const;
  bool is_leaf() const { return !grad_fn(); }
  // Backpropagates from this tensor: a one-element tensor, or any tensor with `gradient` given.
  void backward(const Tensor& gradient = Tensor()) const;

  // A view of the same storage outside the graph.
  Tensor detach() const;

  std::string str(int max_elements = 64) const;

 private:
  const TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

struct AutogradMeta {
  Tensor grad;                    // accumulated gradient (leaves)
  std::shared_ptr<Node> grad_fn;  // the op that produced this tensor (non-leaves)
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Plain data operations outside autograd (used by kernels, autograd rules and IO).
namespace raw {
// Same storage, new shape (numel must match).
Tensor view(const Tensor& t, const Shape& shape);
// A copy of t on `device` (a plain copy when devices are equal).
Tensor to_device(const Tensor& t, Device device);
// Copies src's bytes into dst (same dtype and numel; any devices).
void copy_into(const Tensor& dst, const Tensor& src);
// Resolves one -1 in `dims` against numel; throws naming `op` if impossible.
Shape infer_shape(const std::vector<int64_t>& dims, int64_t numel, const char* op);
}  // namespace raw

// Throws naming `op` unless every tensor is defined and on `device`.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_dtype(const char* op, const Tensor& t, DType expected);

}  // namespace anima
