// A small, strict JSON reader and writer for safetensors headers: objects, arrays, strings (with
// escapes), integers, numbers, true/false/null. Malformed input throws anima::Error with the
// byte offset; nesting is limited so hostile input cannot exhaust the stack.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace anima::json {

struct Member;

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  bool is_integer = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<Member> object;  // in file order

  const Value* find(const std::string& key) const;
};

// One key of an object (a struct, not std::pair: the element type of Value::object must be
// allowed incomplete inside Value).
struct Member {
  std::string first;
  Value second;
  Member(std::string key, Value value) : first(std::move(key)), second(std::move(value)) {}
};

// `what` names the source in error messages (e.g. the file name).
Value parse(const std::string& text, const std::string& what);
std::string quote(const std::string& s);

}  // namespace anima::json
