// The limits a rule source is checked against before the TOML parser sees it.

#include <string>

#include "baton/routing/rules.h"

namespace baton::routing {

namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Error refuse(std::string message, int line, int column) {
  FieldError fe{"source", message, line, column};
  return Error(ErrorCode::InvalidArgument, "routing rules refused: " + message, {fe});
}

}  // namespace

Status check_source_limits(std::string_view src, const RuleLimits& limits) {
  if (src.size() > limits.source_bytes) {
    return refuse(
        "longer than " + std::to_string(limits.source_bytes) + " bytes (routing.max_source_bytes)",
        1, 1);
  }
  // One pass over the text: strings and comments are skipped whole; elsewhere a run of
  // keys joined by dots (`a.b."c"`) counts its dots. A float (1.5) is a run of one; a run
  // longer than the limit is refused where it passes it. Anything that is not part of a
  // key ends the run, so no valid TOML is counted wrong in a way that matters: only key
  // paths ever have more than one dot outside a string.
  int line = 1;
  std::size_t line_start = 0;
  int dots = 0;
  bool after_key = false;  // the last thing seen was a key (bare or quoted)
  std::size_t i = 0;
  auto column = [&](std::size_t at) { return static_cast<int>(at - line_start) + 1; };
  auto newline = [&](std::size_t at) {
    ++line;
    line_start = at + 1;
  };
  while (i < src.size()) {
    char c = src[i];
    if (c == '#') {
      while (i < src.size() && src[i] != '\n') {
        ++i;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      bool triple = src.substr(i, 3) == std::string(3, c);
      std::size_t close_len = triple ? 3 : 1;
      i += close_len;
      while (i < src.size()) {
        if (c == '"' && src[i] == '\\') {
          if (i + 1 < src.size() && src[i + 1] == '\n') {
            newline(i + 1);
          }
          i += 2;
          continue;
        }
        if (src[i] == '\n') {
          newline(i);
          if (!triple) {
            break;  // an unclosed string: the TOML parser says where
          }
        }
        if (src.substr(i, close_len) == std::string(close_len, c)) {
          i += close_len;
          break;
        }
        ++i;
      }
      after_key = true;
      continue;
    }
    if (is_bare_key_char(c)) {
      while (i < src.size() && is_bare_key_char(src[i])) {
        ++i;
      }
      after_key = true;
      continue;
    }
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (c == '.' && after_key) {
      if (++dots >= limits.key_segments) {
        return refuse("a dotted key or table name of more than " +
                          std::to_string(limits.key_segments) + " segments",
                      line, column(i));
      }
      after_key = false;
      ++i;
      continue;
    }
    if (c == '\n') {
      newline(i);
    }
    dots = 0;
    after_key = false;
    ++i;
  }
  return {};
}

}  // namespace baton::routing
