#pragma once

#include <optional>
#include <string>

#include "baton/base/result.h"
#include "baton/engine/replay.h"

namespace baton::storage {

// What a replay of [from, to) needs (engine::ReplayHistory), read in one transaction on a
// read-only connection of its own, so a long read holds up neither the journal nor the
// history readers. Rows from before schema 12 still replay: what they lack is estimated
// and named in `assumptions`. A window of more than `max_cases` cases is InvalidArgument on
// field "to", found before anything is read. The database must be at the latest schema.
Result<engine::ReplayHistory> load_replay_history(const std::string& path,
                                                  const std::string& workspace, TimePoint from,
                                                  TimePoint to, std::size_t max_cases);

// When the last case arrived (the default window of `baton simulate` ends there), or
// nothing when there is no case.
Result<std::optional<TimePoint>> last_arrival(const std::string& path,
                                              const std::string& workspace);

}  // namespace baton::storage
