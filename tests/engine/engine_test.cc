#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_fixture.h"

using namespace baton;
using namespace baton::engine;
using baton::testing::EngineFixture;

namespace {
Duration seconds(int s) { return Duration{s * 1000LL}; }
}  // namespace

TEST_CASE("happy path: queued, offered, accepted, replies, resolved, closed, csat",
          "[engine][lifecycle]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto c = fx.post("where is my order");
  CHECK(c.status == CaseStatus::Offered);
  CHECK(c.queue == "support");
  CHECK(c.priority == 3);
  const Offer& o = fx.offer_of(c.id);
  CHECK(o.agent == ana);
  CHECK(o.expires_at - o.created_at == seconds(30));
  CHECK(fx.eng.find_agent(ana)->load[index_of(Channel::Chat)] == 1);

  auto acc = fx.eng.accept_offer(o.id, ana);
  REQUIRE(acc.has_value());
  CHECK(acc->offer.status == OfferStatus::Accepted);
  CHECK(acc->case_.status == CaseStatus::Assigned);
  CHECK(acc->case_.assignee == ana);

  REQUIRE(fx.eng.add_message(c.id, false, "Checking now", "ana").has_value());
  REQUIRE(fx.eng.add_message(c.id, true, "thanks", "gateway").has_value());
  REQUIRE(fx.eng.add_note(c.id, "courier delay", "ana").has_value());
  auto res = fx.eng.resolve(c.id, "ana", "shipped");
  REQUIRE(res.has_value());
  CHECK(res->status == CaseStatus::Resolved);
  CHECK(fx.eng.find_agent(ana)->load[index_of(Channel::Chat)] == 0);
  REQUIRE(fx.eng.close(c.id, "ana", false).has_value());
  REQUIRE(fx.eng.record_csat(c.id, 5, "great", "gateway").has_value());
  fx.check();

  auto types = fx.journal.event_types_of(c.id);
  std::vector<std::string> expect = {
      "created",        "routed",      "offered",    "status_changed", "accepted", "assigned",
      "status_changed", "message_out", "message_in", "note",           "note",     "status_changed",
      "status_changed", "csat"};
  CHECK(types == expect);
  // Event ids are sortable in creation order.
  auto evs = fx.journal.events_of(c.id);
  for (std::size_t i = 1; i < evs.size(); ++i) {
    CHECK(evs[i - 1].id < evs[i].id);
  }
  CHECK(fx.get(c.id).first_response_at.has_value());
}

// A clock that moves a millisecond at every read, as a busy server's does between two
// reads in one command.
class TickingClock final : public Clock {
 public:
  TimePoint now() const override { return t_ += Duration{1}; }

 private:
  mutable TimePoint t_{Duration{1'790'000'000'000}};
};

TEST_CASE("[regress] a command's events and the case's stamps share one instant",
          "[engine][lifecycle]") {
  // Reports match a case's first reply and first acceptance to their events by time: with
  // the clock read once per write, a millisecond between two reads lost them.
  TickingClock clock;
  baton::testing::MemoryJournal journal;
  Engine eng(clock, baton::testing::parse_rules(baton::testing::kDefaultRules),
             baton::testing::with_zones({}));
  eng.set_journal(&journal);
  NewAgent a;
  a.id = AgentId("ana");
  a.name = "ana";
  a.teams = {"support"};
  a.capacity[index_of(Channel::Chat)] = 1;
  REQUIRE(eng.create_agent(std::move(a)).has_value());
  REQUIRE(eng.set_presence(AgentId("ana"), Presence::Available).has_value());
  NewCase nc;
  nc.channel = Channel::Chat;
  nc.subject = "help";
  nc.customer.identity = Identity{Channel::Chat, "web:1"};
  auto c = eng.create_case(std::move(nc));
  REQUIRE(c.has_value());
  REQUIRE(c->offer.has_value());
  REQUIRE(eng.accept_offer(*c->offer, AgentId("ana")).has_value());
  REQUIRE(eng.add_message(c->id, false, "on it", "ana").has_value());
  const Case& stored = *eng.find_case(c->id);
  auto at_of = [&](const char* type) {
    for (const auto& e : journal.events_of(c->id)) {
      if (to_string(e.type) == type) {
        return e.at;
      }
    }
    FAIL("no " << type << " event");
    return TimePoint{};
  };
  CHECK(stored.created_at == at_of("created"));
  CHECK(stored.first_accepted_at == at_of("accepted"));
  CHECK(stored.accepted_at == at_of("accepted"));
  CHECK(stored.first_response_at == at_of("message_out"));
  CHECK(stored.updated_at == at_of("message_out"));
}

