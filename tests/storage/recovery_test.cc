#include "baton/storage/recovery.h"

#include <filesystem>

#include <catch2/catch.hpp>

#include "baton/storage/journal.h"

#include "engine_fixture.h"
#include "temp_dir.h"

using namespace baton;
using namespace baton::engine;
using baton::testing::EngineFixture;
using baton::testing::TempDir;

namespace {

std::unique_ptr<storage::SqliteJournal> open_journal(const std::string& path) {
  storage::JournalOptions o;
  o.path = path;
  auto j = storage::SqliteJournal::open(o);
  INFO((j ? "" : j.error().message));
  REQUIRE(j.has_value());
  return std::move(j).value();
}

}  // namespace

TEST_CASE("a restart brings back agents, customers, open cases and handoffs",
          "[storage][recovery]") {
  TempDir t;
  CaseId queued, offered, assigned, pending, resolved, closed, lead;
  HandoffId handoff;
  {
    auto j = open_journal(t.db());
    EngineFixture fx;
    fx.eng.set_journal(j.get());
    auto ana = fx.agent("ana", {"support"}, {{"billing", 7}}, 1, 1);
    auto bob = fx.agent("bob", {"support"}, {}, 2, 0);
    auto sam = fx.agent("sam", {"sales"}, {}, 1, 1, false);
    auto acc = fx.eng.create_account(NewAccount{"Hanbit Co", "gold", "smb", sam}).value();
    NewCustomer nc;
    nc.name = "Minji";
    nc.account = acc.id;
    nc.identities = {Identity{Channel::Email, "minji@example.com"}};
    auto minji = fx.eng.create_customer(nc).value();
    // bob: one assigned chat, then one pending; ana: an offered chat.
    auto c1 = fx.post("one", 0, Channel::Chat, {}, "web:1");
    REQUIRE(fx.offer_of(c1.id).agent == ana);
    offered = c1.id;
    auto c2 = fx.post("two", 0, Channel::Chat, {}, "web:2");
    REQUIRE(fx.eng.accept_offer(fx.offer_of(c2.id).id, bob).has_value());
    assigned = c2.id;
    auto c3 = fx.post("three", 0, Channel::Chat, {}, "web:3");
    REQUIRE(fx.eng.accept_offer(fx.offer_of(c3.id).id, bob).has_value());
    REQUIRE(fx.eng.set_pending(c3.id, "bob").has_value());
    pending = c3.id;
    fx.post("four", 1, Channel::Voice, {}, "tel:4");  // offered to a free voice slot
    REQUIRE(fx.eng.set_presence(bob, Presence::Away).has_value());
    auto c5 = fx.post("five", 0, Channel::Chat, {{"billing", 9}}, "web:5");
    queued = c5.id;
    auto c6 = fx.post("six", 0, Channel::Email, {}, "minji@example.com");
    REQUIRE(fx.eng.accept_offer(fx.offer_of(c6.id).id, ana).has_value());
    NewHandoff nh;
    nh.to = "sales_owner";
    nh.reason = HandoffReason::Renewal;
    nh.note = "renewal due in March";
    nh.actor = "ana";
    auto h = fx.eng.create_handoff(c6.id, nh).value();
    handoff = h.id;
    lead = h.to_case;
    REQUIRE(fx.eng.resolve(c6.id, "ana", "answered").has_value());
    resolved = c6.id;
    auto c7 = fx.post("seven", 0, Channel::Chat, {}, "web:7");
    REQUIRE(fx.eng.close(c7.id, "supervisor", true).has_value());
    closed = c7.id;
    CHECK(minji.id.value() > 0);
    REQUIRE(j->flush().has_value());
    fx.check();
  }

  // A new process: the same file, a new engine.
  auto snap = storage::load_snapshot(t.db(), "default");
  INFO((snap ? "" : snap.error().message));
  REQUIRE(snap.has_value());
  CHECK(snap->agents.size() == 3);
  CHECK(snap->cases.size() == 7);  // the closed one stays on disk only
  auto j = open_journal(t.db());
  EngineFixture fx;
  fx.eng.set_journal(j.get());
  REQUIRE(fx.eng.restore(std::move(snap).value()).has_value());
  fx.check();

  for (const Agent* a : fx.eng.agents()) {
    CHECK(a->presence == Presence::Offline);  // nobody is connected yet
  }
  CHECK(fx.eng.find_agent(AgentId("bob"))->load[index_of(Channel::Chat)] == 1);
  CHECK(fx.get(assigned).status == CaseStatus::Assigned);
  CHECK(fx.get(pending).status == CaseStatus::Pending);
  CHECK(fx.get(resolved).status == CaseStatus::Resolved);
  CHECK(fx.eng.find_case(closed) == nullptr);
  // The open offer was revoked and its case is back in line.
  CHECK(fx.get(offered).status == CaseStatus::Queued);
  CHECK(fx.get(queued).status == CaseStatus::Queued);
  CHECK(fx.eng.waiting_count() == 4);  // offered, the voice case, queued, the lead

  // Work resumes where it stopped.
  REQUIRE(fx.eng.set_presence(AgentId("ana"), Presence::Available).has_value());
  CHECK(fx.offer_of(offered).agent == AgentId("ana"));
  REQUIRE(fx.eng.set_presence(AgentId("sam"), Presence::Available).has_value());
  REQUIRE(fx.eng.accept_offer(fx.offer_of(lead).id, AgentId("sam")).has_value());
  CHECK(fx.eng.find_handoff(handoff)->status == HandoffStatus::Accepted);
  // New ids sort after the old ones, and a known identity still finds its customer.
  auto again = fx.post("back again", 0, Channel::Email, {}, "MINJI@example.com");
  CHECK(again.id.value() > closed.value());
  CHECK(again.customer == fx.get(resolved).customer);
  REQUIRE(fx.eng.reopen(resolved, "gateway").has_value());
  REQUIRE(j->flush().has_value());
  fx.check();

  // And a third start sees the second one's work.
  auto snap3 = storage::load_snapshot(t.db(), "default").value();
  CHECK(snap3.max_case == again.id.value());
}

