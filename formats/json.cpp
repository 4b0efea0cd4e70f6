#include "formats/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "tensor/error.h"

namespace anima::json {
namespace {

constexpr int kMaxDepth = 64;

struct Parser {
  const std::string& s;
  const std::string& what;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& msg) const { ANIMA_FAIL(what, ": invalid JSON at byte ", i, ": ", msg); }
  void skip_ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  char peek() {
    skip_ws();
    if (i >= s.size()) fail("unexpected end");
    return s[i];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i;
  }
  void literal(const char* word) {
    for (const char* p = word; *p; ++p, ++i)
      if (i >= s.size() || s[i] != *p) fail(std::string("expected ") + word);
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (i + 4 > s.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        fail("bad hex digit in \\u escape");
    }
    return v;
  }

  // The rest of a UTF-8 sequence whose lead byte is `lead` (RFC 3629: no overlong forms, no
  // surrogates, at most U+10FFFF), appended to `out`.
  void utf8_sequence(char lead, std::string& out) {
    unsigned char b0 = static_cast<unsigned char>(lead);
    int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
    if (extra < 0 || b0 > 0xF4 || b0 == 0xC0 || b0 == 0xC1) fail("invalid UTF-8 in string");
    uint32_t cp = b0 & (0x3F >> extra);
    out += lead;
    for (int k = 0; k < extra; ++k) {
      if (i >= s.size()) fail("truncated UTF-8 sequence in string");
      unsigned char b = static_cast<unsigned char>(s[i++]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8 in string");
      cp = (cp << 6) | (b & 0x3F);
      out += char(b);
    }
    static const uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) fail("invalid UTF-8 in string");
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (i >= s.size()) fail("unterminated string");
      char c = s[i++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {  // a multi-byte UTF-8 sequence, validated
        utf8_sequence(c, out);
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) fail("unterminated escape");
      char e = s[i++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp < 0xE000) fail("lone low surrogate");
          if (cp >= 0xD800 && cp < 0xDC00) {  // surrogate pair
            if (i + 2 > s.size() || s[i] != '\\' || s[i + 1] != 'u') fail("lone surrogate");
            i += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail(std::string("bad escape \\") + e);
      }
    }
  }

  Value number() {
    size_t start = i;
    if (s[i] == '-') ++i;
    auto digits = [&] {
      size_t d = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (i == d) fail("expected digits");
    };
    digits();
    bool integer = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
      integer = false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      digits();
      integer = false;
    }
    Value v;
    v.kind = Value::Kind::Number;
    std::string text = s.substr(start, i - start);
    v.number = std::strtod(text.c_str(), nullptr);
    if (integer) {
      errno = 0;
      long long x = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) fail("integer out of range");
      v.is_integer = true;
      v.integer = x;
    }
    return v;
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    char c = peek();
    Value v;
    if (c == '{') {
      ++i;
      v.kind = Value::Kind::Object;
      if (peek() == '}') {
        ++i;
        return v;
      }
      std::set<std::string> keys;
      while (true) {
        std::string key = string();
        if (!keys.insert(key).second) fail("duplicate key \"" + printable(key) + "\" in object");
        expect(':');
        v.object.emplace_back(std::move(key), value(depth + 1));
        char d = peek();
        ++i;
        if (d == '}') return v;
        if (d != ',') fail("expected ',' or '}' in object");
      }
    }
    if (c == '[') {
      ++i;
      v.kind = Value::Kind::Array;
      if (peek() == ']') {
        ++i;
        return v;
      }
      while (true) {
        v.array.push_back(value(depth + 1));
        char d = peek();
        ++i;
        if (d == ']') return v;
        if (d != ',') fail("expected ',' or ']' in array");
      }
    }
    if (c == '"') {
      v.kind = Value::Kind::String;
      v.string = string();
      return v;
    }
    if (c == 't' || c == 'f') {
      literal(c == 't' ? "true" : "false");
      v.kind = Value::Kind::Bool;
      v.boolean = c == 't';
      return v;
    }
    if (c == 'n') {
      literal("null");
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    fail(std::string("unexpected character '") + c + "'");
  }
};

}  // namespace

const Value* Value::find(const std::string& key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

Value parse(const std::string& text, const std::string& what) {
  Parser p{text, what};
  Value v = p.value(0);
  p.skip_ws();
  if (p.i != text.size()) p.fail("trailing characters after the value");
  return v;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace anima::json
