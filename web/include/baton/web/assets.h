#pragma once

// The web console's files, embedded in the binary at build time (web/embed.cmake).

#include <span>
#include <string_view>

namespace baton::web {

struct Asset {
  std::string_view path;          // as requested: "/index.html", "/js/agent.js"
  std::string_view content_type;  // with charset for text
  std::string_view body;
  std::string_view etag;  // strong, quoted: "\"0123456789abcdef\""
};

std::span<const Asset> assets();
// The asset served at `path`, or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace baton::web
