#pragma once

// The routing decisions of recent cases, kept as data (RoutingRecord) and put into words
// only when someone asks (GET /v1/cases/{id}/routing). Bounded: the newest decisions of
// the newest cases. Thread-safe: kept on the engine strand, read on io threads.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "baton/engine/engine.h"

namespace baton::api {

class DecisionLog {
 public:
  static constexpr std::size_t kCases = 100'000;
  static constexpr std::size_t kPerCase = 20;

  // Moves the record in; past kPerCase the case's oldest goes, past kCases the oldest
  // case's decisions.
  void keep(engine::RoutingRecord&& r);

  struct Page {
    std::vector<engine::RoutingRecord> records;  // newest first
    std::optional<std::size_t> next;             // where the next page starts
  };
  // At most `limit` of the case's decisions, newest first, skipping the `from` newest.
  Page page(engine::CaseId id, std::size_t from, std::size_t limit) const;

 private:
  mutable std::mutex mu_;
  // A vector a case: most cases are routed once or twice, and a deque's first block
  // (512 bytes) per case made this the largest allocation of a case creation.
  std::map<std::uint64_t, std::vector<engine::RoutingRecord>> cases_;  // GUARDED_BY(mu_)
};

}  // namespace baton::api
