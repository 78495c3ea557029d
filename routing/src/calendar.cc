#include "baton/routing/calendar.h"

#include <algorithm>
#include <chrono>

#include "text.h"

namespace baton::routing {

namespace {

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::InvalidArgument, field + " " + message, {FieldError{field, message}});
}

std::int64_t be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  if (n == 4) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  }
  return static_cast<std::int64_t>(v);
}

constexpr std::int64_t kDay = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

ZoneSource utc_only() {
  return [](std::string_view name) -> Result<std::string> {
    return Error(ErrorCode::NotFound, "no time zone database was given for '" + std::string(name) +
                                          "'; only UTC is known");
  };
}

Result<TimeZone> TimeZone::load(std::string_view name, const ZoneSource& zones) {
  if (name == "UTC" || name == "Etc/UTC") {
    return utc();
  }
  if (name.empty() || name.find("..") != std::string_view::npos || name.front() == '/') {
    return bad("time_zone", "'" + std::string(name) + "' is not a time zone name");
  }
  auto bytes = zones(name);
  if (!bytes) {
    return bad("time_zone",
               "unknown time zone '" + std::string(name) + "' (" + bytes.error().message + ")");
  }
  return from_tzif(name, bytes.value());
}

Result<TimeZone> TimeZone::from_tzif(std::string_view name, std::string_view bytes) {
  std::vector<unsigned char> b(bytes.begin(), bytes.end());
  auto broken = bad("time_zone", "the tz file for '" + std::string(name) + "' is damaged");
  // TZif: a 44-byte header, the 32-bit block, then (version 2+) a second header and the
  // 64-bit block, which is the one read here.
  auto header = [&](std::size_t at, std::array<std::int64_t, 6>& n) {
    if (at + 44 > b.size() || b[at] != 'T' || b[at + 1] != 'Z' || b[at + 2] != 'i' ||
        b[at + 3] != 'f') {
      return false;
    }
    for (int i = 0; i < 6; ++i) {
      n[static_cast<std::size_t>(i)] = be(&b[at + 20 + 4 * static_cast<std::size_t>(i)], 4);
    }
    return true;
  };
  std::array<std::int64_t, 6> n{};  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!header(0, n) || b[4] < '2') {
    return broken;
  }
  std::size_t v1 = static_cast<std::size_t>(n[3] * 5 + n[4] * 6 + n[5] + n[2] * 8 + n[1] + n[0]);
  std::size_t at = 44 + v1;
  if (!header(at, n)) {
    return broken;
  }
  at += 44;
  auto timecnt = static_cast<std::size_t>(n[3]), typecnt = static_cast<std::size_t>(n[4]);
  if (at + timecnt * 9 + typecnt * 6 > b.size() || typecnt == 0) {
    return broken;
  }
  TimeZone z;
  z.name_ = std::string(name);
  std::vector<std::int32_t> type_offset(typecnt);
  const unsigned char* types = &b[at + timecnt * 9];
  for (std::size_t i = 0; i < typecnt; ++i) {
    type_offset[i] = static_cast<std::int32_t>(be(types + 6 * i, 4));
  }
  z.initial_ = type_offset[0];
  for (std::size_t i = 0; i < timecnt; ++i) {
    std::size_t t = b[at + timecnt * 8 + i];
    if (t >= typecnt) {
      return broken;
    }
    z.at_.push_back(be(&b[at + 8 * i], 8));
    z.offset_.push_back(type_offset[t]);
  }
  // Past the last transition the last offset holds. Debian's tzdata is built "fat", with
  // explicit transitions through 2037, so DST zones are exact until then.
  return z;
}

std::int64_t TimeZone::offset_at(std::int64_t utc_s) const {
  auto it = std::upper_bound(at_.begin(), at_.end(), utc_s);
  if (it == at_.begin()) {
    return initial_;
  }
  return offset_[static_cast<std::size_t>(it - at_.begin() - 1)];
}

std::int64_t TimeZone::to_utc(std::int64_t local_s) const {
  std::int64_t guess = local_s - offset_at(local_s);
  std::int64_t second = local_s - offset_at(guess);
  // In an overlap both readings are right (take the earlier); in a gap neither is.
  return std::min(guess, second);
}

BusinessHours BusinessHours::always() { return BusinessHours{}; }

