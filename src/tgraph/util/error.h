// Error reporting: one exception type for bad input, one macro for internal invariants.
//
// tgraph::Error is thrown whenever user-supplied data (a file, a flag, a model) is not what the
// program expects. Its message is one line naming the source (file), the field (key), what was
// expected and what was found. Only the CLI catches it. TG_CHECK guards invariants of our own code:
// a failure there is a bug, reported with file:line, and is a different type (std::logic_error).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tgraph {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Builds the canonical one-line message: "<source>: <field>: expected <expected>, found <found>".
// Empty parts are left out.
std::string format_error(const std::string& source, const std::string& field,
                         const std::string& expected, const std::string& found);

[[noreturn]] void throw_error(const std::string& source, const std::string& field,
                              const std::string& expected, const std::string& found);

// Concatenates any streamable values into one string.
template <typename... A>
std::string str_cat(const A&... a) {
  std::ostringstream os;
  if constexpr (sizeof...(A) > 0) (os << ... << a);
  return os.str();
}

// Stream helper so callers can write TG_STR("shape (" << n << ", 140)").
#define TG_STR(expr)           \
  ([&]() {                     \
    std::ostringstream tg_os_; \
    tg_os_ << expr;            \
    return tg_os_.str();       \
  }())

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& msg) : std::logic_error(msg) {}
};

[[noreturn]] void internal_check_failed(const char* cond, const char* file, int line,
                                        const std::string& msg);

}  // namespace tgraph

// Internal invariant: a failure is a bug in tgraph, not bad input.
#define TG_CHECK(cond, ...)                                                                       \
  do {                                                                                            \
    if (!(cond))                                                                                  \
      ::tgraph::internal_check_failed(#cond, __FILE__, __LINE__, ::tgraph::str_cat(__VA_ARGS__)); \
  } while (0)
