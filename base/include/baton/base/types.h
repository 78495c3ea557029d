#pragma once

// Small value types shared by the rule language, the router and the engine.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace baton {

// Milliseconds are the engine's unit of time; TimePoint counts from the Unix epoch.
using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

enum class Channel : std::uint8_t { Chat, Email, Voice, Social, Web };
inline constexpr std::size_t kChannelCount = 5;
inline constexpr std::array<Channel, kChannelCount> kAllChannels = {
    Channel::Chat, Channel::Email, Channel::Voice, Channel::Social, Channel::Web};

std::string_view to_string(Channel c);
std::optional<Channel> parse_channel(std::string_view s);
// Live channels: the customer is waiting on the line (offer time-outs are short, a
// customer who leaves abandons the case, wrap-up follows the case).
bool is_live(Channel c);

// Per-channel counters (capacity, load). Index with index_of(channel).
using ChannelCounts = std::array<int, kChannelCount>;
constexpr std::size_t index_of(Channel c) { return static_cast<std::size_t>(c); }

inline constexpr int kMinPriority = 1;  // most urgent
inline constexpr int kMaxPriority = 5;
inline constexpr int kDefaultPriority = 3;
inline constexpr int kMinSkillLevel = 1;
inline constexpr int kMaxSkillLevel = 10;

// Skill name -> level 1..10. For an agent: what it has; for a case: the minimum it needs.
using SkillLevels = std::map<std::string, int, std::less<>>;

// A value the rule language can see: missing, boolean, number or text.
using Value = std::variant<std::monostate, bool, double, std::string>;
using Attributes = std::map<std::string, Value, std::less<>>;

// Parses "30s", "5m", "2h", "1h30m", "250ms", "0". Returns nullopt on anything else.
std::optional<Duration> parse_duration(std::string_view s);
std::string format_duration(Duration d);

// `s` as a JSON string literal, quotes included (control characters escaped).
std::string json_quote(std::string_view s);
// The same, appended to `out`.
void append_json_quoted(std::string& out, std::string_view s);

// `d` when it is a whole number that a double holds exactly (|d| < 2^53), else nothing:
// the one test for "write this number as an integer", safe for any double (1e300, NaN).
std::optional<std::int64_t> exact_integer(double d);
// `d` as a JSON number: whole numbers as integers, others in their shortest form, and
// what JSON cannot write (NaN, infinities) as null.
void append_json_number(std::string& out, double d);

// Entries an unordered container holds before its next insert grows it (and rehashes every
// entry at once).
template <class Table>
std::size_t entries_before_growth(const Table& t) {
  return static_cast<std::size_t>(static_cast<double>(t.bucket_count()) *
                                  static_cast<double>(t.max_load_factor()));
}

}  // namespace baton
