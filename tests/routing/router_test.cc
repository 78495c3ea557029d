#include "baton/routing/router.h"

#include <random>

#include <catch2/catch.hpp>

#include "zones.h"

using namespace baton;
using namespace baton::routing;

namespace {

RuleSet rules(const std::string& strategy = "longest_idle") {
  auto r = RuleSet::parse("[queues.support]\nteams = [\"support\"]\nstrategy = \"" + strategy +
                              "\"\n[queues.sales]\nteams = [\"sales\"]\n",
                          baton::testing::system_zones());
  REQUIRE(r.has_value());
  return std::move(r).value();
}

TimePoint at(int seconds) { return TimePoint{Duration{seconds * 1000LL}}; }

AgentProfile agent(const std::string& id, SkillLevels skills = {}, int chat = 1,
                   std::vector<std::string> teams = {"support"}) {
  AgentProfile p;
  p.id = id;
  p.teams = std::move(teams);
  p.skills = std::move(skills);
  p.capacity[index_of(Channel::Chat)] = chat;
  p.capacity[index_of(Channel::Email)] = 2;
  return p;
}

CaseRequest request(CaseKey key, int priority = 3, SkillLevels skills = {},
                    Channel ch = Channel::Chat) {
  CaseRequest r;
  r.key = key;
  r.queue = "support";
  r.channel = ch;
  r.priority = priority;
  r.required_skills = std::move(skills);
  r.arrival = key;
  return r;
}

}  // namespace

TEST_CASE("longest idle: the agent free the longest gets the case", "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto a = r.add_agent(agent("a"), at(0));
  auto b = r.add_agent(agent("b"), at(0));
  r.set_available(b, true, at(10));  // b free since 10 s
  r.set_available(a, true, at(20));  // a free since 20 s
  auto d = r.route(request(1), at(100));
  REQUIRE(d.chosen);
  CHECK(*d.chosen == b);
  CHECK(d.why == "longest idle: 90 s");
  CHECK(r.load(b, Channel::Chat) == 1);
  // b is full on chat now; a gets the next.
  d = r.route(request(2), at(101));
  REQUIRE(d.chosen);
  CHECK(*d.chosen == a);
}

TEST_CASE("least busy: the agent with the smallest share of its slots in use",
          "[routing][router]") {
  auto rs = rules("least_busy");
  Router r(rs);
  auto a = r.add_agent(agent("a", {}, 3), at(0));
  auto b = r.add_agent(agent("b", {}, 3), at(0));
  r.set_available(a, true, at(0));
  r.set_available(b, true, at(1));
  auto d1 = r.route(request(1), at(2));
  auto d2 = r.route(request(2), at(3));
  auto d3 = r.route(request(3), at(4));
  REQUIRE((d1.chosen && d2.chosen && d3.chosen));
  CHECK(*d1.chosen == a);  // tie on load: longer idle
  CHECK(*d2.chosen == b);  // a is busier now
  CHECK(*d3.chosen == a);
  CHECK_THAT(d2.why, Catch::StartsWith("least busy"));
}

TEST_CASE("most skilled: the highest levels on the required skills", "[routing][router]") {
  auto rs = rules("most_skilled");
  Router r(rs);
  auto novice = r.add_agent(agent("novice", {{"billing", 5}}), at(0));
  auto expert = r.add_agent(agent("expert", {{"billing", 9}}), at(0));
  r.set_available(novice, true, at(0));
  r.set_available(expert, true, at(5));
  auto d = r.route(request(1, 3, {{"billing", 4}}), at(10));
  REQUIRE(d.chosen);
  CHECK(*d.chosen == expert);
  CHECK_THAT(d.why, Catch::Contains("skill sum 9"));
}

TEST_CASE("round robin: offers rotate through the agents", "[routing][router]") {
  auto rs = rules("round_robin");
  Router r(rs);
  std::vector<AgentSlot> slots;
  for (const char* id : {"a", "b", "c"}) {
    slots.push_back(r.add_agent(agent(id, {}, 10), at(0)));
    r.set_available(slots.back(), true, at(0));
  }
  std::vector<AgentSlot> order;
  for (CaseKey k = 1; k <= 6; ++k) {
    order.push_back(*r.route(request(k), at(1)).chosen);
  }
  CHECK(order ==
        std::vector<AgentSlot>{slots[0], slots[1], slots[2], slots[0], slots[1], slots[2]});
}

