#pragma once

// api/: the HTTP/WebSocket server (Boost.Beast), JSON codec, auth and idempotency.
// Beast and Boost.JSON stay inside api/src; this header is all others see.

#include <optional>
#include <string>
#include <string_view>

#include "baton/engine/queries.h"

namespace baton::api {

// The API version served under /v1.
std::string_view api_version();

// The JSON of GET /v1/reports/summary, for `baton report`.
std::string summary_json(engine::Summary s);
// An RFC 3339 time as the API reads it.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace baton::api
