#include "regex.h"

#include <string>

#include <boost/regex.hpp>

namespace baton::routing {

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    char32_t cp = 0xFFFD;
    std::size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      len = 4;
      cp = c & 0x07;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    if (i + len > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool valid = true;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

int utf8_column(std::string_view s, std::size_t byte_offset) {
  int n = 0;
  for (std::size_t i = 0; i < byte_offset && i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

namespace {
// wchar_t is 32 bits on the platforms Baton supports, so a wide string holds code points.
static_assert(sizeof(wchar_t) == 4, "wchar_t must hold a Unicode code point");

std::wstring to_wide(std::string_view s) {
  auto u = decode_utf8(s);
  return std::wstring(u.begin(), u.end());
}
}  // namespace

struct Regex::Impl {
  boost::wregex re;
};

Result<Regex> Regex::compile(std::string_view pattern) {
  auto impl = std::make_shared<Impl>();
  try {
    impl->re.assign(to_wide(pattern), boost::regex_constants::perl);
  } catch (const boost::regex_error& e) {
    return Error(ErrorCode::InvalidArgument,
                 std::string("invalid regular expression: ") + e.what());
  }
  return Regex(std::move(impl));
}

bool Regex::search(std::string_view utf8_text) const {
  auto wide = to_wide(utf8_text);
  try {
    return boost::regex_search(wide, impl_->re);
  } catch (const std::runtime_error&) {
    // Boost.Regex gives up on pathological patterns (too complex / stack) rather than
    // running forever; a rule that cannot decide does not match.
    return false;
  }
}

}  // namespace baton::routing
