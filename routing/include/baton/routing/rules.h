#pragma once

// The supervisors' routing configuration (config/routing.toml): queues and ordered rules.
// A rule set is parsed and checked as a whole; a bad one is refused with the line and
// column of every fault found, and nothing of it is applied.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/base/result.h"
#include "baton/base/types.h"
#include "baton/routing/calendar.h"
#include "baton/routing/expr.h"

namespace baton::routing {

enum class Strategy { LongestIdle, LeastBusy, MostSkilled, RoundRobin };
std::string_view to_string(Strategy s);
std::optional<Strategy> parse_strategy(std::string_view s);

struct EscalationStep {
  Duration after{0};
  int relax_skills = 0;    // required levels drop by this much (never below 1)
  std::string widen_to;    // also offer to this queue's teams
  int raise_priority = 0;  // priority number drops by this much (never below 1)
};

// Targets measured on the queue's calendar (business time); none = no target.
struct SlaTargets {
  std::optional<Duration> first_response;  // time to the first reply
  std::optional<Duration> resolution;      // time to resolved; paused while pending
};

struct SlaPolicy {
  double target = 0.8;                     // share of cases answered within answer_within
  Duration answer_within{20'000};          // live channels: time to accept
  std::optional<Duration> first_response;  // async channels: time to the first reply
  std::optional<Duration> resolution;
  std::string calendar;  // business hours; empty = around the clock
  // Per priority (1 = most urgent), overriding the targets above:
  // sla_by_priority = { "1" = { first_response = "30m", resolution = "4h" } }
  std::map<int, SlaTargets> by_priority;

  SlaTargets targets_for(int priority) const;

  // The one definition of the service level: a case was answered within target when its
  // first acceptance came at most answer_within after it was created. Live queue stats,
  // history reports and the simulator all count through this, so they never disagree.
  bool answered_in_target(TimePoint created, TimePoint first_accepted) const {
    return first_accepted - created <= answer_within;
  }
};

struct Calendar {
  std::string name;
  std::string time_zone = "UTC";
  std::map<std::string, std::string> hours;  // "mon-fri" -> "09:00-18:00"
  std::vector<std::string> holidays;         // "YYYY-MM-DD"
};

struct QueueConfig {
  std::string name;
  std::vector<std::string> teams;
  Strategy strategy = Strategy::LongestIdle;
  Duration offer_timeout{30'000};
  // Per-channel overrides (offer_timeout_email = "5m"); email defaults to 5 minutes.
  std::array<std::optional<Duration>, kChannelCount> offer_timeout_by_channel{};
  Duration wrap_up{0};
  Duration owner_first{0};  // how long a case meant for one agent waits for that agent alone
  // A returning customer's case waits this long for the agent who last helped them (when
  // that agent is online and serves this queue), then goes to the queue. 0: off.
  Duration sticky_for{0};
  SlaPolicy sla;
  std::vector<EscalationStep> escalation;

  Duration offer_timeout_for(Channel c) const;
};

// What a rule set may ask of the parser and of every case it routes ([routing] in
// baton.toml). A source past a limit is refused, with the line and column where it is.
struct RuleLimits {
  static constexpr std::size_t kDefaultSourceBytes = 256 * 1024;
  static constexpr int kDefaultKeySegments = 16;
  std::size_t source_bytes = kDefaultSourceBytes;  // longer: refused before it is parsed
  int key_segments = kDefaultKeySegments;          // segments of one dotted key or table name
  ExprLimits expr;                                 // `when`: nesting, what matches reads
};

enum class RouteTo { Queue, AccountOwner };

struct Rule {
  std::string name;
  Expression when = Expression::always();
  std::optional<std::string> queue;
  std::optional<int> priority;
  SkillLevels required_skills;
  std::vector<std::string> tags;
  RouteTo route_to = RouteTo::Queue;
  std::string suggest_handoff;  // e.g. "upsell": marks a lead candidate
  bool stop = false;
  int line = 0;  // where the rule starts in the source
};

// What the rules decided for one case.
struct RoutingPlan {
  std::string queue;
  int priority = kDefaultPriority;
  SkillLevels required_skills;
  std::vector<std::string> tags;
  bool route_to_owner = false;
  std::vector<std::string> suggested_handoffs;
  std::vector<std::string> matched_rules;  // in order
  std::string queue_rule;                  // the rule that named the queue, or "" (default)
  // Rules whose `matches` or `contains` read only the first ExprLimits::text_bytes of a
  // longer text and found nothing there (they did not match; on the whole text they might).
  std::vector<std::string> cut_short_rules;
};

class RuleSet {
 public:
  // A calendar's time zone comes from `zones` (utc_only() for rules that name none).
  // Past `limits`: refused (a source too long before it is parsed).
  static Result<RuleSet> parse(std::string_view toml_source, const ZoneSource& zones,
                               const RuleLimits& limits = {});

  // `client_priority` 0 = none sent; `client_skills` are the case's own requirements.
  RoutingPlan plan(const CaseFacts& facts, int client_priority,
                   const SkillLevels& client_skills) const;

  const std::map<std::string, QueueConfig, std::less<>>& queues() const { return queues_; }
  const QueueConfig* find_queue(std::string_view name) const;
  const std::vector<Rule>& rules() const { return rules_; }
  const std::map<std::string, Calendar, std::less<>>& calendars() const { return calendars_; }
  // The queue's business hours (around the clock without a calendar).
  const BusinessHours& hours_for(const QueueConfig& q) const;
  const std::string& default_queue() const { return default_queue_; }
  const std::string& source() const { return source_; }
  const RuleLimits& limits() const { return limits_; }

 private:
  std::map<std::string, QueueConfig, std::less<>> queues_;
  std::map<std::string, Calendar, std::less<>> calendars_;
  std::map<std::string, BusinessHours, std::less<>> hours_;  // compiled calendars_
  std::vector<Rule> rules_;
  std::string default_queue_ = "support";
  std::string source_;
  RuleLimits limits_;
};

// The limits a source can be checked against before any TOML parser sees it: its size,
// and how many segments a dotted key or table name has (a TOML parser builds one nested
// table per segment, and building or freeing 200,000 of them recurses off the stack).
Status check_source_limits(std::string_view toml_source, const RuleLimits& limits);

}  // namespace baton::routing
