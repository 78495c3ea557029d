#include "baton/routing/rules.h"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "zones.h"

using baton::Duration;
using baton::SkillLevels;
using baton::routing::CaseFacts;
using baton::routing::RuleSet;
using baton::routing::Strategy;

namespace {

std::string shipped_rules() {
  std::ifstream in(std::string(BATON_SOURCE_DIR) + "/config/routing.toml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RuleSet parse_ok(const std::string& src) {
  auto r = RuleSet::parse(src, baton::testing::system_zones());
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
  return std::move(r).value();
}

const char* kQueues = R"(
[queues.support]
teams = ["support"]
[queues.billing]
teams = ["billing", "support"]
strategy = "most_skilled"
offer_timeout = "45s"
offer_timeout_chat = "20s"
[queues.sales]
teams = ["sales"]
)";

}  // namespace

TEST_CASE("the shipped rule set parses and follows the default rules", "[routing][rules]") {
  auto set = parse_ok(shipped_rules());
  CHECK(set.find_queue("support") != nullptr);
  CHECK(set.find_queue("sales")->strategy == Strategy::MostSkilled);
  CHECK(set.find_queue("sales")->owner_first == Duration{120'000});

  CaseFacts lead;
  lead.channel = "email";
  lead.type = "lead";
  lead.subject = "Pricing";
  auto p = set.plan(lead, 0, {});
  CHECK(p.queue == "sales");
  CHECK(p.route_to_owner);
  CHECK(p.priority == 3);

  CaseFacts support;
  support.channel = "chat";
  support.type = "support";
  support.subject = "요금제 변경하고 싶어요";
  p = set.plan(support, 2, {});
  CHECK(p.queue == "support");
  CHECK_FALSE(p.route_to_owner);
  CHECK(p.priority == 2);  // the client's priority wins
  REQUIRE(p.suggested_handoffs.size() == 1);
  CHECK(p.suggested_handoffs[0] == "upsell");
  CHECK(p.matched_rules == std::vector<std::string>{"sales-ready", "everything else"});
}

TEST_CASE("the first rule that names a queue decides, later rules add skills and tags",
          "[routing][rules]") {
  auto set = parse_ok(std::string(kQueues) + R"(
[[rules]]
name = "vip"
when = 'account.tier in ["gold", "platinum"]'
priority = 1
tags = ["vip"]
required_skills = { korean = 7 }

[[rules]]
name = "refunds"
when = 'subject matches "(?i)refund|환불"'
queue = "billing"
required_skills = { billing = 5, korean = 3 }
tags = ["refund", "vip"]

[[rules]]
name = "chat"
when = 'channel == "chat"'
queue = "support"
tags = ["live"]
)");
  CaseFacts f;
  f.channel = "chat";
  f.type = "support";
  f.subject = "환불 요청";
  f.has_account = true;
  f.account_tier = "gold";
  auto p = set.plan(f, 0, SkillLevels{{"english", 4}});
  CHECK(p.queue == "billing");
  CHECK(p.queue_rule == "refunds");
  CHECK(p.priority == 1);
  CHECK(p.required_skills == SkillLevels{{"billing", 5}, {"english", 4}, {"korean", 7}});
  CHECK(p.tags == std::vector<std::string>{"vip", "refund", "live"});

  SECTION("stop ends the walk") {
    auto stopped = parse_ok(std::string(kQueues) + R"(
[[rules]]
when = 'channel == "chat"'
queue = "sales"
stop = true
[[rules]]
when = 'true'
tags = ["never"]
)");
    auto q = stopped.plan(f, 0, {});
    CHECK(q.queue == "sales");
    CHECK(q.tags.empty());
  }
  SECTION("no rule naming a queue: the default queue and priority 3") {
    CaseFacts email;
    email.channel = "email";
    email.subject = "hello";
    auto q = set.plan(email, 0, {});
    CHECK(q.queue == "support");
    CHECK(q.queue_rule.empty());
    CHECK(q.priority == 3);
  }
}

TEST_CASE("queue settings: durations, per-channel time-outs, strategies", "[routing][rules]") {
  auto set = parse_ok(kQueues);
  const auto* billing = set.find_queue("billing");
  REQUIRE(billing != nullptr);
  CHECK(billing->offer_timeout_for(baton::Channel::Voice) == Duration{45'000});
  CHECK(billing->offer_timeout_for(baton::Channel::Chat) == Duration{20'000});
  // E-mail waits longer by default: five minutes.
  CHECK(billing->offer_timeout_for(baton::Channel::Email) == Duration{300'000});
  CHECK(set.find_queue("support")->offer_timeout_for(baton::Channel::Chat) == Duration{30'000});
  CHECK(billing->teams == std::vector<std::string>{"billing", "support"});
}

TEST_CASE("a bad rule set is refused whole, with line and column of each fault",
          "[routing][rules]") {
  struct Bad {
    std::string src;
    int line;
    int column;
    std::string says;
  };
  auto bad = GENERATE(values<Bad>({
      // The expression's own column, placed in the file (after when = ').
      {"[queues.support]\n[[rules]]\nwhen = 'channel = \"chat\"'\nqueue = \"support\"\n", 3, 17,
       "unexpected character '='"},
      // Columns count characters, so Hangul before the fault does not shift it.
      {"[queues.support]\n[[rules]]\nwhen = 'subject == \"환불\" andd x'\n", 3, 25,
       "unexpected 'andd'"},
      {"[queues.support]\n[[rules]]\nwhen = 'true'\nqueue = \"nowhere\"\n", 4, 9,
       "unknown queue 'nowhere'"},
      {"[queues.support]\nstrategy = \"fastest\"\n", 2, 12, "unknown strategy 'fastest'"},
      {"[queues.support]\noffer_timeout = \"soon\"\n", 2, 17, "must be a duration"},
      {"[queues.support]\n[[rules]]\nwhen = 'true'\npriorty = 1\n", 4, 1,
       "unknown setting 'priorty'"},
      {"[queues.support]\n[[rules]]\nwhen = 'true'\npriority = 9\n", 4, 12,
       "must be an integer from 1 to 5"},
      {"[queues.support]\n[[rules]]\nwhen = 'true'\nrequired_skills = { billing = 11 }\n", 4, 31,
       "from 1 to 10"},
      {"[queues.support\n", 1, 16, ""},  // TOML syntax
      {"[queues.support]\n[[rules]]\nwhen = '''\nchannel == \"chat\" and\n  priorty < 2'''\n", 5, 3,
       "unknown field 'priorty'"},
  }));
  auto r = RuleSet::parse(bad.src, baton::testing::system_zones());
  INFO(bad.src);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == baton::ErrorCode::InvalidArgument);
  REQUIRE_FALSE(r.error().field_errors.empty());
  const auto& fe = r.error().field_errors[0];
  CHECK(fe.line == bad.line);
  CHECK(fe.column == bad.column);
  CHECK_THAT(fe.message, Catch::Contains(bad.says));
}

TEST_CASE("every fault of a rule set is reported, in source order", "[routing][rules]") {
  auto r = RuleSet::parse(R"([queues.support]
strategy = "nope"
[[rules]]
when = 'channel =='
[[rules]]
when = 'true'
queue = "missing"
)",
                          baton::testing::system_zones());
  REQUIRE_FALSE(r.has_value());
  const auto& errs = r.error().field_errors;
  REQUIRE(errs.size() == 3);
  CHECK(errs[0].line == 2);
  CHECK(errs[1].line == 4);
  CHECK(errs[2].line == 7);
  CHECK_THAT(r.error().message, Catch::Contains("3 errors"));
}
