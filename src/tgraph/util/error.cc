#include "tgraph/util/error.h"

namespace tgraph {

std::string format_error(const std::string& source, const std::string& field,
                         const std::string& expected, const std::string& found) {
  std::string m = source.empty() ? std::string("error") : source;
  if (!field.empty()) m += ": " + field;
  if (!expected.empty()) m += ": expected " + expected;
  if (!found.empty()) m += (expected.empty() ? ": " : ", found ") + found;
  // One line: newlines inside values would break log parsing and the CLI contract.
  for (char& c : m)
    if (c == '\n' || c == '\r') c = ' ';
  return m;
}

void throw_error(const std::string& source, const std::string& field, const std::string& expected,
                 const std::string& found) {
  throw Error(format_error(source, field, expected, found));
}

void internal_check_failed(const char* cond, const char* file, int line, const std::string& msg) {
  std::string m = std::string("internal error (bug in tgraph) at ") + file + ":" +
                  std::to_string(line) + ": check `" + cond + "` failed";
  if (!msg.empty()) m += ": " + msg;
  throw InternalError(m);
}

}  // namespace tgraph