TEST_CASE("commands refused by the case's status say why and change nothing",
          "[engine][lifecycle]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto c = fx.post();
  OfferId oid = fx.offer_of(c.id).id;
  std::size_t commits = fx.journal.mutations.size();

  SECTION("close before resolve, by an agent") {
    auto r = fx.eng.close(c.id, "ana", false);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::FailedPrecondition);
    CHECK_THAT(r.error().message, Catch::Contains("offered"));
  }
  SECTION("reopen an open case") {
    CHECK(fx.eng.reopen(c.id, "ana").error().code == ErrorCode::FailedPrecondition);
  }
  SECTION("accept a timed-out offer") {
    fx.advance(seconds(31));
    commits = fx.journal.mutations.size();
    auto r = fx.eng.accept_offer(oid, ana);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::FailedPrecondition);
    CHECK_THAT(r.error().message, Catch::Contains("timed_out"));
  }
  SECTION("accept another agent's offer: not visible") {
    fx.agent("bob");
    commits = fx.journal.mutations.size();
    CHECK(fx.eng.accept_offer(oid, AgentId("bob")).error().code == ErrorCode::NotFound);
  }
  SECTION("reply before anyone took the case") {
    CHECK(fx.eng.add_message(c.id, false, "hi", "ana").error().code ==
          ErrorCode::FailedPrecondition);
  }
  SECTION("unknown case") {
    CHECK(fx.eng.resolve(CaseId(999), "ana", "").error().code == ErrorCode::NotFound);
  }
  CHECK(fx.journal.mutations.size() == commits);
  fx.check();
}

TEST_CASE("bad input is refused with the field at fault", "[engine][validation]") {
  EngineFixture fx;
  fx.agent("ana");
  NewCase nc;
  nc.customer.identity = Identity{Channel::Chat, "web:1"};
  SECTION("priority out of range") {
    nc.priority = 7;
    auto r = fx.eng.create_case(nc);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().field_errors.at(0).field == "priority");
  }
  SECTION("skill level out of range") {
    nc.required_skills = {{"billing", 11}};
    CHECK(fx.eng.create_case(nc).error().field_errors.at(0).field == "required_skills.billing");
  }
  SECTION("unknown customer id") {
    nc.customer = CustomerRef{CustomerId(42), std::nullopt, ""};
    CHECK(fx.eng.create_case(nc).error().field_errors.at(0).field == "customer.id");
  }
  SECTION("agent id pattern and duplicates") {
    NewAgent a;
    a.id = AgentId("Bad Id");
    a.name = "x";
    CHECK(fx.eng.create_agent(a).error().field_errors.at(0).field == "id");
    a.id = AgentId("ana");
    CHECK(fx.eng.create_agent(a).error().code == ErrorCode::AlreadyExists);
  }
  SECTION("capacity below the current load") {
    auto c = fx.post();
    (void)c;
    AgentPatch p;
    p.capacity = ChannelCounts{};
    auto r = fx.eng.update_agent(AgentId("ana"), p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().field_errors.at(0).field == "capacity.chat");
  }
  CHECK(fx.eng.open_case_count() <= 1);
  fx.check();
}

TEST_CASE("a declined offer excludes the agent and routes the case again at once",
          "[engine][offer]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  fx.clock.advance(seconds(1));
  auto bob = fx.agent("bob");
  auto c = fx.post();
  CHECK(fx.offer_of(c.id).agent == ana);  // idle longest
  auto d = fx.eng.decline_offer(fx.offer_of(c.id).id, ana, "busy with a call");
  REQUIRE(d.has_value());
  CHECK(d->status == OfferStatus::Declined);
  CHECK(d->reason == "busy with a call");
  CHECK(fx.offer_of(c.id).agent == bob);
  // Bob declines too: nobody is left; ana's free slot does not take it back.
  REQUIRE(fx.eng.decline_offer(fx.offer_of(c.id).id, bob, "").has_value());
  CHECK(fx.get(c.id).status == CaseStatus::Queued);
  CHECK(fx.eng.waiting_count() == 1);
  // The routing explanation lists them as declined.
  const auto& last = fx.decisions.back();
  CHECK_FALSE(last.chosen);
  int declined = 0;
  for (const auto& cand : fx.eng.explain(last)) {
    declined += cand.reason == "declined" ? 1 : 0;
  }
  CHECK(declined == 2);
  // A new agent takes it.
  auto cy = fx.agent("cy");
  CHECK(fx.offer_of(c.id).agent == cy);
  fx.check();
}

