#pragma once

// Regular expressions over UTF-8 text (RE2): Perl's syntax, inline flags such as (?i)
// included, without backreferences and look-around. "." and character classes ([가-힣])
// see whole characters, not bytes. A match takes time linear in the text whatever the
// pattern, so no rule can hold the engine on a long body; a pattern whose compiled
// program would outgrow kMaxProgramBytes is refused when the rules are parsed.

#include <cstdint>
#include <memory>
#include <string_view>

#include "baton/base/result.h"

namespace baton::routing {

class Regex {
 public:
  static constexpr std::int64_t kMaxProgramBytes = 1 << 20;

  static Result<Regex> compile(std::string_view pattern);
  bool search(std::string_view utf8_text) const;

 private:
  struct Impl;
  explicit Regex(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Number of characters in s[0, byte_offset).
int utf8_column(std::string_view s, std::size_t byte_offset);

}  // namespace baton::routing
