// Reading the YAML configs: one mapping at a time, remembering which keys were understood so that
// unknown keys (typos) are reported as warnings instead of passing silently. A key that is absent
// or empty ("key:" with nothing) leaves the field's default; a value of the wrong type is an
// error naming the dotted key.
#pragma once
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <sstream>
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
  // A config is plain data: one document of at most 1 MiB, nested at most 32 deep, at most 100000
  // nodes, without anchors, aliases or tags (a hostile file cannot build cycles, alias bombs or a
  // deep recursion in the YAML library). Checked on the parser's events before the tree is built.
  static YAML::Node load_root(const std::string& text, const std::string& what) {
    ANIMA_CHECK(text.size() <= (size_t(1) << 20), what, ": ", text.size(), " bytes: a config is at most 1 MiB");
    YAML::Node root;
    try {
      PlainData check(what);
      std::istringstream in(text);
      YAML::Parser parser(in);
      int documents = 0;
      while (parser.HandleNextDocument(check))
        ANIMA_CHECK(++documents == 1, what, ": a config is one YAML document");
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      ANIMA_FAIL(what, ": invalid YAML: ", e.what());
    }
    ANIMA_CHECK(root.IsMap(), what, ": the config must be a YAML mapping");
    return root;
  }

 private:
  // The parser events of a plain-data document, refusing what load_root's comment lists.
  struct PlainData : YAML::EventHandler {
    explicit PlainData(const std::string& what) : what(what) {}
    const std::string& what;
    int depth = 0;
    int64_t nodes = 0;
    void node(YAML::anchor_t anchor, const std::string& tag) {
      ANIMA_CHECK(++nodes <= 100000, what, ": a config has at most 100000 YAML nodes");
      ANIMA_CHECK(anchor == YAML::NullAnchor, what, ": YAML anchors and aliases are not allowed in a config");
      ANIMA_CHECK(tag.empty() || tag == "?" || tag == "!", what, ": YAML tags are not allowed in a config (",
                  printable(tag), ")");
    }
    void open(YAML::anchor_t anchor, const std::string& tag) {
      node(anchor, tag);
      ANIMA_CHECK(++depth <= 32, what, ": a config nests at most 32 levels");
    }
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { node(anchor, ""); }
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {
      ANIMA_FAIL(what, ": YAML anchors and aliases are not allowed in a config");
    }
    void OnScalar(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor, const std::string&) override {
      node(anchor, tag);
    }
    void OnSequenceStart(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
      open(anchor, tag);
    }
    void OnSequenceEnd() override { --depth; }
    void OnMapStart(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
      open(anchor, tag);
    }
    void OnMapEnd() override { --depth; }
  };
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
