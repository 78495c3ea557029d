#pragma once

// The system's tz database (Debian's tzdata under /usr/share/zoneinfo) as the rules'
// ZoneSource: routing parses TZif bytes, this reads them.

#include <string>

#include "baton/routing/calendar.h"

namespace baton::cli {

routing::ZoneSource system_zones(std::string dir = "/usr/share/zoneinfo");

}  // namespace baton::cli
