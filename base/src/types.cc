#include "baton/base/types.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace baton {

std::string_view to_string(Channel c) {
  switch (c) {
    case Channel::Chat:
      return "chat";
    case Channel::Email:
      return "email";
    case Channel::Voice:
      return "voice";
    case Channel::Social:
      return "social";
    case Channel::Web:
      return "web";
  }
  return "chat";
}

std::optional<Channel> parse_channel(std::string_view s) {
  for (Channel c : kAllChannels) {
    if (to_string(c) == s) {
      return c;
    }
  }
  return std::nullopt;
}

bool is_live(Channel c) { return c == Channel::Chat || c == Channel::Voice; }

std::optional<Duration> parse_duration(std::string_view s) {
  if (s == "0") {
    return Duration{0};
  }
  if (s.empty()) {
    return std::nullopt;
  }
  long long total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
    long long n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      n = n * 10 + (s[i] - '0');
      if (n > 1'000'000'000LL) {
        return std::nullopt;
      }
      ++i;
    }
    std::string_view unit;
    std::size_t start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    unit = s.substr(start, i - start);
    long long factor = 0;
    if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60'000;
    } else if (unit == "h") {
      factor = 3'600'000;
    } else if (unit == "d") {
      factor = 86'400'000;
    } else {
      return std::nullopt;
    }
    total_ms += n * factor;
  }
  return Duration{total_ms};
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms % 1000 != 0) {
    return std::to_string(ms) + "ms";
  }
  auto s = ms / 1000;
  if (s != 0 && s % 3600 == 0) {
    return std::to_string(s / 3600) + "h";
  }
  if (s != 0 && s % 60 == 0) {
    return std::to_string(s / 60) + "m";
  }
  return std::to_string(s) + "s";
}

namespace {

// Whether any of the eight bytes in `w` must be escaped in a JSON string: a control
// character (< 0x20), '"' or '\\'. Exact for the word as a whole (which byte is not told).
bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  return (below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) != 0;
}

void append_escape(std::string& out, unsigned char c) {
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
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    }
  }
}

}  // namespace

// Text is skipped eight bytes at a time while no byte of them needs escaping (nearly all
// text: subjects, names, ids, keys), and copied in one block up to each byte that does.
void append_json_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t run = 0;  // start of the characters not yet copied
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (!word_needs_escape(w)) {
        i += 8;
        continue;
      }
    }
    for (std::size_t end = std::min(n, i + 8); i < end; ++i) {
      auto c = static_cast<unsigned char>(p[i]);
      if (c >= 0x20 && c != '"' && c != '\\') {
        continue;
      }
      out.append(p + run, i - run);
      run = i + 1;
      append_escape(out, c);
    }
  }
  out.append(p + run, n - run);
  out.push_back('"');
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_quoted(out, s);
  return out;
}

std::optional<std::int64_t> exact_integer(double d) {
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (std::isfinite(d) && std::fabs(d) < kExact && d == std::trunc(d)) {
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

void append_json_number(std::string& out, double d) {
  char buf[32];
  if (auto whole = exact_integer(d)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, *whole).ptr);
  } else if (std::isfinite(d)) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
  } else {
    out += "null";
  }
}

}  // namespace baton