TEST_CASE("skills, team and channel decide eligibility, and the decision says why",
          "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto low = r.add_agent(agent("low", {{"billing", 3}}), at(0));
  auto none = r.add_agent(agent("none"), at(0));
  auto sales = r.add_agent(agent("seller", {{"billing", 9}}, 1, {"sales"}), at(0));
  auto off = r.add_agent(agent("off", {{"billing", 9}}), at(0));
  for (auto s : {low, none, sales}) {
    r.set_available(s, true, at(0));
  }
  auto d = r.route(request(1, 3, {{"billing", 5}}), at(1));
  CHECK_FALSE(d.chosen);
  CHECK(r.is_waiting(1));
  std::map<std::string, std::string> reasons;
  for (const auto& c : d.candidates) {
    CHECK_FALSE(c.eligible());
    reasons[r.agent_id(c.agent)] = r.describe(c, d.queue);
  }
  CHECK(reasons["low"] == "skill billing 3 < 5");
  CHECK(reasons["none"] == "no skill billing");
  CHECK(reasons["off"] == "not available");
  CHECK(reasons.count("seller") == 0);  // not in a team of the queue: not a candidate at all
  CHECK(r.ineligibility(sales, request(1, 3, {{"billing", 5}})) ==
        "not in a team of queue support");

  // The qualified agent comes online and takes it at once.
  r.set_available(off, true, at(5));
  auto p = r.pull(off, at(5));
  REQUIRE(p);
  CHECK(p->case_key == 1);
  CHECK_FALSE(r.is_waiting(1));
}

TEST_CASE("a freed agent takes the highest priority, then the oldest", "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto a = r.add_agent(agent("a", {{"billing", 5}}), at(0));
  // Three classes of waiting cases, all of which a can take.
  CHECK_FALSE(r.route(request(1, 3), at(1)).chosen);
  CHECK_FALSE(r.route(request(2, 2, {{"billing", 3}}), at(2)).chosen);
  CHECK_FALSE(r.route(request(3, 2), at(3)).chosen);
  CHECK_FALSE(r.route(request(4, 1, {{"billing", 9}}), at(4)).chosen);  // a cannot take it
  CHECK_FALSE(r.route(request(5, 3, {}, Channel::Email), at(5)).chosen);
  r.set_available(a, true, at(10));
  std::vector<CaseKey> taken;
  while (auto d = r.pull(a, at(10))) {
    taken.push_back(d->case_key);
  }
  // Chat capacity 1: the oldest priority-2 case; e-mail capacity 2: the e-mail case.
  CHECK(taken == std::vector<CaseKey>{2, 5});
  r.release(a, Channel::Chat, at(20));
  auto next = r.pull(a, at(20));
  REQUIRE(next);
  CHECK(next->case_key == 3);  // priority 2 before the older priority 3
  r.release(a, Channel::Chat, at(30));
  CHECK(r.pull(a, at(30))->case_key == 1);
  CHECK(r.is_waiting(4));
}

TEST_CASE("declined agents are excluded for that case only", "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto a = r.add_agent(agent("a"), at(0));
  auto b = r.add_agent(agent("b"), at(0));
  r.set_available(a, true, at(0));
  r.set_available(b, true, at(1));
  auto d = r.route(request(1), at(2));
  REQUIRE(*d.chosen == a);
  // a declines: its slot frees, it is excluded, the case goes to b.
  r.release(a, Channel::Chat, at(3));
  r.exclude(1, a);
  d = r.route(request(1), at(3));
  REQUIRE(d.chosen);
  CHECK(*d.chosen == b);
  // b declines too: nobody left; the case waits, and a freed a does not pull it.
  r.release(b, Channel::Chat, at(4));
  r.exclude(1, b);
  d = r.route(request(1), at(4));
  CHECK_FALSE(d.chosen);
  bool listed_declined = false;
  for (const auto& c : d.candidates) {
    listed_declined = listed_declined || (c.agent == a && r.describe(c, d.queue) == "declined");
  }
  CHECK(listed_declined);
  CHECK_FALSE(r.pull(a, at(5)));
  // Another case is still offered to a.
  CHECK(*r.route(request(2), at(6)).chosen == a);
}

