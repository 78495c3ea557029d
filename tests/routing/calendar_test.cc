#include "baton/routing/calendar.h"

#include <catch2/catch.hpp>

#include "baton/routing/rules.h"

#include "zones.h"

using namespace baton;
using namespace baton::routing;

namespace {

// "2026-11-27T18:30:00Z" as a TimePoint (UTC, whole seconds).
TimePoint at(int y, unsigned mo, unsigned d, int h, int mi) {
  auto day = std::chrono::sys_days(std::chrono::year_month_day{
      std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)});
  return TimePoint(day) + std::chrono::hours(h) + std::chrono::minutes(mi);
}

Duration hours(int h) { return std::chrono::hours(h); }

BusinessHours make(const std::string& zone, std::vector<std::pair<std::string, std::string>> h,
                   std::vector<std::string> holidays = {}) {
  auto r = BusinessHours::make(zone, h, holidays, baton::testing::system_zones());
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("time zones come from the tz database: Seoul has no DST, New York does",
          "[routing][calendar]") {
  auto seoul = TimeZone::load("Asia/Seoul", baton::testing::system_zones());
  REQUIRE(seoul.has_value());
  auto s = [](TimePoint t) {
    return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
  };
  CHECK(seoul->offset_at(s(at(2026, 1, 15, 0, 0))) == 9 * 3600);
  CHECK(seoul->offset_at(s(at(2026, 7, 15, 0, 0))) == 9 * 3600);
  auto ny = TimeZone::load("America/New_York", baton::testing::system_zones());
  REQUIRE(ny.has_value());
  CHECK(ny->offset_at(s(at(2026, 1, 15, 12, 0))) == -5 * 3600);
  CHECK(ny->offset_at(s(at(2026, 7, 15, 12, 0))) == -4 * 3600);
  // 2026's change: 8 March 02:00 EST (07:00 UTC) and 1 November 02:00 EDT (06:00 UTC).
  CHECK(ny->offset_at(s(at(2026, 3, 8, 6, 59))) == -5 * 3600);
  CHECK(ny->offset_at(s(at(2026, 3, 8, 7, 0))) == -4 * 3600);
  CHECK(ny->offset_at(s(at(2026, 11, 1, 5, 59))) == -4 * 3600);
  CHECK(ny->offset_at(s(at(2026, 11, 1, 6, 0))) == -5 * 3600);
  CHECK_FALSE(TimeZone::load("Mars/Olympus_Mons", baton::testing::system_zones()).has_value());
  CHECK_FALSE(TimeZone::load("../etc/passwd", baton::testing::system_zones()).has_value());
}

TEST_CASE("business time in Seoul skips nights, the weekend and holidays", "[routing][calendar]") {
  auto bh = make("Asia/Seoul", {{"mon-fri", "09:00-18:00"}}, {"2026-12-25"});
  // Friday 2026-11-27 17:00 KST = 08:00 UTC; 4 business hours: 1 on Friday, 3 on Monday
  // (09:00-12:00 KST), so Monday 12:00 KST = 03:00 UTC.
  CHECK(bh.add(at(2026, 11, 27, 8, 0), hours(4)) == at(2026, 11, 30, 3, 0));
  // Posted on Saturday: the clock starts on Monday at 09:00 KST (00:00 UTC).
  CHECK(bh.add(at(2026, 11, 28, 5, 0), hours(1)) == at(2026, 11, 30, 1, 0));
  // Christmas (a Friday) is a holiday: Thursday 17:00 KST + 2 h ends Monday 10:00 KST.
  CHECK(bh.add(at(2026, 12, 24, 8, 0), hours(2)) == at(2026, 12, 28, 1, 0));
  // Open time between Friday 17:00 and Monday 10:00 KST: 1 h + 1 h.
  CHECK(bh.between(at(2026, 11, 27, 8, 0), at(2026, 11, 30, 1, 0)) == hours(2));
  CHECK(bh.between(at(2026, 11, 28, 0, 0), at(2026, 11, 29, 0, 0)) == Duration{0});
}

TEST_CASE("business time in New York follows the clock change", "[routing][calendar]") {
  auto bh = make("America/New_York", {{"mon-fri", "09:00-17:00"}, {"sat", "10:00-14:00"}});
  // Friday 6 March 2026 16:00 EST (21:00 UTC) + 6 h: 1 h Friday, 4 h Saturday (10-14 EST =
  // 15-19 UTC), then Monday 9 March, now EDT: 09:00-10:00 EDT = 13:00-14:00 UTC.
  CHECK(bh.add(at(2026, 3, 6, 21, 0), hours(6)) == at(2026, 3, 9, 14, 0));
  // The same hour of the day in summer is an hour earlier in UTC.
  CHECK(bh.add(at(2026, 7, 13, 13, 0), hours(1)) == at(2026, 7, 13, 14, 0));
  CHECK(bh.add(at(2026, 1, 12, 14, 0), hours(1)) == at(2026, 1, 12, 15, 0));
}

TEST_CASE("a calendar that is wrong is refused with the key at fault", "[routing][calendar]") {
  CHECK_FALSE(BusinessHours::make("UTC", {{"mon-fry", "09:00-18:00"}}, {}, routing::utc_only())
                  .has_value());
  CHECK_FALSE(BusinessHours::make("UTC", {{"mon-fri", "18:00-09:00"}}, {}, routing::utc_only())
                  .has_value());
  CHECK_FALSE(
      BusinessHours::make("UTC", {{"mon-fri", "9-18"}}, {}, routing::utc_only()).has_value());
  CHECK_FALSE(BusinessHours::make("UTC", {}, {}, routing::utc_only()).has_value());
  CHECK_FALSE(
      BusinessHours::make("UTC", {{"mon", "09:00-18:00"}}, {"2026-02-30"}, routing::utc_only())
          .has_value());
  auto rules = RuleSet::parse(R"(
[calendars.x]
time_zone = "Nowhere/City"
hours = { mon-fri = "09:00-18:00" }
)",
                              baton::testing::system_zones());
  REQUIRE_FALSE(rules.has_value());
  CHECK_THAT(rules.error().message, Catch::Contains("unknown time zone"));
}

