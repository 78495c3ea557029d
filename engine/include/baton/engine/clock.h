#pragma once

#include "baton/engine/ports.h"

namespace baton::engine {

// Virtual time: moves only when told. Used by `simulate` and tests, so a day of traffic
// replays in seconds and timers are tested without sleeping.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(TimePoint start = TimePoint{Duration{1'790'000'000'000}}) : now_(start) {}
  TimePoint now() const override { return now_; }
  // REQUIRES: t >= now(); time never goes back.
  void set(TimePoint t);
  void advance(Duration d) { set(now_ + d); }

 private:
  TimePoint now_;
};

}  // namespace baton::engine