TEST_CASE("an unanswered offer times out on the virtual clock and goes to the next agent",
          "[engine][offer][timer]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  fx.clock.advance(seconds(1));
  auto bob = fx.agent("bob");
  auto c = fx.post();
  REQUIRE(fx.offer_of(c.id).agent == ana);
  OfferId first = fx.offer_of(c.id).id;
  fx.advance(seconds(29));
  CHECK(fx.eng.find_offer(first)->status == OfferStatus::Pending);
  fx.advance(seconds(1));
  CHECK(fx.eng.find_offer(first)->status == OfferStatus::TimedOut);
  CHECK(fx.offer_of(c.id).agent == bob);
  CHECK(fx.eng.find_agent(ana)->missed_offers == 1);
  auto types = fx.journal.event_types_of(c.id);
  CHECK(std::count(types.begin(), types.end(), "offer_timed_out") == 1);

  SECTION("e-mail offers wait five minutes") {
    fx.agent("mia", {"support"}, {}, 0, 2);
    auto e = fx.post("invoice", 0, Channel::Email, {}, "x@example.com");
    const Offer& eo = fx.offer_of(e.id);
    CHECK(eo.expires_at - eo.created_at == Duration{300'000});
  }
  fx.check();
}

TEST_CASE("an agent who lets offers lapse again and again is set away", "[engine][offer]") {
  EngineConfig cfg;
  cfg.away_after_missed_offers = 2;
  EngineFixture fx(baton::testing::kDefaultRules, cfg);
  auto ana = fx.agent("ana");
  auto c1 = fx.post("one", 0, Channel::Chat, {}, "web:1");
  fx.advance(seconds(30));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Available);
  auto c2 = fx.post("two", 0, Channel::Chat, {}, "web:2");
  CHECK(fx.offer_of(c2.id).agent == ana);
  fx.advance(seconds(30));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Away);
  CHECK(fx.get(c1.id).status == CaseStatus::Queued);
  CHECK(fx.get(c2.id).status == CaseStatus::Queued);
  fx.check();
}

TEST_CASE("going away revokes pending offers and routes those cases elsewhere",
          "[engine][presence]") {
  EngineFixture fx;
  auto ana = fx.agent("ana", {"support"}, {}, 2);
  auto c1 = fx.post("one", 0, Channel::Chat, {}, "web:1");
  auto c2 = fx.post("two", 0, Channel::Chat, {}, "web:2");
  REQUIRE(fx.offer_of(c1.id).agent == ana);
  REQUIRE(fx.offer_of(c2.id).agent == ana);
  auto bob = fx.agent("bob");
  REQUIRE(fx.eng.set_presence(ana, Presence::Away).has_value());
  CHECK(fx.eng.pending_offers(ana).empty());
  CHECK(fx.eng.find_agent(ana)->load == ChannelCounts{});
  // The older case goes to bob; the other waits (bob has one chat slot).
  CHECK(fx.offer_of(c1.id).agent == bob);
  CHECK(fx.get(c2.id).status == CaseStatus::Queued);
  // Revoking does not exclude: when ana is back, she takes the waiting case.
  REQUIRE(fx.eng.set_presence(ana, Presence::Available).has_value());
  CHECK(fx.offer_of(c2.id).agent == ana);
  fx.check();
}

