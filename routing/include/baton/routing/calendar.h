#pragma once

// Business hours for SLA clocks: a calendar's weekly open hours in its own time zone,
// less its holidays. Time zones are TZif data (the system's tz database, Debian's tzdata,
// so DST rules are the real ones) that the caller hands in: routing reads no files.

#include <array>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/base/result.h"
#include "baton/base/types.h"

namespace baton::routing {

// The TZif bytes of a time zone by its name ("Asia/Seoul"), or why there are none. The
// server hands in the system's tz database (cli/); tests and tools may hand in others.
using ZoneSource = std::function<Result<std::string>(std::string_view name)>;
// A source that knows no zone: rules may name only UTC.
ZoneSource utc_only();

class TimeZone {
 public:
  // "Asia/Seoul", "America/New_York", "UTC": the name is checked (no "..", not absolute),
  // then its TZif bytes come from `zones`.
  static Result<TimeZone> load(std::string_view name, const ZoneSource& zones);
  // A zone from its TZif bytes (version 2 or later).
  static Result<TimeZone> from_tzif(std::string_view name, std::string_view bytes);
  static TimeZone utc();

  const std::string& name() const { return name_; }
  // Seconds east of UTC at the instant `utc_s` (seconds since the epoch).
  std::int64_t offset_at(std::int64_t utc_s) const;
  // The instant at which local wall-clock time `local_s` occurs (in a DST gap: the
  // instant the offset in force before it would give; in an overlap: the first).
  std::int64_t to_utc(std::int64_t local_s) const;

 private:
  std::string name_;
  std::vector<std::int64_t> at_;      // transition instants, ascending
  std::vector<std::int32_t> offset_;  // offset from each transition on
  std::int32_t initial_ = 0;          // before the first transition
};

class BusinessHours {
 public:
  // hours: "mon-fri" = "09:00-18:00", "sat" = "10:00-14:00", "mon,wed" = "09:00-12:00,13:00-17:00";
  // holidays: "YYYY-MM-DD" local dates. Errors name the key at fault.
  static Result<BusinessHours> make(const std::string& time_zone,
                                    const std::vector<std::pair<std::string, std::string>>& hours,
                                    const std::vector<std::string>& holidays,
                                    const ZoneSource& zones);
  // Around the clock.
  static BusinessHours always();

  bool always_open() const { return always_; }
  const TimeZone& zone() const { return zone_; }
  // The instant at which `d` of open time has passed since `from`.
  TimePoint add(TimePoint from, Duration d) const;
  // Open time within [from, to).
  Duration between(TimePoint from, TimePoint to) const;

 private:
  // Calls f(open, close) for each open interval (UTC ms) of the local day holding
  // `local_day` (days since the epoch), in order.
  template <class F>
  void each_interval(std::int64_t local_day, F&& f) const;

  bool always_ = true;
  TimeZone zone_ = TimeZone::utc();
  std::array<std::vector<std::pair<int, int>>, 7> week_{};  // minutes [open, close), Sunday = 0
  std::set<std::int64_t> holidays_;                         // local days since the epoch
};

}  // namespace baton::routing
