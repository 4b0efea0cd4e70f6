// A restricted unpickler for the Python pickles inside PyTorch checkpoint files (protocols 2-5).
//
// It builds plain values (None, bool, int, float, str, bytes, tuple, list, dict) and the few
// objects a state dict is made of; it never runs code. A GLOBAL is looked up in an allow-list
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter,
// the torch.*Storage types) and any other name — os.system, builtins.eval, ... — is refused with
// an error naming it, before anything else happens. REDUCE / NEWOBJ may only "call" an allowed
// global, and the call is interpreted here (an OrderedDict becomes a dict, a _rebuild_tensor_v2 a
// TensorRef), never executed. Storages come from the container through the persistent-load hook.
//
// Every length is checked against the bytes left, the number of objects is capped, and all
// objects live in one arena owned by the Unpickler (a pickle can build cycles: no reference
// counting, no recursion on destruction).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace anima::pickle {

// The element types of torch storages.
enum class StorageType { F16, BF16, F32, F64, I8, I16, I32, I64, U8, Bool };
size_t element_size(StorageType t);
const char* storage_type_name(StorageType t);  // "FloatStorage", ...

struct Value;

// A storage a tensor refers to: resolved by the container (its bytes are found there).
struct StorageRef {
  StorageType type = StorageType::F32;
  std::string key;          // the container's name for its bytes
  int64_t numel = 0;        // elements of the storage (of the view, for a legacy storage view)
  int64_t view_offset = 0;  // legacy storage views: first element inside the root storage
};

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...).
struct TensorRef {
  const StorageRef* storage = nullptr;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;        // Bool, Int
  double number = 0;          // Float
  std::string text;           // String, Bytes, Global ("module.name"), BigInt (little-endian two's complement bytes)
  std::vector<Value*> items;  // Tuple, List
  std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
  StorageRef storage;                              // Storage
  TensorRef tensor;                                // Tensor

  const char* kind_name() const;
  const Value* get(const std::string& key) const;  // Dict entry with that string key, or null
};

class Unpickler {
 public:
  // `what` names the data in errors ("FILE: data.pkl"). `persistent_load` turns a persistent id
  // (BINPERSID) into a Storage value made with make_storage (it may throw).
  using PersistentLoad = std::function<Value*(Unpickler&, const Value& pid)>;
  Unpickler(std::string what, PersistentLoad persistent_load);
  ~Unpickler();
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Unpickles one pickle starting at data[pos]; returns its value and sets `pos` past its STOP.
  const Value& load(const unsigned char* data, size_t size, size_t& pos);

  Value* make(Value::Kind kind);
  Value* make_storage(const StorageRef& ref);
  const std::string& what() const { return what_; }

 private:
  struct Impl;
  std::string what_;
  PersistentLoad persistent_load_;
  std::vector<std::unique_ptr<Value>> arena_;
};

// "torch.FloatStorage" -> FloatStorage's type; false for any other name.
bool storage_type_of_global(const std::string& name, StorageType* out);

}  // namespace anima::pickle