TEST_CASE("a reserved case waits for its agent alone, then joins the queue", "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto owner = r.add_agent(agent("owner", {}, 1, {"sales"}), at(0));
  auto other = r.add_agent(agent("other"), at(0));
  r.set_available(other, true, at(0));
  auto req = request(1);
  req.reserved_for = owner;
  auto d = r.route(req, at(1));
  CHECK_FALSE(d.chosen);
  CHECK(d.why == "waiting for owner");
  CHECK_FALSE(r.pull(other, at(2)));  // not for other
  SECTION("the owner comes online within the window") {
    r.set_available(owner, true, at(3));
    auto p = r.pull(owner, at(3));
    REQUIRE(p);
    CHECK(p->case_key == 1);
  }
  SECTION("the window ends: the queue takes it") {
    auto e = r.end_reservation(1, at(60));
    REQUIRE(e.chosen);
    CHECK(*e.chosen == other);
  }
}

TEST_CASE("capacity per channel is never exceeded", "[routing][router]") {
  auto rs = rules();
  Router r(rs);
  auto a = r.add_agent(agent("a", {}, 3), at(0));
  r.set_available(a, true, at(0));
  for (CaseKey k = 1; k <= 5; ++k) {
    r.route(request(k), at(1));
  }
  CHECK(r.load(a, Channel::Chat) == 3);
  CHECK(r.stats().waiting == 2);
  CHECK_FALSE(r.pull(a, at(2)));
  r.set_available(a, false, at(3));
  r.release(a, Channel::Chat, at(3));
  CHECK_FALSE(r.pull(a, at(3)));  // away: takes nothing
  r.set_available(a, true, at(4));
  CHECK(r.pull(a, at(4))->case_key == 4);
}

TEST_CASE("longest idle stays exact under random work", "[routing][router][random]") {
  // The pools are kept lazily; a brute-force mirror of idle times checks every choice.
  auto rs = rules();
  Router r(rs);
  std::mt19937_64 rng(7);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  constexpr int kAgents = 40;
  std::vector<AgentSlot> slots;
  std::vector<std::int64_t> idle(kAgents);
  std::vector<int> load(kAgents, 0);
  std::vector<bool> avail(kAgents, false);
  std::vector<std::vector<CaseKey>> held(kAgents);
  for (int i = 0; i < kAgents; ++i) {
    slots.push_back(r.add_agent(agent("a" + std::to_string(i), {}, 1 + i % 3), at(0)));
  }
  std::int64_t now = 0;
  CaseKey next = 1;
  int checked = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += 1 + static_cast<std::int64_t>(pick(5));
    TimePoint t{Duration{now}};
    auto i = pick(kAgents);
    switch (pick(4)) {
      case 0:  // presence
        if (avail[i] != (pick(3) != 0)) {
          avail[i] = !avail[i];
          r.set_available(slots[i], avail[i], t);
          if (avail[i]) {
            idle[i] = now;
          }
        }
        break;
      case 1:  // release
        if (!held[i].empty()) {
          r.release(slots[i], Channel::Chat, t);
          r.forget(held[i].back());
          held[i].pop_back();
          --load[i];
          idle[i] = now;
        }
        break;
      default: {  // arrival
        // The expected winner: available, room, smallest idle time (then slot).
        std::optional<int> expect;
        for (int k = 0; k < kAgents; ++k) {
          if (avail[k] && load[k] < 1 + k % 3 &&
              (!expect || std::tie(idle[k], k) < std::tie(idle[*expect], *expect))) {
            expect = k;
          }
        }
        auto d = r.route(request(next), t);
        if (expect) {
          REQUIRE(d.chosen);
          REQUIRE(*d.chosen == slots[*expect]);
          ++load[*expect];
          idle[*expect] = now;
          held[*expect].push_back(next);
          ++checked;
        } else {
          REQUIRE_FALSE(d.chosen);
          r.forget(next);  // nobody could take it: the customer leaves
        }
        ++next;
        break;
      }
    }
  }
  CHECK(checked > 2000);
}