TEST_CASE("freed capacity pulls the best waiting case at once", "[engine][routing]") {
  EngineFixture fx;
  auto ana = fx.agent("ana", {"support"}, {{"billing", 6}});
  auto busy = fx.post("first");
  REQUIRE(fx.eng.accept_offer(fx.offer_of(busy.id).id, ana).has_value());
  fx.clock.advance(seconds(1));
  auto low = fx.post("low", 4, Channel::Chat, {}, "web:2");
  fx.clock.advance(seconds(1));
  auto urgent = fx.post("urgent", 1, Channel::Chat, {{"billing", 5}}, "web:3");
  fx.clock.advance(seconds(1));
  auto too_hard = fx.post("hard", 1, Channel::Chat, {{"billing", 9}}, "web:4");
  CHECK(fx.eng.waiting_count() == 3);
  REQUIRE(fx.eng.resolve(busy.id, "ana", "done").has_value());
  // Wrap-up after a live case: nothing is offered for 10 s.
  CHECK(fx.eng.find_agent(ana)->presence == Presence::WrapUp);
  CHECK(fx.get(urgent.id).status == CaseStatus::Queued);
  fx.advance(seconds(10));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Available);
  CHECK(fx.offer_of(urgent.id).agent == ana);  // priority 1 before the older priority 4
  CHECK(fx.get(low.id).status == CaseStatus::Queued);
  CHECK(fx.get(too_hard.id).status == CaseStatus::Queued);  // ana lacks billing 9
  fx.check();
}

TEST_CASE("pending cases hold no slot, the customer's answer brings the case back",
          "[engine][lifecycle]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto c = fx.post("question");
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  REQUIRE(fx.eng.set_pending(c.id, "ana").has_value());
  CHECK(fx.eng.find_agent(ana)->load[index_of(Channel::Chat)] == 0);
  SECTION("room: back to assigned") {
    REQUIRE(fx.eng.add_message(c.id, true, "here is the info", "gateway").has_value());
    CHECK(fx.get(c.id).status == CaseStatus::Assigned);
    CHECK(fx.eng.find_agent(ana)->load[index_of(Channel::Chat)] == 1);
  }
  SECTION("no room: stays pending, and resume is refused") {
    auto other = fx.post("other", 0, Channel::Chat, {}, "web:9");
    REQUIRE(fx.eng.accept_offer(fx.offer_of(other.id).id, ana).has_value());
    REQUIRE(fx.eng.add_message(c.id, true, "here is the info", "gateway").has_value());
    CHECK(fx.get(c.id).status == CaseStatus::Pending);
    auto r = fx.eng.resume(c.id, "ana");
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("at capacity"));
  }
  fx.check();
}

TEST_CASE("reopen puts a resolved case back in the queue, a supervisor may close anything",
          "[engine][lifecycle]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto c = fx.post();
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  REQUIRE(fx.eng.resolve(c.id, "ana", "ok").has_value());
  fx.advance(seconds(10));  // wrap-up ends
  auto r = fx.eng.reopen(c.id, "gateway");
  REQUIRE(r.has_value());
  CHECK(fx.get(c.id).status == CaseStatus::Offered);
  auto q = fx.post("spam", 0, Channel::Chat, {}, "web:5");
  CHECK(q.status == CaseStatus::Queued);
  auto closed = fx.eng.close(q.id, "supervisor", true);
  REQUIRE(closed.has_value());
  CHECK(closed->status == CaseStatus::Closed);
  CHECK(fx.eng.waiting_count() == 0);
  fx.check();
}

TEST_CASE("abandoned: a live customer who leaves before anyone takes the case",
          "[engine][lifecycle]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto c = fx.post();
  auto waiting = fx.post("second", 0, Channel::Chat, {}, "web:2");
  REQUIRE(fx.eng.abandon(c.id, "gateway").has_value());
  // Ana's slot went to the waiting case.
  CHECK(fx.offer_of(waiting.id).agent == ana);
  REQUIRE(fx.eng.accept_offer(fx.offer_of(waiting.id).id, ana).has_value());
  CHECK(fx.eng.abandon(waiting.id, "gateway").error().code == ErrorCode::FailedPrecondition);
  fx.check();
}

