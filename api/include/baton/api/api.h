#pragma once

// api/: the HTTP/WebSocket server (Boost.Beast), JSON codec, auth and idempotency.
// Beast and Boost.JSON stay inside api/src; this header is all others see.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "baton/engine/engine.h"
#include "baton/engine/queries.h"
#include "baton/engine/replay.h"

namespace baton::api {

// The API version served under /v1.
std::string_view api_version();

// The JSON of GET /v1/reports/summary, for `baton report`.
std::string summary_json(engine::Summary s);
// A what-if: the rule sets to replay a window under, and how.
struct WhatIfRequest {
  routing::RuleSet active;
  int active_version = 0;
  routing::RuleSet candidate;
  engine::AgentsEdit agents;    // applied to the candidate only
  engine::EngineConfig config;  // the serving engine's
  bool parallel = false;        // the two replays on two threads (the command line)
};

// The JSON of POST /v1/routing/simulate, for `baton simulate --db`: `history` replayed
// under both rule sets beside `recorded` (the window's summary); `started` is when the
// work began.
std::string what_if_json(const engine::ReplayHistory& history, WhatIfRequest req,
                         engine::Summary recorded, std::chrono::steady_clock::time_point started);

// An RFC 3339 time as the API reads it.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace baton::api
