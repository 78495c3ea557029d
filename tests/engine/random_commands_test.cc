// 100,000 random commands through engine and router; after every committed command the
// invariants are checked: capacity, a single owner, priority order, exclusion, and that
// no case waits while an eligible agent has room.

#include <random>

#include <catch2/catch.hpp>

#include "engine_fixture.h"

using namespace baton;
using namespace baton::engine;

namespace {

const char* kRules = R"(
[queues.support]
teams = ["support"]
strategy = "longest_idle"
offer_timeout = "20s"
wrap_up = "5s"
sticky_for = "15s"
sla = { first_response = "2m", resolution = "10m" }
escalation = [{ after = "30s", relax_skills = 2 }, { after = "60s", widen_to = "vip", raise_priority = 1 }]
[queues.billing]
teams = ["billing", "support"]
strategy = "least_busy"
escalation = [{ after = "40s", relax_skills = 1 }]
[queues.sales]
teams = ["sales"]
strategy = "most_skilled"
owner_first = "30s"
[queues.vip]
teams = ["vip"]
strategy = "round_robin"
[[rules]]
when = 'type == "lead"'
queue = "sales"
route_to = "account_owner"
[[rules]]
when = 'type == "billing"'
queue = "billing"
required_skills = { billing = 2 }
[[rules]]
when = 'account.tier == "gold"'
queue = "vip"
)";

// Checks each committed mutation against the engine's state right after the command.
class CheckingPublisher final : public Publisher {
 public:
  Engine* eng = nullptr;
  std::uint64_t commands = 0;
  std::uint64_t offers_checked = 0;
  std::uint64_t conservation_checks = 0;
  std::string failure;
  std::string current;  // the command being run, for the failure message

  void publish(const Mutation& m) override {
    ++commands;
    if (!failure.empty()) {
      return;
    }
    if (auto broken = eng->check_invariants_for_test(); !broken.empty()) {
      failure = "after command " + std::to_string(commands) + " (" + current + "): " + broken;
      return;
    }
    const auto& router = eng->router();
    auto waiting = router.waiting_cases();
    for (const auto& o : m.offers) {
      if (o.status != OfferStatus::Pending) {
        continue;
      }
      ++offers_checked;
      auto slot = *router.find_agent(o.agent.value());
      if (router.is_excluded(o.case_id.value(), slot)) {
        failure = "offer to an excluded agent";
        return;
      }
      // Priority order: nothing still waiting that this agent could take (room aside)
      // ranks before the case it was just offered.
      const Case& given = *eng->find_case(o.case_id);
      for (auto key : waiting) {
        const Case& w = *eng->find_case(CaseId(key));
        std::string why = router.ineligibility(slot, key);
        // At capacity on the offered case's channel means there was room before it.
        bool could_take =
            why.empty() || (why.starts_with("at capacity") && w.channel == given.channel);
        if (could_take &&
            std::tie(w.priority, w.arrival) < std::tie(given.priority, given.arrival)) {
          failure = "case " + std::to_string(key) + " (priority " + std::to_string(w.priority) +
                    ") waits behind case " + std::to_string(given.id.value()) + " given to " +
                    o.agent.value() + " (" + why + ") in " + current + "; waiting " + w.queue +
                    "/" + std::string(to_string(w.channel)) + "/" +
                    std::to_string(w.required_skills.size()) + " given " + given.queue + "/" +
                    std::string(to_string(given.channel)) + "/" +
                    std::to_string(given.required_skills.size());
          return;
        }
      }
    }
    // Work conservation: no waiting case that an available agent with room could take.
    {
      ++conservation_checks;
      for (const Agent* a : eng->agents()) {
        auto slot = *router.find_agent(a->id.value());
        for (auto key : waiting) {
          if (router.ineligibility(slot, key).empty()) {
            failure =
                "case " + std::to_string(key) + " waits while " + a->id.value() + " could take it";
            return;
          }
        }
      }
    }
  }
};

}  // namespace