TEST_CASE("transfer to a queue or straight to an agent", "[engine][transfer]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto bill = fx.agent("bill", {"billing"});
  auto c = fx.post("refund");
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  SECTION("to a queue") {
    auto r = fx.eng.transfer_to_queue(c.id, "billing", "ana", "needs billing");
    REQUIRE(r.has_value());
    CHECK(fx.get(c.id).queue == "billing");
    CHECK(fx.offer_of(c.id).agent == bill);
    CHECK(fx.eng.find_agent(ana)->load[index_of(Channel::Chat)] == 0);
    CHECK(fx.eng.transfer_to_queue(c.id, "nowhere", "ana", "").error().code ==
          ErrorCode::InvalidArgument);
  }
  SECTION("to an agent") {
    auto r = fx.eng.transfer_to_agent(c.id, bill, "ana", "");
    REQUIRE(r.has_value());
    CHECK(fx.offer_of(c.id).agent == bill);
    auto types = fx.journal.event_types_of(c.id);
    CHECK(std::count(types.begin(), types.end(), "transferred") == 1);
  }
  SECTION("to an agent who is away") {
    REQUIRE(fx.eng.set_presence(bill, Presence::Away).has_value());
    CHECK_THAT(fx.eng.transfer_to_agent(c.id, bill, "ana", "").error().message,
               Catch::Contains("away"));
  }
  fx.check();
}

TEST_CASE("leads go to the account's sales owner first, then the sales team", "[engine][owner]") {
  EngineFixture fx;
  auto sam = fx.agent("sam", {"sales"}, {}, 1, 1, false);  // owner, offline
  auto sue = fx.agent("sue", {"sales"}, {}, 1, 1);
  auto acc = fx.eng.create_account(NewAccount{"Hanbit Co", "gold", "smb", sam});
  REQUIRE(acc.has_value());
  NewCustomer nc;
  nc.name = "Minji Lee";
  nc.account = acc->id;
  nc.identities = {Identity{Channel::Email, "Minji@Example.com"}};
  REQUIRE(fx.eng.create_customer(nc).has_value());
  auto lead = fx.post("team plan pricing", 0, Channel::Chat, {}, "x", "lead");
  (void)lead;
  NewCase c;
  c.channel = Channel::Email;
  c.type = "lead";
  c.subject = "40 seats";
  c.customer.identity = Identity{Channel::Email, "minji@example.com "};  // same person
  auto r = fx.eng.create_case(c);
  REQUIRE(r.has_value());
  CHECK(r->queue == "sales");
  CHECK(r->account == acc->id);
  CHECK(r->status == CaseStatus::Queued);  // waits for sam, not sue
  SECTION("the owner comes online within the window") {
    fx.advance(seconds(60));
    REQUIRE(fx.eng.set_presence(sam, Presence::Available).has_value());
    CHECK(fx.offer_of(r->id).agent == sam);
  }
  SECTION("the window ends: the team takes it, as an escalated event") {
    fx.advance(seconds(120));
    auto types = fx.journal.event_types_of(r->id);
    CHECK(std::count(types.begin(), types.end(), "escalated") == 1);
    REQUIRE(fx.eng.find_case(r->id)->status == CaseStatus::Offered);
    CHECK(fx.offer_of(r->id).agent == sue);
  }
  fx.check();
}

