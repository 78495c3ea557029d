#pragma once

#include <string_view>

namespace baton::routing {

// Takes the text up to the next `sep` off the front of `rest` ("mon,wed" -> "mon", then
// "wed"); the last part takes what is left.
inline std::string_view take_part(std::string_view& rest, char sep) {
  auto at = rest.find(sep);
  std::string_view part = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
  return part;
}

}  // namespace baton::routing