TEST_CASE("100,000 random commands keep every invariant", "[engine][random]") {
  VirtualClock clock;
  EngineConfig cfg;
  cfg.evict_finished = true;
  cfg.away_after_missed_offers = 4;
  Engine eng(clock, baton::testing::parse_rules(kRules), cfg);
  CheckingPublisher checker;
  checker.eng = &eng;
  eng.set_publisher(&checker);

  std::mt19937_64 rng(20261123);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  const std::vector<std::vector<std::string>> team_sets = {
      {"support"}, {"support", "billing"}, {"billing"},
      {"sales"},   {"vip", "support"},     {"sales", "vip"}};
  std::vector<AgentId> agents;
  for (int i = 0; i < 30; ++i) {
    NewAgent a;
    a.id = AgentId("a" + std::to_string(i));
    a.name = a.id.value();
    a.teams = team_sets[pick(team_sets.size())];
    if (chance(0.6)) {
      a.skills["billing"] = static_cast<int>(1 + pick(10));
    }
    if (chance(0.4)) {
      a.skills["korean"] = static_cast<int>(1 + pick(10));
    }
    a.capacity[index_of(Channel::Chat)] = static_cast<int>(pick(4));
    a.capacity[index_of(Channel::Email)] = static_cast<int>(pick(4));
    a.capacity[index_of(Channel::Voice)] = static_cast<int>(pick(2));
    REQUIRE(eng.create_agent(a).has_value());
    agents.push_back(a.id);
  }
  std::vector<AccountId> accounts;
  for (int i = 0; i < 10; ++i) {
    NewAccount acc{"acc" + std::to_string(i), i % 3 == 0 ? "gold" : "silver", "", std::nullopt};
    if (i % 2 == 0) {
      acc.sales_owner = agents[pick(agents.size())];
    }
    accounts.push_back(eng.create_account(acc)->id);
  }
  for (int i = 0; i < 40; ++i) {
    NewCustomer nc;
    nc.name = "c" + std::to_string(i);
    nc.identities = {Identity{Channel::Chat, "known:" + std::to_string(i)}};
    if (i % 2 == 0) {
      nc.account = accounts[pick(accounts.size())];
    }
    REQUIRE(eng.create_customer(nc).has_value());
  }

  std::vector<CaseId> cases;  // every case ever made; finished ones drop out on lookup
  auto random_case = [&]() -> const Case* {
    for (int tries = 0; tries < 8 && !cases.empty(); ++tries) {
      std::size_t i = pick(cases.size());
      if (const Case* c = eng.find_case(cases[i])) {
        return c;
      }
      cases[i] = cases.back();
      cases.pop_back();
    }
    return nullptr;
  };
  auto random_offer = [&]() -> std::optional<std::pair<OfferId, AgentId>> {
    for (int tries = 0; tries < 8; ++tries) {
      const AgentId& a = agents[pick(agents.size())];
      auto offers = eng.pending_offers(a);
      if (!offers.empty()) {
        return std::make_pair(offers[pick(offers.size())]->id, a);
      }
    }
    return std::nullopt;
  };

  const std::vector<Channel> channels = {Channel::Chat, Channel::Chat, Channel::Email,
                                         Channel::Voice};
  const std::vector<std::string> types = {"support", "support", "billing", "lead"};
  std::map<std::string, int> applied, refused;
  auto note = [&](const char* what, bool ok) { (ok ? applied : refused)[what]++; };

  constexpr int kCommands = 100'000;
  for (int step = 0; step < kCommands && checker.failure.empty(); ++step) {
    int roll = static_cast<int>(pick(100));
    if (roll < 22 && eng.open_case_count() > 150) {
      roll = 70;  // keep the open set bounded: resolve instead of create
    }
    checker.current = "step " + std::to_string(step) + " roll " + std::to_string(roll);
    if (roll < 22) {
      NewCase nc;
      nc.channel = channels[pick(channels.size())];
      nc.type = types[pick(types.size())];
      nc.subject = "case " + std::to_string(step);
      nc.priority = static_cast<int>(pick(6));
      if (chance(0.3)) {
        nc.required_skills["korean"] = static_cast<int>(1 + pick(8));
      }
      nc.customer.identity =
          Identity{Channel::Chat, chance(0.5) ? "known:" + std::to_string(pick(40))
                                              : "new:" + std::to_string(step)};
      auto r = eng.create_case(nc);
      note("create", r.has_value());
      if (r) {
        cases.push_back(r->id);
      }
    } else if (roll < 32) {
      static const std::vector<Presence> ps = {Presence::Available, Presence::Available,
                                               Presence::Away, Presence::Offline};
      // Streams open and close too; a close starts the presence grace timer.
      if (chance(0.3)) {
        eng.stream_opened(agents[pick(agents.size())]);
      } else if (chance(0.3)) {
        eng.stream_closed(agents[pick(agents.size())]);
      }
      note("presence",
           eng.set_presence(agents[pick(agents.size())], ps[pick(ps.size())]).has_value());
    } else if (roll < 50) {
      if (auto o = random_offer()) {
        note("accept", eng.accept_offer(o->first, o->second).has_value());
      }
    } else if (roll < 56) {
      if (auto o = random_offer()) {
        note("decline", eng.decline_offer(o->first, o->second, "busy").has_value());
      }
    } else if (roll < 64) {
      baton::testing::advance(eng, clock, Duration{static_cast<long long>(1'000 + pick(25'000))});
      note("time", true);
    } else if (roll < 76) {
      if (const Case* c = random_case()) {
        note("resolve", eng.resolve(c->id, "x", "done").has_value());
      }
    } else if (roll < 84) {
      if (const Case* c = random_case()) {
        note("close", eng.close(c->id, "x", chance(0.2)).has_value());
      }
    } else if (roll < 87) {
      if (const Case* c = random_case()) {
        note("reopen", eng.reopen(c->id, "x").has_value());
      }
    } else if (roll < 90) {
      if (const Case* c = random_case()) {
        note("pending", eng.set_pending(c->id, "x").has_value());
      }
    } else if (roll < 93) {
      if (const Case* c = random_case()) {
        note("message", eng.add_message(c->id, true, "more", "gateway").has_value());
      }
    } else if (roll < 95) {
      if (const Case* c = random_case()) {
        note("abandon", eng.abandon(c->id, "gateway").has_value());
      }
    } else if (roll < 97) {
      static const std::vector<std::string> qs = {"support", "billing", "sales", "vip"};
      if (const Case* c = random_case()) {
        note("transfer", eng.transfer_to_queue(c->id, qs[pick(qs.size())], "x", "").has_value());
      }
    } else if (roll < 98) {
      int what = static_cast<int>(pick(3));
      const Case* c = random_case();
      if (c != nullptr && what == 0) {
        note("priority", eng.set_priority(c->id, static_cast<int>(1 + pick(5)), "x").has_value());
      } else if (c != nullptr && what == 1) {
        // Two customers found to be one: their open cases change owner-customer at once.
        CustomerId into = c->customer;
        const Case* other = random_case();
        if (other != nullptr) {
          note("merge", eng.merge_customers(into, other->customer, "x").has_value());
        }
      } else if (c != nullptr) {
        NewHandoff nh;
        nh.to = chance(0.5) ? "team:sales" : "team:support";
        nh.reason = chance(0.5) ? HandoffReason::Upsell : HandoffReason::Onboarding;
        nh.actor = "x";
        nh.transfer = chance(0.3);
        auto h = eng.create_handoff(c->id, nh);
        note("handoff", h.has_value());
        if (h) {
          cases.push_back(h->to_case);
        }
      }
    } else {
      AgentPatch p;
      ChannelCounts cap{};
      cap[index_of(Channel::Chat)] = static_cast<int>(pick(4));
      cap[index_of(Channel::Email)] = static_cast<int>(pick(4));
      cap[index_of(Channel::Voice)] = static_cast<int>(pick(2));
      p.capacity = cap;
      note("capacity", eng.update_agent(agents[pick(agents.size())], p).has_value());
    }
  }
  INFO(checker.failure);
  REQUIRE(checker.failure.empty());
  // The run exercised every path, and plenty of each.
  for (const char* what :
       {"create", "presence", "accept", "decline", "time", "resolve", "close", "reopen", "pending",
        "message", "abandon", "transfer", "priority", "capacity", "merge", "handoff"}) {
    INFO(what);
    CHECK(applied[what] > (std::string_view(what) == "merge" ? 20 : 100));
  }
  CHECK(checker.offers_checked > 10'000);
  CHECK(checker.conservation_checks > 40'000);  // one per committed command
  CHECK(eng.counters().offers_timed_out > 100);
  CHECK(eng.counters().offers_revoked > 100);
}