TEST_CASE("support hands off to sales: linked lead, accepted, won", "[engine][handoff]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  auto sam = fx.agent("sam", {"sales"});
  auto acc = fx.eng.create_account(NewAccount{"Hanbit Co", "gold", "", sam});
  NewCustomer nc;
  nc.name = "Minji";
  nc.account = acc->id;
  nc.identities = {Identity{Channel::Chat, "web:8812"}};
  REQUIRE(fx.eng.create_customer(nc).has_value());
  auto c = fx.post("we need 40 more seats", 0, Channel::Chat, {}, "web:8812");
  CHECK(c.suggested_handoffs == std::vector<std::string>{"upsell"});
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());

  NewHandoff nh;
  nh.to = "sales_owner";
  nh.reason = HandoffReason::Upsell;
  nh.note = "Asked about the team plan for 40 seats";
  nh.actor = "ana";
  auto h = fx.eng.create_handoff(c.id, nh);
  REQUIRE(h.has_value());
  CHECK(h->status == HandoffStatus::Open);
  CHECK(h->from_agent == ana);
  CHECK(h->to_agent == sam);
  const Case& lead = fx.get(h->to_case);
  CHECK(lead.type == "lead");
  CHECK(lead.queue == "sales");
  CHECK(lead.customer == c.customer);
  CHECK(lead.channel == c.channel);
  CHECK(fx.get(c.id).assignee == ana);  // the source stays with its owner
  CHECK(fx.offer_of(lead.id).agent == sam);
  REQUIRE(fx.eng.accept_offer(fx.offer_of(lead.id).id, sam).has_value());
  CHECK(fx.eng.find_handoff(h->id)->status == HandoffStatus::Accepted);
  auto done = fx.eng.complete_handoff(h->id, HandoffOutcome::Won, "sam");
  REQUIRE(done.has_value());
  CHECK(done->outcome == HandoffOutcome::Won);
  CHECK(fx.eng.complete_handoff(h->id, HandoffOutcome::Lost, "sam").error().code ==
        ErrorCode::FailedPrecondition);
  // Both timelines carry every step.
  auto src = fx.journal.event_types_of(c.id);
  CHECK(std::count(src.begin(), src.end(), "handed_off") == 1);
  CHECK(std::count(src.begin(), src.end(), "handoff_accepted") == 1);
  CHECK(std::count(src.begin(), src.end(), "handoff_completed") == 1);
  auto dst = fx.journal.event_types_of(lead.id);
  CHECK(std::count(dst.begin(), dst.end(), "handed_off") == 1);
  CHECK(std::count(dst.begin(), dst.end(), "handoff_completed") == 1);

  SECTION("to sales_owner without an account is refused") {
    auto other = fx.post("no account", 0, Channel::Chat, {}, "web:77");
    auto r = fx.eng.create_handoff(other.id, nh);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().field_errors.at(0).field == "to");
  }
  fx.check();
}

TEST_CASE("commit, then publish: a failed commit publishes nothing", "[engine][journal]") {
  EngineFixture fx;
  fx.agent("ana");
  std::size_t published = fx.publisher.published.size();
  fx.post("first", 0, Channel::Chat, {}, "web:1");
  CHECK(fx.publisher.published.size() == published + 1);
  // What was published is the committed mutation: new state and its events together.
  const Mutation& m = fx.publisher.published.back();
  CHECK(m.cases.size() == 1);
  CHECK_FALSE(m.events.empty());
  fx.journal.fail_next();
  fx.post("lost", 0, Channel::Chat, {}, "web:2");
  CHECK(fx.publisher.published.size() == published + 1);
}

TEST_CASE("routing decisions explain themselves", "[engine][explain]") {
  EngineFixture fx;
  fx.agent("ana", {"support"}, {{"billing", 3}});
  fx.agent("bob", {"support"}, {{"billing", 7}});
  fx.agent("cy", {"support"}, {{"billing", 9}}, 1, 0, false);
  auto c = fx.post("refund", 0, Channel::Chat, {{"billing", 5}});
  const auto& d = fx.decisions.back();
  CHECK(d.case_id == c.id);
  CHECK(d.queue == "support");
  REQUIRE(d.chosen);
  CHECK(d.chosen->value() == "bob");
  CHECK_THAT(d.why, Catch::StartsWith("longest idle"));
  std::map<std::string, std::string> reasons;
  for (const auto& cand : fx.eng.explain(d)) {
    reasons[cand.agent.value()] = cand.reason;
  }
  CHECK(reasons["bob"] == "eligible");
  CHECK(reasons["ana"] == "skill billing 3 < 5");
  CHECK(reasons["cy"] == "not available");
}

TEST_CASE("closing returns the closed case even when finished cases leave memory",
          "[engine][regress]") {
  EngineConfig cfg;
  cfg.evict_finished = true;
  EngineFixture fx(baton::testing::kDefaultRules, cfg);
  auto c = fx.post();
  auto r = fx.eng.close(c.id, "supervisor", true);
  REQUIRE(r.has_value());
  CHECK(r->id == c.id);
  CHECK(r->status == CaseStatus::Closed);
  CHECK(fx.eng.find_case(c.id) == nullptr);
}

