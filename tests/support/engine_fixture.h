#pragma once

#include <cctype>
#include <string>

#include <catch2/catch.hpp>

#include "baton/engine/clock.h"
#include "baton/engine/engine.h"

#include "memory_journal.h"
#include "zones.h"

namespace baton::testing {

inline routing::RuleSet parse_rules(const std::string& src) {
  auto r = routing::RuleSet::parse(src, system_zones());
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
  return std::move(r).value();
}

inline const char* kDefaultRules = R"(
[queues.support]
teams = ["support"]
offer_timeout = "30s"
wrap_up = "10s"
[queues.billing]
teams = ["billing"]
[queues.sales]
teams = ["sales"]
strategy = "most_skilled"
owner_first = "2m"
[[rules]]
name = "sales-ready"
when = 'type == "support" and subject matches "(?i)upgrade|seats|견적|요금제"'
suggest_handoff = "upsell"
[[rules]]
name = "leads"
when = 'type == "lead"'
queue = "sales"
route_to = "account_owner"
)";

// Moves virtual time by `d`, firing what falls due, in due order.
inline void advance(engine::Engine& eng, engine::VirtualClock& clock, Duration d) {
  TimePoint end = clock.now() + d;
  while (auto due = eng.next_timer_due()) {
    if (*due > end) {
      break;
    }
    clock.set(std::max(*due, clock.now()));
    eng.fire_due_timers();
  }
  clock.set(end);
}

inline engine::EngineConfig with_zones(engine::EngineConfig c) {
  c.zones = system_zones();
  return c;
}

// An engine on virtual time with an in-memory journal.
struct EngineFixture {
  engine::VirtualClock clock;
  MemoryJournal journal;
  RecordingPublisher publisher;
  std::vector<engine::RoutingRecord> decisions;
  engine::Engine eng;

  explicit EngineFixture(const std::string& rules = kDefaultRules, engine::EngineConfig config = {})
      : eng(clock, parse_rules(rules), with_zones(config)) {
    eng.set_journal(&journal);
    eng.set_publisher(&publisher);
    eng.set_decision_sink([this](engine::RoutingRecord&& r) { decisions.push_back(std::move(r)); });
  }

  engine::AgentId agent(const std::string& id, std::vector<std::string> teams = {"support"},
                        SkillLevels skills = {}, int chat = 1, int email = 0,
                        bool available = true) {
    engine::NewAgent a;
    a.id = engine::AgentId(id);
    a.name = id;
    a.teams = std::move(teams);
    a.skills = std::move(skills);
    a.capacity[index_of(Channel::Chat)] = chat;
    a.capacity[index_of(Channel::Email)] = email;
    a.capacity[index_of(Channel::Voice)] = 1;
    auto r = eng.create_agent(std::move(a));
    REQUIRE(r.has_value());
    if (available) {
      REQUIRE(eng.set_presence(engine::AgentId(id), engine::Presence::Available).has_value());
    }
    return engine::AgentId(id);
  }

  engine::Case post(const std::string& subject = "help", int priority = 0,
                    Channel ch = Channel::Chat, SkillLevels skills = {},
                    const std::string& address = "web:1", std::string type = "support") {
    engine::NewCase c;
    c.channel = ch;
    c.type = std::move(type);
    c.subject = subject;
    c.priority = priority;
    c.required_skills = std::move(skills);
    // A voice case's customer is a phone number; the tests' short handles ("web:1") are
    // chat identities.
    bool phone = !address.empty() &&
                 (address[0] == '+' || std::isdigit(static_cast<unsigned char>(address[0])));
    c.customer.identity =
        engine::Identity{ch == Channel::Voice && !phone ? Channel::Chat : ch, address};
    auto r = eng.create_case(std::move(c));
    INFO((r ? "" : r.error().message));
    REQUIRE(r.has_value());
    return r.value();
  }

  const engine::Case& get(engine::CaseId id) {
    const auto* c = eng.find_case(id);
    REQUIRE(c != nullptr);
    return *c;
  }

  const engine::Offer& offer_of(engine::CaseId id) {
    const auto& c = get(id);
    REQUIRE(c.offer.has_value());
    return *eng.find_offer(*c.offer);
  }

  void advance(Duration d) { baton::testing::advance(eng, clock, d); }

  void check() { REQUIRE(eng.check_invariants_for_test() == ""); }
};

}  // namespace baton::testing
