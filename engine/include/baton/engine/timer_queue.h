#pragma once

// Timers as a binary heap ordered by (due, sequence): ties fire in the order they were
// set, so runs repeat exactly. Cancellation is O(1) (the entry is skipped when popped).

#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "baton/base/types.h"

namespace baton::engine {

enum class TimerKind : std::uint8_t {
  OfferTimeout,
  OwnerWindow,
  WrapUpEnd,
  PresenceGrace,  // an agent's last stream closed a while ago
  SlaFirstResponse,
  SlaResolution,
  Escalation,  // the next escalation step of a waiting case
};

struct Timer {
  TimerKind kind = TimerKind::OfferTimeout;
  std::uint64_t subject = 0;  // offer or case number; an agent slot for WrapUpEnd, PresenceGrace
};

using TimerId = std::uint64_t;

class TimerQueue {
 public:
  TimerId schedule(TimePoint due, Timer timer);
  void cancel(TimerId id);
  std::optional<TimePoint> next_due() const;
  // Pops the earliest live timer due at or before `now`.
  std::optional<std::pair<TimePoint, Timer>> pop_due(TimePoint now);
  std::size_t size() const { return live_.size(); }
  // Room for `n` live timers without growing (growing rehashes every live timer at once).
  void reserve(std::size_t n);
  // Live timers held before the table grows.
  std::size_t capacity() const;

 private:
  struct Entry {
    TimePoint due;
    TimerId id;
    bool operator>(const Entry& o) const { return due != o.due ? due > o.due : id > o.id; }
  };
  void drop_dead() const;

  mutable std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::unordered_map<TimerId, Timer> live_;
  TimerId next_id_ = 1;
};

}  // namespace baton::engine