TEST_CASE("a customer message on a resolved case reopens it with no owner", "[engine][regress]") {
  EngineFixture fx;
  auto ana = fx.agent("ana", {"support"}, {}, 1, 1);
  auto c = fx.post("q", 0, Channel::Email, {}, "a@example.com");
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  REQUIRE(fx.eng.resolve(c.id, "ana", "done").has_value());
  REQUIRE(fx.eng.set_presence(ana, Presence::Away).has_value());
  REQUIRE(fx.eng.add_message(c.id, true, "not fixed", "gateway").has_value());
  CHECK(fx.get(c.id).status == CaseStatus::Queued);
  CHECK_FALSE(fx.get(c.id).assignee.has_value());
  fx.check();
}

TEST_CASE("an agent freed by a transfer takes the most urgent waiting case first",
          "[engine][regress]") {
  EngineFixture fx;
  auto ana = fx.agent("ana", {"support", "billing"});
  auto c = fx.post("mine", 3);
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  auto urgent = fx.post("urgent", 1, Channel::Chat, {}, "web:2");
  REQUIRE(fx.get(urgent.id).status == CaseStatus::Queued);
  // Moving ana's case to billing frees her; she also serves billing, but the waiting
  // priority-1 case comes before the priority-3 case she just handed on.
  REQUIRE(fx.eng.transfer_to_queue(c.id, "billing", "ana", "").has_value());
  CHECK(fx.offer_of(urgent.id).agent == ana);
  CHECK(fx.get(c.id).status == CaseStatus::Queued);
  fx.check();
}

TEST_CASE("offers revoked together are routed again most urgent first", "[engine][regress]") {
  EngineFixture fx;
  auto ana = fx.agent("ana", {"support"}, {}, 2);
  auto low = fx.post("low", 4, Channel::Chat, {}, "web:1");
  auto high = fx.post("high", 1, Channel::Chat, {}, "web:2");
  REQUIRE(fx.offer_of(low.id).agent == ana);
  REQUIRE(fx.offer_of(high.id).agent == ana);
  auto bob = fx.agent("bob");
  REQUIRE(fx.eng.set_presence(ana, Presence::Offline).has_value());
  CHECK(fx.offer_of(high.id).agent == bob);
  CHECK(fx.get(low.id).status == CaseStatus::Queued);
  fx.check();
}

TEST_CASE("after a failed commit the engine takes no more commands", "[engine][journal]") {
  EngineFixture fx;
  auto ana = fx.agent("ana");
  REQUIRE(fx.eng.writable().has_value());
  fx.journal.fail_next();
  fx.post("lost");  // applied in memory, never durable, never published
  auto r = fx.eng.set_presence(ana, Presence::Away);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("recovers from its database"));
  NewCase nc;
  nc.customer.identity = Identity{Channel::Chat, "web:2"};
  CHECK(fx.eng.create_case(nc).error().code == ErrorCode::Unavailable);
}

TEST_CASE("queue stats count waiting cases, agents and today's answers", "[engine][queues]") {
  baton::testing::EngineFixture fx;
  auto ana = fx.agent("ana", {"support"}, {}, 1, 0);
  auto c1 = fx.post("one");
  fx.clock.advance(Duration{5000});
  auto c2 = fx.post("two");
  auto stats = fx.eng.queue_stats();
  auto support = std::find_if(stats.begin(), stats.end(),
                              [](const QueueStats& s) { return s.queue == "support"; });
  REQUIRE(support != stats.end());
  CHECK(support->waiting == 2);
  REQUIRE(support->oldest_waiting_since.has_value());
  CHECK(*support->oldest_waiting_since == fx.get(c1.id).queued_at);
  // ana's one chat slot holds the offer; her voice slot is free, so she still has room.
  CHECK(support->agents_available == 1);
  CHECK(support->agents_busy == 1);
  REQUIRE(fx.eng.set_presence(AgentId("bo"), Presence::Away).error().code == ErrorCode::NotFound);
  CHECK(support->answered_today == 0);

  REQUIRE(fx.eng.accept_offer(fx.offer_of(c1.id).id, ana).has_value());
  stats = fx.eng.queue_stats();
  support = std::find_if(stats.begin(), stats.end(),
                         [](const QueueStats& s) { return s.queue == "support"; });
  CHECK(support->waiting == 1);
  CHECK(*support->oldest_waiting_since == fx.get(c2.id).queued_at);
  CHECK(support->answered_today == 1);
  // Accepted 5 s after it queued: within the default 20 s.
  CHECK(support->answered_in_target_today == 1);
}

