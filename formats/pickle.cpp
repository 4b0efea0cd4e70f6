#include "formats/pickle.h"

#include <cstring>
#include <unordered_map>

#include "tensor/error.h"

namespace anima::pickle {
namespace {

constexpr size_t kMaxObjects = size_t(1) << 24;

struct StorageName {
  StorageType type;
  const char* name;
  size_t size;
};
constexpr StorageName kStorages[] = {
    {StorageType::F16, "HalfStorage", 2},  {StorageType::BF16, "BFloat16Storage", 2},
    {StorageType::F32, "FloatStorage", 4}, {StorageType::F64, "DoubleStorage", 8},
    {StorageType::I8, "CharStorage", 1},   {StorageType::I16, "ShortStorage", 2},
    {StorageType::I32, "IntStorage", 4},   {StorageType::I64, "LongStorage", 8},
    {StorageType::U8, "ByteStorage", 1},   {StorageType::Bool, "BoolStorage", 1},
};

// The callables a pickle may name, besides the storage types.
constexpr const char* kAllowedGlobals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
};

std::string hex_byte(unsigned char op) {
  const char* d = "0123456789abcdef";
  return std::string("0x") + d[op >> 4] + d[op & 15];
}

}  // namespace

size_t element_size(StorageType t) {
  for (const auto& s : kStorages)
    if (s.type == t) return s.size;
  return 1;
}

const char* storage_type_name(StorageType t) {
  for (const auto& s : kStorages)
    if (s.type == t) return s.name;
  return "?";
}

bool storage_type_of_global(const std::string& name, StorageType* out) {
  for (const auto& s : kStorages)
    if (name == std::string("torch.") + s.name) {
      *out = s.type;
      return true;
    }
  return false;
}

const char* Value::kind_name() const {
  static const char* names[] = {"None",  "bool", "int",  "int",    "float",   "str",   "bytes",
                                "tuple", "list", "dict", "global", "storage", "tensor"};
  return names[int(kind)];
}

const Value* Value::get(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::String && k->text == key) return v;
  return nullptr;
}

Unpickler::Unpickler(std::string what, PersistentLoad persistent_load)
    : what_(std::move(what)), persistent_load_(std::move(persistent_load)) {}

Unpickler::~Unpickler() = default;

Value* Unpickler::make(Value::Kind kind) {
  ANIMA_CHECK(arena_.size() < kMaxObjects, what_, ": the pickle builds more than ", kMaxObjects, " objects");
  arena_.push_back(std::make_unique<Value>());
  arena_.back()->kind = kind;
  return arena_.back().get();
}

Value* Unpickler::make_storage(const StorageRef& ref) {
  Value* v = make(Value::Kind::Storage);
  v->storage = ref;
  return v;
}

struct Unpickler::Impl {
  Unpickler& u;
  const unsigned char* data;
  size_t size, pos;
  std::vector<Value*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, Value*> memo;

