#pragma once

// What-if: recorded history replayed under the active rules and a candidate, beside what
// was recorded; the answer of POST /v1/routing/simulate and of `baton simulate --db`.

#include <optional>

#include <boost/json/object.hpp>

#include "baton/api/api.h"

namespace baton::api {

namespace json = boost::json;

// Replays `history` twice on this thread (or two) and writes the answer; `recorded` is
// the window's summary as GET /v1/reports/summary counts it. `started` is when the work
// began (elapsed_ms counts the history read too).
json::object what_if(const engine::ReplayHistory& history, WhatIfRequest req,
                     engine::Summary recorded, std::chrono::steady_clock::time_point started);

}  // namespace baton::api
