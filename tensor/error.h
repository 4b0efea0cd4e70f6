// Errors are exceptions that carry context: the op, the shapes, the file, what was expected.
// ANIMA_CHECK(cond, parts...) throws anima::Error("file:line: parts...") when cond is false.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace anima {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// `text` safe to print on a terminal: control bytes (ANSI escapes, newlines, DEL) become \xNN;
// the rest (UTF-8 included) is kept. For names and values that come from files.
inline std::string printable(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
template <class... Parts>
[[noreturn]] void fail(const char* file, int line, const Parts&... parts) {
  std::ostringstream os;
  append(os, parts...);
  os << " [" << file << ":" << line << "]";
  throw Error(os.str());
}
}  // namespace detail

}  // namespace anima

#define ANIMA_CHECK(cond, ...)                                           \
  do {                                                                   \
    if (!(cond)) ::anima::detail::fail(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define ANIMA_FAIL(...) ::anima::detail::fail(__FILE__, __LINE__, __VA_ARGS__)