  template <typename... A>
  [[noreturn]] void fail(const A&... parts) {
    ANIMA_FAIL(u.what(), ": ", parts..., " (at byte ", pos, ")");
  }
  const unsigned char* take(uint64_t n) {
    if (n > size - pos) fail("truncated: ", n, " bytes needed, ", size - pos, " left");
    const unsigned char* p = data + pos;
    pos += size_t(n);
    return p;
  }
  uint64_t uint_le(int n) {
    const unsigned char* p = take(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }
  Value* pop() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) fail("stack underflow");
    Value* v = stack.back();
    stack.pop_back();
    return v;
  }
  Value* top() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) fail("stack underflow");
    return stack.back();
  }
  // The values above the last MARK, removed from the stack with the mark.
  std::vector<Value*> pop_mark() {
    if (marks.empty()) fail("no MARK on the stack");
    size_t m = marks.back();
    marks.pop_back();
    std::vector<Value*> out(stack.begin() + long(m), stack.end());
    stack.resize(m);
    return out;
  }
  Value* push(Value* v) {
    stack.push_back(v);
    return v;
  }
  Value* text(Value::Kind kind, uint64_t n) {
    const unsigned char* p = take(n);
    Value* v = u.make(kind);
    v->text.assign(reinterpret_cast<const char*>(p), size_t(n));
    return v;
  }
  Value* integer(int64_t i) {
    Value* v = u.make(Value::Kind::Int);
    v->integer = i;
    return v;
  }
  // LONG1 / LONG4: little-endian two's complement of n bytes.
  Value* long_int(uint64_t n) {
    const unsigned char* p = take(n);
    if (n <= 8) {
      uint64_t x = 0;
      for (uint64_t k = n; k-- > 0;) x = (x << 8) | p[k];
      if (n > 0 && n < 8 && (p[n - 1] & 0x80)) x |= ~uint64_t(0) << (8 * n);  // sign-extend
      return integer(int64_t(x));
    }
    Value* v = u.make(Value::Kind::BigInt);
    v->text.assign(reinterpret_cast<const char*>(p), size_t(n));
    return v;
  }
  void memo_put(uint64_t key) { memo[key] = top(); }
  Value* memo_get(uint64_t key) {
    auto it = memo.find(key);
    if (it == memo.end()) fail("memo key ", key, " was never stored");
    return it->second;
  }
  Value* global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    bool ok = false;
    StorageType st;
    for (const char* g : kAllowedGlobals) ok = ok || full == g;
    if (!ok && !storage_type_of_global(full, &st))
      fail("refuses the global '", printable(full),
           "': only state-dict objects are allowed (a checkpoint that names anything else could run code)");
    Value* v = u.make(Value::Kind::Global);
    v->text = full;
    return v;
  }
  static bool is_int(const Value* v) { return v->kind == Value::Kind::Int; }
  std::vector<int64_t> int_tuple(const Value* v, const char* field) {
    if (v->kind != Value::Kind::Tuple && v->kind != Value::Kind::List) fail("tensor ", field, " is not a tuple");
    std::vector<int64_t> out;
    for (const Value* e : v->items) {
      if (!is_int(e)) fail("tensor ", field, " holds a ", e->kind_name(), ", not an int");
      out.push_back(e->integer);
    }
    return out;
  }
  // REDUCE / NEWOBJ: interprets a call of an allowed global; nothing is executed.
  Value* call(Value* callable, Value* args) {
    if (callable->kind != Value::Kind::Global) fail("calls a ", callable->kind_name(), ", not an allowed global");
    if (args->kind != Value::Kind::Tuple) fail("calls '", callable->text, "' with a ", args->kind_name());
    const std::string& f = callable->text;
    const std::vector<Value*>& a = args->items;
    if (f == "collections.OrderedDict") {
      if (!a.empty()) fail("collections.OrderedDict is called with arguments");
      return u.make(Value::Kind::Dict);
    }
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      if (a.size() < 4) fail(f, " needs (storage, offset, size, stride), got ", a.size(), " arguments");
      if (a[0]->kind != Value::Kind::Storage)
        fail(f, ": its first argument is a ", a[0]->kind_name(), ", not a storage");
      if (!is_int(a[1])) fail(f, ": the storage offset is not an int");
      Value* t = u.make(Value::Kind::Tensor);
      t->tensor.storage = &a[0]->storage;
      t->tensor.offset = a[1]->integer;
      t->tensor.size = int_tuple(a[2], "size");
      t->tensor.stride = int_tuple(a[3], "stride");
      return t;
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail(f, ": its first argument is not a tensor");
      return a[0];
    }
    fail("calls '", f, "', which is not callable here");
  }
  // Per dict, its keys' positions: a repeated key replaces the value, as in Python.
  std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> key_index;
  void set_item(Value* dict, Value* key, Value* value) {
    if (dict->kind != Value::Kind::Dict) fail("sets an item of a ", dict->kind_name());
    std::string k;
    if (key->kind == Value::Kind::String)
      k = "s" + key->text;
    else if (key->kind == Value::Kind::Int)
      k = "i" + std::to_string(key->integer);
    else if (key->kind == Value::Kind::BigInt)
      k = "b" + key->text;
    else
      fail("a dict key of type ", key->kind_name(), " (state dicts have str or int keys)");
    auto [it, fresh] = key_index[dict].emplace(k, dict->entries.size());
    if (fresh)
      dict->entries.emplace_back(key, value);
    else
      dict->entries[it->second].second = value;
  }
  std::string line() {
    size_t start = pos;
    while (pos < size && data[pos] != '\n') ++pos;
    if (pos >= size) fail("truncated GLOBAL");
    return std::string(reinterpret_cast<const char*>(data) + start, pos++ - start);
  }

  const Value& run() {
    while (true) {
      unsigned char op = *take(1);
      switch (op) {
        case 0x80: {  // PROTO
          unsigned p = *take(1);
          if (p < 2 || p > 5) fail("pickle protocol ", p, " is not supported (2 to 5 are)");
          break;
        }
        case 0x95:
          take(8);
          break;  // FRAME: a size hint
        case '}':
          push(u.make(Value::Kind::Dict));
          break;
        case ']':
          push(u.make(Value::Kind::List));
          break;
        case ')':
          push(u.make(Value::Kind::Tuple));
          break;
        case '(':
          marks.push_back(stack.size());
          break;
        case 'q':
          memo_put(uint_le(1));
          break;  // BINPUT
        case 'r':
          memo_put(uint_le(4));
          break;  // LONG_BINPUT
        case 0x94:
          memo_put(memo.size());
          break;  // MEMOIZE
        case 'h':
          push(memo_get(uint_le(1)));
          break;
        case 'j':
          push(memo_get(uint_le(4)));
          break;
        case 'X':
          push(text(Value::Kind::String, uint_le(4)));
          break;  // BINUNICODE
        case 0x8c:
          push(text(Value::Kind::String, uint_le(1)));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(text(Value::Kind::String, uint_le(8)));
          break;  // BINUNICODE8
        case 'T':
          push(text(Value::Kind::String, uint_le(4)));
          break;  // BINSTRING (Python 2 str)
        case 'U':
          push(text(Value::Kind::String, uint_le(1)));
          break;  // SHORT_BINSTRING
        case 'B':
          push(text(Value::Kind::Bytes, uint_le(4)));
          break;  // BINBYTES
        case 'C':
          push(text(Value::Kind::Bytes, uint_le(1)));
          break;  // SHORT_BINBYTES
        case 0x8e:
          push(text(Value::Kind::Bytes, uint_le(8)));
          break;  // BINBYTES8
        case 'J':
          push(integer(int32_t(uint32_t(uint_le(4)))));
          break;  // BININT
        case 'K':
          push(integer(int64_t(uint_le(1))));
          break;  // BININT1
        case 'M':
          push(integer(int64_t(uint_le(2))));
          break;  // BININT2
        case 0x8a:
          push(long_int(uint_le(1)));
          break;      // LONG1
        case 0x8b: {  // LONG4
          int64_t n = int32_t(uint32_t(uint_le(4)));
          if (n < 0) fail("LONG4 with a negative length");
          push(long_int(uint64_t(n)));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian IEEE double
          const unsigned char* p = take(8);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
          Value* v = push(u.make(Value::Kind::Float));
          std::memcpy(&v->number, &bits, 8);
          break;
        }
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          Value* v = push(u.make(Value::Kind::Bool));
          v->integer = op == 0x88;
          break;
        }
        case 'N':
          push(u.make(Value::Kind::None));
          break;
        case 't':
        case 'l': {  // TUPLE, LIST
          Value* v = u.make(op == 't' ? Value::Kind::Tuple : Value::Kind::List);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          Value* v = u.make(Value::Kind::Tuple);
          v->items.resize(op - 0x84);
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop();
          push(v);
          break;
        }
        case 'd': {  // DICT
          std::vector<Value*> kv = pop_mark();
          if (kv.size() % 2) fail("DICT with an odd number of items");
          Value* d = u.make(Value::Kind::Dict);
          for (size_t k = 0; k < kv.size(); k += 2) set_item(d, kv[k], kv[k + 1]);
          push(d);
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          std::string module = line();
          std::string name = line();
          push(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value* name = pop();
          Value* module = pop();
          if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
            fail("STACK_GLOBAL needs two strings");
          push(global(module->text, name->text));
          break;
        }
        case 'R':
        case 0x81: {  // REDUCE, NEWOBJ
          Value* args = pop();
          Value* callable = pop();
          push(call(callable, args));
          break;
        }
        case 'b': {  // BUILD: the state of an OrderedDict (its _metadata) or a parameter is not needed
          Value* state = pop();
          (void)state;
          Value* obj = top();
          if (obj->kind != Value::Kind::Dict && obj->kind != Value::Kind::Tensor) fail("BUILD on a ", obj->kind_name());
          break;
        }
        case 's': {  // SETITEM
          Value* value = pop();
          Value* key = pop();
          set_item(top(), key, value);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value*> kv = pop_mark();
          if (kv.size() % 2) fail("SETITEMS with an odd number of items");
          Value* d = top();
          for (size_t k = 0; k < kv.size(); k += 2) set_item(d, kv[k], kv[k + 1]);
          break;
        }
        case 'a': {  // APPEND
          Value* v = pop();
          Value* list = top();
          if (list->kind != Value::Kind::List) fail("APPEND to a ", list->kind_name());
          list->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Value*> vs = pop_mark();
          Value* list = top();
          if (list->kind != Value::Kind::List) fail("APPENDS to a ", list->kind_name());
          list->items.insert(list->items.end(), vs.begin(), vs.end());
          break;
        }
        case 'Q': {  // BINPERSID
          Value* pid = pop();
          if (!u.persistent_load_) fail("a persistent id where none is expected");
          push(u.persistent_load_(u, *pid));
          break;
        }
        case '0':
          pop();
          break;  // POP
        case '1':
          pop_mark();
          break;  // POP_MARK
        case '2':
          push(top());
          break;     // DUP
        case '.': {  // STOP
          Value* v = pop();
          if (!stack.empty() || !marks.empty()) fail("STOP with ", stack.size(), " values left on the stack");
          return *v;
        }
        default:
          fail("unsupported pickle opcode ", hex_byte(op),
               " (a checkpoint pickle uses protocol 2-5 opcodes for plain data only)");
      }
    }
  }
};

const Value& Unpickler::load(const unsigned char* data, size_t size, size_t& pos) {
  ANIMA_CHECK(pos <= size, what_, ": pickle starts past the end");
  Impl impl{*this, data, size, pos, {}, {}, {}, {}};
  const Value& v = impl.run();
  pos = impl.pos;
  return v;
}

}  // namespace anima::pickle
