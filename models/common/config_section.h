// Reading the YAML configs: one mapping at a time, remembering which keys were understood so that
// unknown keys (typos) are reported as warnings instead of passing silently. A key that is absent
// or empty ("key:" with nothing) leaves the field's default; a value of the wrong type is an
// error naming the dotted key.
#pragma once
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tensor/error.h"

namespace anima {

class ConfigSection {
 public:
  // `source` (the file, usually) starts every error message.
  ConfigSection(const YAML::Node& node, std::string path, std::vector<std::string>& warnings, std::string source = "")
      : node_(node), given_(present(node)), path_(std::move(path)), source_(std::move(source)), warnings_(warnings) {
    ANIMA_CHECK(!given_ || node_.IsMap(), prefix(), "config: '", path_, "' must be a mapping");
    if (!given_) return;
    std::set<std::string> seen;  // YAML forbids duplicate keys; yaml-cpp would keep one silently
    for (const auto& kv : node_)
      if (kv.first.IsScalar())
        ANIMA_CHECK(seen.insert(kv.first.Scalar()).second, prefix(), "config: duplicate key '",
                    printable(join(kv.first.Scalar())), "'");
  }
  ConfigSection(const ConfigSection&) = delete;  // returned by value only through copy elision
  ~ConfigSection() {
    if (!given_) return;
    for (const auto& kv : node_) {
      // (a destructor must not throw: a key that is not a plain scalar is reported, not read)
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
      if (!known_.count(key)) warnings_.push_back("unknown key '" + join(key) + "' ignored");
    }
  }
  template <class T>
  void get(const std::string& key, T& field) {
    known_.insert(key);
    if (!given_ || !present(node_[key])) return;
    try {
      field = node_[key].as<T>();
    } catch (const YAML::Exception& e) {
      ANIMA_FAIL(prefix(), "config: '", join(key), "' has the wrong type (", e.msg, ")");
    }
  }
  // One of a fixed set of names, parsed into its enum through `names` ({value, "name"} pairs); any
  // other text is an error listing the choices.
  template <class E, size_t N>
  void get_choice(const std::string& key, E& field, const std::pair<E, const char*> (&names)[N]) {
    std::string text;
    for (const auto& [value, name] : names)
      if (value == field) text = name;
    get(key, text);
    std::string choices;
    for (const auto& [value, name] : names) {
      if (text == name) {
        field = value;
        return;
      }
      choices += std::string(choices.empty() ? "" : ", ") + name;
    }
    ANIMA_FAIL(prefix(), "config: '", join(key), "' must be one of ", choices, "; got '", text, "'");
  }
  // A size given as one number (square) or as [h, w].
  void get_size(const std::string& key, std::vector<int64_t>& field) {
    if (given_ && present(node_[key]) && node_[key].IsScalar()) {
      int64_t side = 0;
      get(key, side);
      field = {side, side};
      return;
    }
    get(key, field);
  }
  ConfigSection sub(const std::string& key) {
    known_.insert(key);
    return ConfigSection(given_ ? node_[key] : YAML::Node(), join(key), warnings_, source_);
  }
  void ignore(const std::string& key) { known_.insert(key); }
  bool has(const std::string& key) const { return given_ && present(node_[key]); }
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // Parses a whole config text into its root mapping; errors name `what` (usually the file).
  static YAML::Node load_root(const std::string& text, const std::string& what) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      ANIMA_FAIL(what, ": invalid YAML: ", e.what());
    }
    ANIMA_CHECK(root.IsMap(), what, ": the config must be a YAML mapping");
    return root;
  }

 private:
  static bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }
  std::string prefix() const { return source_.empty() ? std::string() : source_ + ": "; }
  YAML::Node node_;
  bool given_;
  std::string path_;
  std::string source_;
  std::vector<std::string>& warnings_;
  std::set<std::string> known_;
};

}  // namespace anima
