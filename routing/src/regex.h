#pragma once

// Regular expressions over UTF-8 text with Perl syntax, including inline flags such as
// (?i). Subjects and patterns are decoded to code points first, so "." and character
// classes ([가-힣]) see whole characters, not bytes.

#include <memory>
#include <string_view>

#include "baton/base/result.h"

namespace baton::routing {

class Regex {
 public:
  static Result<Regex> compile(std::string_view pattern);
  bool search(std::string_view utf8_text) const;

 private:
  struct Impl;
  explicit Regex(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Decodes UTF-8; invalid bytes become U+FFFD.
std::u32string decode_utf8(std::string_view s);
// Number of characters in s[0, byte_offset).
int utf8_column(std::string_view s, std::size_t byte_offset);

}  // namespace baton::routing
