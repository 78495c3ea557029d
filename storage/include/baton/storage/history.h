#pragma once

// History reads (case timelines, the customer timeline) on a small pool of read-only
// connections. In WAL mode a reader sees the last committed state and never blocks the
// journal's writer, nor is blocked by it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/engine/model.h"
#include "baton/routing/result.h"

namespace baton::storage {

struct EventPage {
  std::vector<engine::CaseEvent> events;
  std::optional<std::string> next_cursor;  // opaque; absent on the last page
};

class History {
 public:
  // REQUIRES: the database exists at the latest schema (the journal made it).
  static Result<std::unique_ptr<History>> open(const std::string& path, std::string workspace,
                                               std::size_t connections = 4);
  ~History();

  // Thread-safe. Oldest first.
  Result<EventPage> case_events(engine::CaseId id, const std::string& cursor, std::size_t limit);
  // Thread-safe. Every event of every case of the customer, across channels and teams,
  // newest first (by time, then id).
  Result<EventPage> customer_timeline(engine::CustomerId id, const std::string& cursor,
                                      std::size_t limit);

 private:
  struct Impl;
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::storage
