#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "baton/base/types.h"

namespace {

// JSON string quoting as RFC 8259 says, one byte at a time: what the fast path must equal.
std::string reference_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

TEST_CASE("JSON quoting escapes every byte that needs it at every place in a string") {
  CHECK(baton::json_quote("") == "\"\"");
  CHECK(baton::json_quote("환불 요청 — order A-1001") == "\"환불 요청 — order A-1001\"");
  CHECK(baton::json_quote("say \"hi\"\\\n\x01") == "\"say \\\"hi\\\"\\\\\\n\\u0001\"");
  // Each byte value, alone and at each offset of strings from 1 to 24 bytes long (the
  // fast path reads eight bytes at a time: every position in a word, and the tail).
  for (int b = 0; b < 256; ++b) {
    for (std::size_t len = 1; len <= 24; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = static_cast<char>(b);
        INFO("byte " << b << " at " << at << " of " << len);
        REQUIRE(baton::json_quote(s) == reference_quote(s));
      }
    }
  }
  // Bytes just around the ones escaped, and UTF-8 continuation bytes beside them.
  std::string mixed;
  for (int b : {0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xc3, 0xff, 0x00}) {
    mixed += static_cast<char>(b);
  }
  for (int i = 0; i < 5; ++i) {
    mixed += mixed;
  }
  CHECK(baton::json_quote(mixed) == reference_quote(mixed));
  // Appending keeps what the buffer held.
  std::string out = "{\"k\":";
  baton::append_json_quoted(out, "a\tb");
  CHECK(out == "{\"k\":\"a\\tb\"");
}
