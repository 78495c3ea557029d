#pragma once

// The system's tz database for tests, as the server's own (cli/tz_database.cc) reads it:
// routing parses the bytes a caller hands it.

#include <fstream>
#include <iterator>
#include <string>

#include "baton/routing/calendar.h"

namespace baton::testing {

inline routing::ZoneSource system_zones() {
  return [](std::string_view name) -> Result<std::string> {
    std::ifstream in("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
    if (!in) {
      return Error(ErrorCode::NotFound, "no zone " + std::string(name));
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
}

}  // namespace baton::testing