TEST_CASE("recovery refuses a database that is not at this binary's schema",
          "[storage][recovery]") {
  TempDir t;
  auto missing = storage::load_snapshot(t.db(), "default");
  REQUIRE_FALSE(missing.has_value());
}

TEST_CASE("routing rule versions are kept and the latest comes back after a restart",
          "[storage][recovery][rules]") {
  TempDir t;
  std::string v2 =
      std::string(baton::testing::kDefaultRules) + "\n[queues.vip]\nteams = [\"vip\"]\n";
  {
    auto j = open_journal(t.db());
    EngineFixture fx;
    fx.eng.set_journal(j.get());
    // A first start saves the rules it was given as version 1.
    REQUIRE(fx.eng.restore(storage::load_snapshot(t.db(), "default").value()).has_value());
    CHECK(fx.eng.rules_version() == 1);
    auto v = fx.eng.set_rules(baton::testing::parse_rules(v2));
    REQUIRE(v.has_value());
    CHECK(v->version == 2);
    // The same source again changes nothing and keeps the version.
    CHECK(fx.eng.set_rules(baton::testing::parse_rules(v2))->version == 2);
    REQUIRE(j->flush().has_value());
  }
  auto snap = storage::load_snapshot(t.db(), "default").value();
  REQUIRE(snap.rules.has_value());
  CHECK(snap.rules->version == 2);
  auto j = open_journal(t.db());
  EngineFixture fx;  // made with the default rules, which the saved version replaces
  fx.eng.set_journal(j.get());
  REQUIRE(fx.eng.restore(std::move(snap)).has_value());
  CHECK(fx.eng.rules_version() == 2);
  CHECK(fx.eng.rules().find_queue("vip") != nullptr);
  CHECK(fx.eng.rules().source() == v2);
}

TEST_CASE("SLA clocks, breaches and escalation progress survive a restart",
          "[storage][recovery][sla]") {
  const std::string rules = R"(
[queues.support]
teams = ["support"]
sla = { first_response = "1h", resolution = "8h" }
escalation = [{ after = "2m", raise_priority = 1 }, { after = "3h", raise_priority = 1 }]
)";
  TempDir t;
  CaseId paused, waiting;
  std::optional<TimePoint> paused_at;
  {
    auto j = open_journal(t.db());
    EngineFixture fx(rules);
    fx.eng.set_journal(j.get());
    auto ana = fx.agent("ana");
    auto c1 = fx.post("one", 0, Channel::Chat, {}, "web:1");
    REQUIRE(fx.eng.accept_offer(fx.offer_of(c1.id).id, ana).has_value());
    REQUIRE(fx.eng.set_pending(c1.id, "ana").has_value());
    paused = c1.id;
    paused_at = fx.get(c1.id).sla_paused_at;
    auto c2 = fx.post("two", 0, Channel::Chat, {}, "web:2");  // Ana is full: it waits
    waiting = c2.id;
    fx.advance(std::chrono::minutes(61));  // step 1 taken; both first responses breached
    CHECK(fx.get(waiting).escalation_step == 1);
    CHECK(fx.get(waiting).priority == 2);
    REQUIRE(j->flush().has_value());
  }
  auto snap = storage::load_snapshot(t.db(), "default");
  REQUIRE(snap.has_value());
  auto j = open_journal(t.db());
  EngineFixture fx(rules);
  fx.clock.set(fx.clock.now() + std::chrono::minutes(61));
  fx.eng.set_journal(j.get());
  REQUIRE(fx.eng.restore(std::move(snap).value()).has_value());
  CHECK(fx.get(paused).sla_paused_at == paused_at);
  CHECK(fx.get(paused).sla_breached == kFirstResponseBreached);
  CHECK(fx.get(waiting).sla_breached == kFirstResponseBreached);
  CHECK(fx.get(waiting).escalation_step == 1);
  CHECK(fx.get(waiting).priority == 2);
  // Breaches recorded before the restart do not fire again; the paused case's resolution
  // clock stays stopped; the waiting one's resolution breach comes at its due time.
  fx.advance(std::chrono::hours(10));
  REQUIRE(j->flush().has_value());  // what the journal committed has been published
  std::size_t first_again = 0, resolution = 0;
  for (const auto& m : fx.publisher.published) {
    for (const auto& e : m.events) {
      if (e.type == EventType::SlaBreached) {
        const auto& target = std::get<std::string>(*e.find("target"));
        first_again += target == "first_response" ? 1 : 0;
        resolution += target == "resolution" && e.case_id == waiting ? 1 : 0;
        CHECK(e.case_id != paused);
      }
    }
  }
  CHECK(first_again == 0);
  CHECK(resolution == 1);
  CHECK(fx.get(waiting).escalation_step == 2);  // the second step, at 3 h of waiting
}