Result<BusinessHours> BusinessHours::make(
    const std::string& time_zone, const std::vector<std::pair<std::string, std::string>>& hours,
    const std::vector<std::string>& holidays, const ZoneSource& zones) {
  static constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed",
                                                            "thu", "fri", "sat"};
  auto day_of = [](std::string_view d) -> int {
    for (std::size_t i = 0; i < kDays.size(); ++i) {
      if (kDays[i] == d) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  auto minutes = [](std::string_view t) -> int {  // "09:30" -> 570; "24:00" allowed
    if (t.size() != 5 || t[2] != ':' || !std::isdigit(static_cast<unsigned char>(t[0])) ||
        !std::isdigit(static_cast<unsigned char>(t[1])) ||
        !std::isdigit(static_cast<unsigned char>(t[3])) ||
        !std::isdigit(static_cast<unsigned char>(t[4]))) {
      return -1;
    }
    int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) {
      return -1;
    }
    return h * 60 + m;
  };
  BusinessHours bh;
  bh.always_ = false;
  BATON_ASSIGN(bh.zone_, TimeZone::load(time_zone, zones));
  for (const auto& [key, value] : hours) {
    std::string field = "hours." + key;
    std::vector<int> days;
    std::string_view k = key;
    while (!k.empty()) {
      std::string_view part = take_part(k, ',');
      auto dash = part.find('-');
      int from = day_of(part.substr(0, dash));
      int to = dash == std::string_view::npos ? from : day_of(part.substr(dash + 1));
      if (from < 0 || to < 0) {
        return bad(field, "must name days like mon-fri, sat or mon,wed,fri");
      }
      for (int d = from;; d = (d + 1) % 7) {  // "fri-mon" wraps over the weekend
        days.push_back(d);
        if (d == to) {
          break;
        }
      }
    }
    std::string_view v = value;
    while (!v.empty()) {
      std::string_view span = take_part(v, ',');
      auto dash = span.find('-');
      int open = minutes(span.substr(0, dash));
      int close = dash == std::string_view::npos ? -1 : minutes(span.substr(dash + 1));
      if (open < 0 || close < 0 || close <= open) {
        return bad(field,
                   "must be open-close times like \"09:00-18:00\" (or several, comma-separated)");
      }
      for (int d : days) {
        bh.week_[static_cast<std::size_t>(d)].emplace_back(open, close);
      }
    }
  }
  bool any = false;
  for (auto& day : bh.week_) {
    std::sort(day.begin(), day.end());
    for (std::size_t i = 1; i < day.size(); ++i) {
      if (day[i].first < day[i - 1].second) {
        return bad("hours", "has overlapping open hours on one day");
      }
    }
    any = any || !day.empty();
  }
  if (!any) {
    return bad("hours", "must open on at least one day (an SLA clock would never run)");
  }
  for (const auto& h : holidays) {
    int y = 0;
    unsigned mo = 0, d = 0;
    if (h.size() != 10 || std::sscanf(h.c_str(), "%4d-%2u-%2u", &y, &mo, &d) != 3) {
      return bad("holidays", "'" + h + "' is not a date like 2026-12-25");
    }
    std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                    std::chrono::day(d)};
    if (!ymd.ok()) {
      return bad("holidays", "'" + h + "' is not a date");
    }
    bh.holidays_.insert(std::chrono::sys_days(ymd).time_since_epoch().count());
  }
  return bh;
}

template <class F>
void BusinessHours::each_interval(std::int64_t local_day, F&& f) const {
  if (holidays_.count(local_day) != 0) {
    return;
  }
  // 1970-01-01 was a Thursday.
  auto weekday = static_cast<std::size_t>(((local_day % 7) + 11) % 7);
  for (const auto& [open, close] : week_[weekday]) {
    std::int64_t o = zone_.to_utc(local_day * kDay + open * 60);
    std::int64_t c = zone_.to_utc(local_day * kDay + close * 60);
    if (c > o) {
      f(o * 1000, c * 1000);
    }
  }
}

TimePoint BusinessHours::add(TimePoint from, Duration d) const {
  if (always_) {
    return from + d;
  }
  std::int64_t t = from.time_since_epoch().count();
  std::int64_t left = d.count();
  std::int64_t s = floor_div(t, 1000);
  std::int64_t day = floor_div(s + zone_.offset_at(s), kDay);
  // Every week has open time (make() insists) and holidays are dates, so ten years of
  // days always suffice; the bound only guards the loop.
  for (int i = 0; i < 3660; ++i, ++day) {
    std::optional<std::int64_t> done;
    each_interval(day, [&](std::int64_t open, std::int64_t close) {
      if (done) {
        return;
      }
      std::int64_t start = std::max(t, open);
      if (start >= close) {
        return;
      }
      if (left <= close - start) {
        done = start + left;
        return;
      }
      left -= close - start;
    });
    if (done) {
      return TimePoint(Duration(*done));
    }
  }
  return TimePoint::max();
}

Duration BusinessHours::between(TimePoint from, TimePoint to) const {
  if (to <= from) {
    return Duration{0};
  }
  if (always_) {
    return to - from;
  }
  std::int64_t a = from.time_since_epoch().count(), b = to.time_since_epoch().count();
  std::int64_t s = floor_div(a, 1000);
  std::int64_t day = floor_div(s + zone_.offset_at(s), kDay);
  std::int64_t end_s = floor_div(b, 1000);
  std::int64_t last = floor_div(end_s + zone_.offset_at(end_s), kDay);
  std::int64_t total = 0;
  for (; day <= last; ++day) {
    each_interval(day, [&](std::int64_t open, std::int64_t close) {
      total += std::max<std::int64_t>(0, std::min(b, close) - std::max(a, open));
    });
  }
  return Duration{total};
}

}  // namespace baton::routing
