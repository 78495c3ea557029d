// What-if replays of recorded history: a shift played on the virtual clock through the real
// journal into SQLite (agents accepting after their own delays, handling for random times,
// going away and back, customers leaving), read back by load_replay_history and replayed.

#include "baton/engine/replay.h"

#include <map>
#include <queue>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "baton/storage/history.h"
#include "baton/storage/journal.h"
#include "baton/storage/replay_history.h"

#include "engine_fixture.h"
#include "sqlite_peek.h"
#include "temp_dir.h"

using namespace baton;
using namespace baton::engine;

namespace {

const char* kRules = R"(
[queues.support]
teams = ["support"]
offer_timeout = "1h"
sla = { answer_within = "60s" }
[queues.billing]
teams = ["billing"]
offer_timeout = "1h"
sla = { answer_within = "60s" }
[[rules]]
name = "billing"
when = 'type == "billing"'
queue = "billing"
)";

constexpr std::int64_t kMinute = 60'000;

// The shift: 6 hours of arrivals (a third of them billing), agents with their own accept
// delays, random handle times, one agent away for an hour, customers with limited patience.
struct Shift {
  baton::testing::TempDir dir;
  std::unique_ptr<storage::SqliteJournal> journal;
  baton::testing::EngineFixture fx{kRules};
  TimePoint from, to;
  std::map<std::string, Duration> delay{
      {"ana", Duration{4'000}}, {"bob", Duration{9'000}}, {"cy", Duration{6'000}}};

  Shift() {
    storage::JournalOptions o;
    o.path = dir.db();
    journal = storage::SqliteJournal::open(o).value();
    fx.eng.set_journal(journal.get());
    fx.agent("ana", {"support"}, {}, 1, 0);
    fx.agent("bob", {"support"}, {}, 1, 0);
    fx.agent("cy", {"billing"}, {}, 1, 0);
    for (int i = 0; i < 40; ++i) {
      NewCustomer nc;
      nc.name = "customer " + std::to_string(i);
      nc.identities = {Identity{Channel::Chat, "web:" + std::to_string(i)}};
      REQUIRE(fx.eng.create_customer(nc).has_value());
    }
    fx.clock.advance(Duration{kMinute});
    from = fx.clock.now();
    play();
    to = from + Duration{6 * 60 * kMinute};
    REQUIRE(journal->flush().has_value());
  }

  // Arrivals, accepts, releases, abandons and presence, in time order.
  void play() {
    std::mt19937_64 rng(7);
    std::exponential_distribution<double> gap(1.0 / (3.2 * kMinute));
    std::uniform_int_distribution<std::int64_t> handle(2 * kMinute, 9 * kMinute);
    std::uniform_int_distribution<std::int64_t> patience(30'000, 240'000);
    std::uniform_int_distribution<int> kind(0, 2), who(0, 39);
    enum Kind { Arrive, Accept, Release, Abandon, Away, Back };
    struct Step {
      TimePoint at;
      int kind;
      std::uint64_t id;
      bool operator>(const Step& o) const {
        return std::tie(at, kind, id) > std::tie(o.at, o.kind, o.id);
      }
    };
    std::priority_queue<Step, std::vector<Step>, std::greater<>> steps;
    for (TimePoint t = from + Duration{static_cast<std::int64_t>(gap(rng))};
         t < from + Duration{6 * 60 * kMinute};
         t += Duration{1 + static_cast<std::int64_t>(gap(rng))}) {
      steps.push({t, Arrive, 0});
    }
    steps.push({from + Duration{120 * kMinute}, Away, 0});
    steps.push({from + Duration{180 * kMinute}, Back, 0});
    std::set<std::uint64_t> offered, open;
    auto offer_new = [&] {
      for (auto it = open.begin(); it != open.end();) {
        const Case* c = fx.eng.find_case(CaseId(*it));
        if (c == nullptr || !is_open(c->status)) {
          it = open.erase(it);
          continue;
        }
        ++it;
        if (c->offer && offered.insert(c->offer->value()).second) {
          const Offer* o = fx.eng.find_offer(*c->offer);
          steps.push({fx.clock.now() + delay.at(o->agent.value()), Accept, o->id.value()});
        }
      }
    };
    while (!steps.empty()) {
      Step s = steps.top();
      steps.pop();
      fx.advance(s.at - fx.clock.now());
      if (s.kind == Arrive) {
        bool billing = kind(rng) == 0;
        NewCase nc;
        nc.channel = Channel::Chat;
        nc.type = billing ? "billing" : "support";
        nc.subject = billing ? "invoice" : "help";
        nc.body = "please";
        nc.customer.identity = Identity{Channel::Chat, "web:" + std::to_string(who(rng))};
        auto c = fx.eng.create_case(std::move(nc));
        REQUIRE(c.has_value());
        open.insert(c->id.value());
        steps.push({fx.clock.now() + Duration{patience(rng)}, Abandon, c->id.value()});
      } else if (s.kind == Accept) {
        const Offer* o = fx.eng.find_offer(OfferId(s.id));
        if (o != nullptr && o->status == OfferStatus::Pending) {
          auto r = fx.eng.accept_offer(o->id, o->agent);
          REQUIRE(r.has_value());
          steps.push({fx.clock.now() + Duration{handle(rng)}, Release, r->case_.id.value()});
        }
      } else if (s.kind == Release) {
        REQUIRE(fx.eng.resolve(CaseId(s.id), "agent", "done").has_value());
        REQUIRE(fx.eng.close(CaseId(s.id), "agent", false).has_value());
      } else if (s.kind == Abandon) {
        const Case* c = fx.eng.find_case(CaseId(s.id));
        if (c != nullptr && (c->status == CaseStatus::Queued || c->status == CaseStatus::Offered)) {
          REQUIRE(fx.eng.abandon(CaseId(s.id), "gateway").has_value());
        }
      } else {
        REQUIRE(
            fx.eng
                .set_presence(AgentId("bob"), s.kind == Away ? Presence::Away : Presence::Available)
                .has_value());
      }
      offer_new();
    }
  }

  ReplayHistory history() {
    auto h = storage::load_replay_history(dir.db(), "default", from, to, 1'000'000);
    REQUIRE(h.has_value());
    return std::move(h).value();
  }

  Summary recorded() {
    auto hist = storage::History::open(dir.db(), "default", 1).value();
    return hist->summary(ReportRequest::under(fx.eng.rules(), from, to)).value();
  }
};

routing::RuleSet rules_of(const std::string& src) { return baton::testing::parse_rules(src); }

const QueueFigures& figures(const Summary& s, const std::string& q) {
  for (const auto& f : s.queues) {
    if (f.queue == q) {
      return f;
    }
  }
  FAIL("no queue " << q);
  return s.queues.front();
}

double recorded_level(const QueueFigures& q) {
  return service_level_of(q.answered_in_target, q.answered, q.abandoned).value();
}

}  // namespace

TEST_CASE("history keeps what a replay needs: agents' presence, accept delays, handle times",
          "[storage][replay]") {
  Shift s;
  auto h = s.history();
  CHECK(h.assumptions.empty());
  REQUIRE(h.agents.size() == 3);
  for (const auto& a : h.agents) {
    CHECK(a.presence == Presence::Available);  // as at the window's start
  }
  // Bob's hour away is two changes in the window.
  std::vector<Presence> bob;
  for (const auto& c : h.changes) {
    if (c.agent == AgentId("bob")) {
      bob.push_back(c.presence);
    }
  }
  CHECK(bob == std::vector<Presence>{Presence::Away, Presence::Available});
  // Each agent's delays are its own, as played.
  for (const auto& [agent, delays] : h.accept_delays) {
    REQUIRE_FALSE(delays.empty());
    for (Duration d : delays) {
      CHECK(d == s.delay.at(agent.value()));
    }
  }
  std::size_t abandoned = 0, handled = 0;
  for (const auto& c : h.cases) {
    CHECK(c.posted.body == "please");
    CHECK(c.recorded_queue == (c.posted.type == "billing" ? "billing" : "support"));
    abandoned += c.abandoned_after ? 1 : 0;
    if (c.handle) {
      ++handled;
      CHECK(*c.handle >= Duration{2 * kMinute});
      CHECK(*c.handle <= Duration{9 * kMinute});
    }
  }
  CHECK(h.cases.size() > 90);
  CHECK(abandoned > 5);
  CHECK(handled + abandoned == h.cases.size());
}

TEST_CASE("a replay under the same rules lands on what was recorded", "[storage][replay]") {
  Shift s;
  auto h = s.history();
  auto recorded = s.recorded();
  auto out = replay(h, rules_of(kRules), EngineConfig{}, AgentsEdit{});
  for (const char* name : {"support", "billing"}) {
    INFO(name);
    const QueueFigures& rec = figures(recorded, name);
    ReplayQueue q = out.queues.at(name);
    CHECK(q.cases == rec.created);
    CHECK(std::abs(q.service_level() - recorded_level(rec)) <= 0.02);
    Samples waits = rec.wait;
    double rec_p90 = waits.quantile(0.9).value();
    double p90 = q.wait.quantile(0.9).value();
    CHECK(std::abs(p90 - rec_p90) <= 0.10 * rec_p90);
  }
}

TEST_CASE(
    "a candidate with more hands on billing raises its service level, and one that sends "
    "billing elsewhere moves exactly those cases",
    "[storage][replay]") {
  Shift s;
  auto h = s.history();
  auto active = replay(h, rules_of(kRules), EngineConfig{}, AgentsEdit{});

  std::string shared = kRules;
  shared.replace(shared.find("teams = [\"billing\"]"), 19, "teams = [\"billing\", \"support\"]");
  auto helped = replay(h, rules_of(shared), EngineConfig{}, AgentsEdit{});
  CHECK(helped.queues.at("billing").service_level() > active.queues.at("billing").service_level());

  AgentsEdit two_more;
  ChannelCounts one_chat{};
  one_chat[index_of(Channel::Chat)] = 1;
  two_more.add.push_back(AgentsEdit::Add{{"billing"}, {}, one_chat, 2});
  auto staffed = replay(h, rules_of(kRules), EngineConfig{}, two_more);
  CHECK(staffed.queues.at("billing").service_level() > active.queues.at("billing").service_level());
  CHECK(staffed.agents.at("whatif-1").answered > 0);

  std::string rerouted = kRules;
  rerouted.replace(rerouted.find("queue = \"billing\"\n"), 18, "queue = \"support\"\n");
  auto moved = replay(h, rules_of(rerouted), EngineConfig{}, AgentsEdit{});
  std::size_t billing = 0;
  for (std::size_t i = 0; i < h.cases.size(); ++i) {
    bool is_billing = h.cases[i].posted.type == "billing";
    billing += is_billing ? 1 : 0;
    CHECK((active.queue_of[i] != moved.queue_of[i]) == is_billing);
  }
  CHECK(billing > 20);
}

TEST_CASE("a database from before schema 12 still replays, naming what it estimated",
          "[storage][replay]") {
  // History written by a Baton before the replay columns: an agent, three cases (one
  // answered and resolved, one abandoned, one closed unanswered), then migrated.
  baton::testing::TempDir d;
  REQUIRE(storage::migrate_file(d.db(), 11).value() == 11);
  const std::int64_t t0 = 1'790'000'000'000;
  {
    baton::testing::Peek p(d.db(), true);
    std::string at = std::to_string(t0);
    auto ms = [&](std::int64_t off) { return std::to_string(t0 + off); };
    baton::testing::exec_sql(
        p.db,
        "INSERT INTO workspaces VALUES ('default', 'default', " + at +
            ");"
            "INSERT INTO routing_rules VALUES ('default', 1, '[queues.support]\nteams = "
            "[\"support\"]\n', " +
            at +
            ");"
            "INSERT INTO agents VALUES ('default', 'ana', 'Ana', 'agent', '[\"support\"]', '{}', "
            "'[]', '{\"chat\":1}', 'available', " +
            ms(-3'600'000) + ", 0, " + ms(-7'200'000) + ", " + ms(-3'600'000) +
            ");"
            "INSERT INTO customers (workspace_id, id, name, created_at) VALUES ('default', 1, "
            "'c', " +
            at + ");");
    const char* cols =
        "INSERT INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
        "customer_id, required_skills, tags, suggested_handoffs, attributes, external_ref, "
        "created_at, updated_at, queued_at, arrival, first_accepted_at, resolved_at) VALUES ";
    baton::testing::exec_sql(
        p.db, std::string(cols) +
                  "('default', 1, 'chat', 'support', 'a', 'closed', 2, 'support', 1, " +
                  "'{\"billing\":3}', '[]', '[]', '{}', '', " + ms(60'000) + ", " + ms(400'000) +
                  ", " + ms(60'000) + ", 1, " + ms(70'000) + ", " + ms(370'000) + ")," +
                  "('default', 2, 'chat', 'support', 'b', 'abandoned', 3, 'support', 1, '{}', " +
                  "'[]', '[]', '{}', '', " + ms(120'000) + ", " + ms(165'000) + ", " + ms(120'000) +
                  ", 2, NULL, NULL)," +
                  "('default', 3, 'chat', 'support', 'c', 'closed', 3, 'support', 1, '{}', '[]', " +
                  "'[]', '{}', '', " + ms(180'000) + ", " + ms(900'000) + ", " + ms(180'000) +
                  ", 3, NULL, NULL);" +
                  "INSERT INTO offers VALUES ('default', 1, 1, 'ana', 'accepted', " + ms(62'000) +
                  ", " + ms(92'000) + ", " + ms(70'000) + ", '');");
  }
  REQUIRE(storage::migrate_file(d.db()).value() == storage::latest_schema_version());

  auto h = storage::load_replay_history(d.db(), "default", TimePoint{Duration{t0}},
                                        TimePoint{Duration{t0 + 3'600'000}}, 1000);
  REQUIRE(h.has_value());
  INFO(h->assumptions.size());
  REQUIRE(h->cases.size() == 3);
  // The migration started Ana's history with her state: available since before the window.
  REQUIRE(h->agents.size() == 1);
  CHECK(h->agents[0].presence == Presence::Available);
  // What was posted is not known: the rules decide priority and skills again.
  CHECK(h->cases[0].posted.priority == 0);
  CHECK(h->cases[0].posted.required_skills.empty());
  // Handle time: first acceptance to resolution; the abandoned case leaves after 45 s; the
  // unanswered one takes the window's median handle time.
  CHECK(h->cases[0].handle == Duration{300'000});
  CHECK(h->cases[1].abandoned_after == Duration{45'000});
  CHECK_FALSE(h->cases[2].handle);
  CHECK(h->default_handle == Duration{300'000});
  CHECK(h->accept_delays.at(AgentId("ana")) == std::vector<Duration>{Duration{8'000}});
  auto said = [&](const std::string& words) {
    for (const auto& a : h->assumptions) {
      if (a.find(words) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  CHECK(said("3 cases from before schema 12: priority and skills as the rules give them"));
  CHECK(said("1 cases from before schema 12: handle time taken as first acceptance to resolution"));
  CHECK(
      said("1 cases never handled in history: handle time taken as the window's median, 300.0 s"));
  auto out = replay(h.value(), rules_of("[queues.support]\nteams = [\"support\"]\n"),
                    EngineConfig{}, AgentsEdit{});
  CHECK(out.queues.at("support").cases == 3);
  CHECK(out.queues.at("support").answered >= 2);
}
