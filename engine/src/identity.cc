#include "baton/engine/identity.h"

#include <algorithm>
#include <cctype>

namespace baton::engine {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

std::string fold(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

Error bad(std::string why) { return Error(ErrorCode::InvalidArgument, std::move(why)); }

Result<std::string> phone(std::string_view raw, std::string_view default_country) {
  std::string_view s = trim(raw);
  if (s.size() >= 4 && fold(s.substr(0, 4)) == "tel:") {
    s.remove_prefix(4);
  }
  std::string digits;
  bool plus = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (ch == '+' && i == 0) {
      plus = true;
    } else if (std::isdigit(static_cast<unsigned char>(ch)) != 0) {
      digits.push_back(ch);
    } else if (ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')' || ch == '/') {
      continue;
    } else {
      return bad("a phone number takes digits, '+', spaces, dashes, dots and parentheses");
    }
  }
  if (!plus && digits.starts_with("00")) {
    plus = true;
    digits.erase(0, 2);
  }
  if (!plus) {
    if (default_country.empty()) {
      return bad("must be an international number (+ and the country code)");
    }
    if (digits.starts_with("0")) {
      digits.erase(0, 1);  // the national trunk prefix
    }
    digits = std::string(default_country) + digits;
  }
  if (digits.size() < 8 || digits.size() > 15 || digits.front() == '0') {
    return bad("must be a phone number of 8–15 digits with its country code");
  }
  return "+" + digits;
}

}  // namespace

Result<std::string> normalize_address(Channel channel, std::string_view address,
                                      std::string_view default_country) {
  std::string_view s = trim(address);
  if (s.empty()) {
    return bad("must not be empty");
  }
  if (s.size() > 320) {
    return bad("must be at most 320 bytes");
  }
  switch (channel) {
    case Channel::Email: {
      auto at = s.find('@');
      if (at == std::string_view::npos || at == 0 || at + 1 == s.size() ||
          s.find('@', at + 1) != std::string_view::npos ||
          std::any_of(s.begin(), s.end(), [](unsigned char ch) { return std::isspace(ch) != 0; })) {
        return bad("must be an e-mail address (name@domain)");
      }
      return fold(s);
    }
    case Channel::Voice:
      return phone(s, default_country);
    case Channel::Social: {
      if (s.front() == '@') {
        s.remove_prefix(1);
      }
      if (s.empty()) {
        return bad("must not be empty");
      }
      return fold(s);
    }
    case Channel::Chat:
    case Channel::Web:
      return std::string(s);
  }
  return std::string(s);
}

}  // namespace baton::engine
