#include "regex.h"

#include <string>

#include <re2/re2.h>

namespace baton::routing {

int utf8_column(std::string_view s, std::size_t byte_offset) {
  int n = 0;
  for (std::size_t i = 0; i < byte_offset && i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

struct Regex::Impl {
  explicit Impl(std::string_view pattern, const RE2::Options& options)
      : re(re2::StringPiece(pattern.data(), pattern.size()), options) {}
  RE2 re;
};

Result<Regex> Regex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramBytes);
  auto impl = std::make_shared<const Impl>(pattern, options);
  if (!impl->re.ok()) {
    return Error(ErrorCode::InvalidArgument, "invalid regular expression: " + impl->re.error() +
                                                 (impl->re.error_code() == RE2::ErrorPatternTooLarge
                                                      ? " (larger than the matcher's memory bound)"
                                                      : ""));
  }
  return Regex(std::move(impl));
}

bool Regex::search(std::string_view utf8_text) const {
  return RE2::PartialMatch(re2::StringPiece(utf8_text.data(), utf8_text.size()), impl_->re);
}

}  // namespace baton::routing