TEST_CASE("an engine sized for its open cases takes them in without growing a table",
          "[engine][regress]") {
  constexpr std::size_t kCases = 2000;
  EngineConfig cfg;
  cfg.expected_open_cases = kCases;
  EngineFixture sized(baton::testing::kDefaultRules, cfg);
  EngineFixture unsized;
  std::size_t room = sized.eng.case_capacity();
  CHECK(room >= kCases);
  CHECK(unsized.eng.case_capacity() < kCases);
  for (std::size_t i = 0; i < kCases; ++i) {
    std::string address = "web:" + std::to_string(i);
    sized.post("help", 2, Channel::Chat, {}, address);
    unsized.post("help", 2, Channel::Chat, {}, address);
  }
  CHECK(sized.eng.open_case_count() == kCases);
  // No table grew (a growth rehashes every case while the engine waits)...
  CHECK(sized.eng.case_capacity() == room);
  // ...while the unsized engine's grew on the way.
  CHECK(unsized.eng.case_capacity() >= kCases);
  sized.check();
}

TEST_CASE("[regress] a handoff's linked case is routed on the same facts as a posted case",
          "[engine][handoff][regress]") {
  // A rule on the customer's name, the account's id and the body: before, the linked case
  // was routed on facts built by hand that lacked all three.
  EngineFixture fx(R"(
[queues.key_accounts]
teams = ["sales"]
[[rules]]
name = "minji's leads"
when = 'type == "lead" and customer.name == "Minji" and account.id == "1" and body matches "seats"'
queue = "key_accounts"
)" + std::string(baton::testing::kDefaultRules));
  auto ana = fx.agent("ana");
  auto sam = fx.agent("sam", {"sales"});
  auto acc = fx.eng.create_account(NewAccount{"Hanbit Co", "gold", "", sam});
  REQUIRE(acc.has_value());
  REQUIRE(acc->id == AccountId(1));
  NewCustomer nc;
  nc.name = "Minji";
  nc.account = acc->id;
  nc.identities = {Identity{Channel::Chat, "web:8812"}};
  REQUIRE(fx.eng.create_customer(nc).has_value());

  // A posted lead of hers goes to key_accounts.
  engine::NewCase posted;
  posted.type = "lead";
  posted.subject = "pricing";
  posted.body = "we need 40 more seats";
  posted.customer.identity = Identity{Channel::Chat, "web:8812"};
  auto lead = fx.eng.create_case(posted);
  REQUIRE(lead.has_value());
  CHECK(lead->queue == "key_accounts");

  // So does the lead a handoff makes from her support case.
  auto c = fx.post("help", 0, Channel::Chat, {}, "web:8812");
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  NewHandoff nh;
  nh.to = "sales_owner";
  nh.reason = HandoffReason::Upsell;
  nh.actor = "ana";
  nh.recent_messages = {{"in", "we need 40 more seats"}, {"out", "let me ask sales"}};
  auto h = fx.eng.create_handoff(c.id, nh);
  REQUIRE(h.has_value());
  CHECK(fx.get(h->to_case).queue == "key_accounts");
  fx.check();
}

namespace {

// Runs `body` in a child process; returns the signal that ended it (0 for a normal exit).
template <class Body>
int signal_of_child(Body body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    std::_Exit(0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

}  // namespace

TEST_CASE("a command from another thread than the engine's aborts", "[engine][thread]") {
  SECTION("the first thread to run a command owns the engine") {
    int sig = signal_of_child([] {
      EngineFixture fx;
      fx.agent("ana");
      std::thread other([&] { fx.post("from elsewhere"); });
      other.join();
    });
    CHECK(sig == SIGABRT);
  }
  SECTION("an owner check the server sets (its strand) is asked at every command") {
    int sig = signal_of_child([] {
      EngineFixture fx;
      bool on_strand = true;
      fx.eng.set_owner_check([&] { return on_strand; });
      fx.agent("ana");
      on_strand = false;
      fx.post("off the strand");
    });
    CHECK(sig == SIGABRT);
  }
  SECTION("on its own thread it runs") {
    CHECK(signal_of_child([] {
            EngineFixture fx;
            fx.agent("ana");
            fx.post("here");
          }) == 0);
  }
}