TEST_CASE("SLA targets per priority override the queue's", "[routing][calendar]") {
  auto rules = RuleSet::parse(R"(
[queues.support]
sla = { first_response = "4h", resolution = "2d" }
sla_by_priority = { "1" = { first_response = "30m" } }
)",
                              baton::testing::system_zones());
  REQUIRE(rules.has_value());
  const auto& sla = rules->find_queue("support")->sla;
  CHECK(sla.targets_for(1).first_response == Duration{30 * 60'000});
  CHECK(sla.targets_for(1).resolution == Duration{2 * 86'400'000LL});
  CHECK(sla.targets_for(3).first_response == Duration{4 * 3'600'000});
}

TEST_CASE("routing reads no files: a zone comes from the bytes its caller hands in",
          "[routing][calendar]") {
  std::string asked;
  ZoneSource seoul_as_anything = [&](std::string_view name) -> Result<std::string> {
    asked = std::string(name);
    return baton::testing::system_zones()("Asia/Seoul");
  };
  auto z = TimeZone::load("Test/Zone", seoul_as_anything);
  REQUIRE(z.has_value());
  CHECK(asked == "Test/Zone");
  CHECK(z->offset_at(0) == 9 * 3600);
  // A name that could leave the database is refused before the source is asked.
  asked.clear();
  CHECK_FALSE(TimeZone::load("../etc/passwd", seoul_as_anything).has_value());
  CHECK(asked.empty());
  // Without a database only UTC is known, and the rules say so with the field.
  auto r =
      RuleSet::parse("[calendars.x]\ntime_zone = \"Asia/Seoul\"\n[queues.support]\n", utc_only());
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().message, Catch::Contains("only UTC is known"));
  CHECK_FALSE(TimeZone::from_tzif("Broken", "TZif-not-really").has_value());
}
