// Black-box: what-if replays of history made through the real server. Agents on the stream
// accept after known delays and resolve after known handle times, one goes away and comes
// back, customers who wait too long leave; then POST /v1/routing/simulate replays the
// window under the same rules (close to what was recorded) and under candidates.

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "history_file.h"
#include "temp_dir.h"
#include "ws_client.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;
using baton::testing::TempDir;
using baton::testing::WsClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const char* kRules = R"(
[queues.support]
teams = ["support"]
offer_timeout = "30s"
sla = { answer_within = "1s" }
[queues.billing]
teams = ["billing"]
offer_timeout = "30s"
sla = { answer_within = "1s" }
[[rules]]
name = "billing"
when = 'type == "billing"'
queue = "billing"
)";

std::string agent_json(const std::string& id, const std::string& team) {
  return R"({"id": "agt_)" + id + R"(", "name": ")" + id + R"(", "teams": [")" + team +
         R"("], "capacity": {"chat": 1}})";
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::string_view as_text(const json::value& v) { return v.as_string(); }

// A floor of three agents on the stream and a gateway, played for a few seconds.
struct Floor {
  TempDir dir;
  std::string rules_path = (dir.dir / "routing.toml").string();
  std::unique_ptr<BatonServer> server;
  std::unique_ptr<Caller> sup, gw;
  std::map<std::string, std::unique_ptr<Caller>> agents;
  std::map<std::string, std::unique_ptr<WsClient>> streams;
  std::map<std::string, Clock::duration> delay{{"ana", 150ms}, {"bob", 400ms}, {"cy", 250ms}};
  std::set<std::string> billing_cases, all_cases;
  std::chrono::system_clock::time_point began;
  std::size_t abandoned = 0;

  Floor() {
    std::ofstream(rules_path) << kRules;
    server = std::make_unique<BatonServer>("[routing]\nrules = \"" + rules_path +
                                           "\"\n[engine]\npresence_grace = \"30s\"\n");
    sup = std::make_unique<Caller>(*server, server->token("supervisor"), 300'000);
    gw = std::make_unique<Caller>(*server, server->token("gateway"));
    for (auto [id, team] : {std::pair{"ana", "support"}, {"bob", "support"}, {"cy", "billing"}}) {
      sup->ok(201, "POST", "/v1/agents", agent_json(id, team));
      std::string token = server->token("agent", std::string("agt_") + id);
      agents[id] = std::make_unique<Caller>(*server, token);
      WsClient::Options o;
      o.authorization = "Bearer " + token;
      streams[id] = std::make_unique<WsClient>(server->address(), "/v1/stream", o);
      REQUIRE(streams[id]->ok());
      presence(id, "available");
    }
  }

  void presence(const std::string& id, const char* p) {
    agents.at(id)->ok(200, "PUT", "/v1/agents/agt_" + id + "/presence",
                      std::string(R"({"presence": ")") + p + R"("})");
  }

  // ~45 arrivals over ~9 s, a third billing (one billing agent: overloaded); handle times
  // 0.4–1.2 s; Bob away from 3 s to 5 s; each customer waits at most 0.8–2.5 s.
  void play() {
    enum Kind { Arrive, Accept, Resolve, Leave, Away, Back };
    struct Step {
      Clock::time_point at;
      int kind;
      std::string who, id;
      bool operator>(const Step& o) const { return at > o.at; }
    };
    std::priority_queue<Step, std::vector<Step>, std::greater<>> steps;
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> gap_ms(120, 280), handle_ms(400, 1200),
        patience_ms(800, 2500);
    std::uniform_int_distribution<int> kind(0, 2);
    began = std::chrono::system_clock::now();
    Clock::time_point t0 = Clock::now();
    Clock::time_point t = t0;
    for (int i = 0; i < 45; ++i) {
      t += std::chrono::milliseconds(gap_ms(rng));
      steps.push({t, Arrive, "", ""});
    }
    steps.push({t0 + 3s, Away, "bob", ""});
    steps.push({t0 + 5s, Back, "bob", ""});
    std::set<std::string> taken;
    auto deadline = Clock::now() + 60s;
    // Until every step is done and no accepted case waits for its reply.
    int awaiting = 0;  // accepts sent whose reply has not come
    auto settled = [&] { return steps.empty() && awaiting == 0; };
    while (!settled() && Clock::now() < deadline) {
      // Offers arriving on the streams are answered after the agent's delay.
      for (auto& [id, ws] : streams) {
        while (auto m = ws->next(0ms)) {
          auto v = json::parse(*m).as_object();
          if (v.at("type") == "offer") {
            steps.push({Clock::now() + delay.at(id), Accept, id,
                        std::string(as_text(v.at("data").at("id")))});
          } else if (v.at("type") == "reply") {
            --awaiting;
          }
          if (v.at("type") == "reply" && v.at("data").at("status") == 200) {
            // Accepted: the case is the agent's for its handle time from now.
            std::string case_id = str(v.at("data").at("body").at("case").at("id"));
            taken.insert(case_id);
            steps.push(
                {Clock::now() + std::chrono::milliseconds(handle_ms(rng)), Resolve, id, case_id});
          }
        }
      }
      if (steps.empty()) {
        std::this_thread::sleep_for(2ms);  // a reply on its way
        continue;
      }
      if (steps.top().at > Clock::now()) {
        std::this_thread::sleep_until(std::min(steps.top().at, Clock::now() + 2ms));
        continue;
      }
      Step s = steps.top();
      steps.pop();
      if (s.kind == Arrive) {
        bool billing = kind(rng) == 0;
        auto c = gw->ok(
            201, "POST", "/v1/cases",
            std::string(R"({"channel": "chat", "type": ")") + (billing ? "billing" : "support") +
                R"(", "subject": "help", "body": "please", "customer": {"channel": "chat", "address": "web:)" +
                std::to_string(all_cases.size() % 7) + R"("}})");
        std::string id = str(c.at("id"));
        all_cases.insert(id);
        if (billing) {
          billing_cases.insert(id);
        }
        steps.push({Clock::now() + std::chrono::milliseconds(patience_ms(rng)), Leave, "", id});
      } else if (s.kind == Accept) {
        // The reply comes on the socket (above); an offer revoked meanwhile gets a 409.
        REQUIRE(streams.at(s.who)->send(R"({"type": "accept", "offer_id": ")" + s.id + R"("})"));
        ++awaiting;
      } else if (s.kind == Resolve) {
        agents.at(s.who)->ok(200, "POST", "/v1/cases/" + s.id + "/resolve",
                             R"({"resolution": "done"})");
      } else if (s.kind == Leave) {
        if (taken.count(s.id) == 0) {
          auto r = gw->call("POST", "/v1/cases/" + s.id + "/abandon");
          abandoned += r.status == 200 ? 1 : 0;
        }
      } else {
        presence(s.who, s.kind == Away ? "away" : "available");
      }
    }
    REQUIRE(steps.empty());
  }

  json::object what_if(const std::string& source, const std::string& extra = "") {
    json::object body{{"source", source},
                      {"from", rfc3339(began - 2s)},
                      {"to", rfc3339(std::chrono::system_clock::now() + 2s)}};
    std::string text = json::serialize(body);
    if (!extra.empty()) {
      text.pop_back();
      text += ", " + extra + "}";
    }
    return sup->ok(200, "POST", "/v1/routing/simulate", text);
  }
};

double num(const json::value& v) {
  return v.is_double() ? v.as_double() : static_cast<double>(v.as_int64());
}

}  // namespace

TEST_CASE(
    "what-if: history made over the stream replays close to what was recorded, and "
    "candidates raise a queue's service level or move exactly one type's cases",
    "[api][blackbox][whatif]") {
  Floor f;
  f.play();
  // Nothing is still being worked: every case's end is in the history.
  REQUIRE(f.abandoned > 0);

  auto same = f.what_if(kRules);
  INFO(json::serialize(same));
  CHECK(same.at("cases").as_int64() == static_cast<std::int64_t>(f.all_cases.size()));
  CHECK(same.at("active").at("version").as_int64() >= 1);
  CHECK(same.at("candidate").at("version").is_null());
  CHECK(same.at("moved").as_array().empty());
  for (const char* q : {"support", "billing"}) {
    INFO(q);
    const auto& rec = same.at("recorded").at("queues").at(q);
    const auto& act = same.at("active").at("queues").at(q);
    CHECK(act.at("cases") == rec.at("cases"));
    CHECK(std::abs(num(act.at("service_level")) - num(rec.at("service_level"))) <= 0.02);
    double rp90 = num(rec.at("wait_p90_s")), ap90 = num(act.at("wait_p90_s"));
    CHECK(std::abs(ap90 - rp90) <= 0.10 * rp90);
    // The candidate is the same rule set: the same figures.
    CHECK(same.at("delta").at("queues").at(q).at("service_level").as_double() == 0.0);
  }
  CHECK(num(same.at("recorded").at("queues").at("billing").at("service_level")) < 0.8);

  // Support's agents help billing: billing's service level rises.
  std::string shared = kRules;
  shared.replace(shared.find("teams = [\"billing\"]"), 19, "teams = [\"billing\", \"support\"]");
  auto helped = f.what_if(shared);
  CHECK(num(helped.at("delta").at("queues").at("billing").at("service_level")) > 0.05);

  // Two more billing agents: the same, through the agents block.
  auto staffed = f.what_if(
      kRules,
      R"("agents": {"add": [{"teams": ["billing"], "capacity": {"chat": 1}, "count": 2}]})");
  CHECK(num(staffed.at("delta").at("queues").at("billing").at("service_level")) > 0.05);
  CHECK(staffed.at("candidate").at("agents").as_object().contains("agt_whatif-1"));

  // Billing sent to support: exactly the billing cases move.
  std::string rerouted = kRules;
  rerouted.replace(rerouted.find("queue = \"billing\"\n"), 18, "queue = \"support\"\n");
  auto moved = f.what_if(rerouted);
  std::set<std::string> ids;
  for (const auto& m : moved.at("moved").as_array()) {
    ids.insert(str(m.at("case_id")));
    CHECK(str(m.at("active_queue")) == "billing");
    CHECK(str(m.at("candidate_queue")) == "support");
  }
  CHECK(ids == f.billing_cases);
  CHECK(moved.at("moved_total").as_int64() == static_cast<std::int64_t>(f.billing_cases.size()));
  // It changed nothing: the routing rules are as they were.
  CHECK(str(f.sup->ok(200, "GET", "/v1/routing").at("source")) == kRules);
}

TEST_CASE("what-if: roles and bad requests", "[api][blackbox][whatif]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  sup.ok(201, "POST", "/v1/agents", agent_json("ana", "support"));
  Caller ana(server, server.token("agent", "agt_ana"));
  std::string ok = R"({"source": "[queues.support]\nteams = [\"support\"]\n"})";
  CHECK(gw.call("POST", "/v1/routing/simulate", ok).status == 403);
  CHECK(ana.call("POST", "/v1/routing/simulate", ok).status == 403);
  auto empty = sup.ok(200, "POST", "/v1/routing/simulate", ok);
  CHECK(empty.at("cases").as_int64() == 0);

  auto refused = [&](const std::string& fields, const std::string& field) {
    std::string body =
        fields.starts_with("\"source\"")
            ? "{" + fields + "}"
            : R"({"source": "[queues.support]\nteams = [\"support\"]\n", )" + fields + "}";
    auto r = sup.call("POST", "/v1/routing/simulate", body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 422);
    CHECK(r.body.find("\"" + field) != std::string::npos);
  };
  // A rule set that does not parse: line and column, as PUT /v1/routing.
  auto bad = sup.call("POST", "/v1/routing/simulate",
                      R"({"source": "[[rules]]\nname = \"x\"\nwhen = 'subject ==='\n"})");
  CHECK(bad.status == 422);
  auto errors = json::parse(bad.body).at("errors").as_array();
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].at("line").as_int64() == 3);
  refused(R"("from": "yesterday")", "from");
  refused(R"("from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z")", "to");
  refused(R"("from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z")", "to");
  refused(R"("agents": {"add": [{"teams": ["b"]}]})", "agents.add[0].capacity");
  refused(R"("agents": {"add": [{"teams": ["b"], "capacity": {"chat": 1}, "count": 0}]})",
          "agents.add[0].count");
  refused(R"("agents": {"remove": ["ana"]})", "agents.remove");
  refused(R"("agents": {"hire": 2})", "agents.hire");
  refused(R"("agents": {"add": [{"teams": ["b"], "capacity": {"chat": 1}, "count": 501}]})",
          "agents.add");
  refused(R"("window": "last week")", "window");
}

TEST_CASE("what-if: one at a time per workspace, and /metrics says when one runs",
          "[api][blackbox][whatif]") {
  namespace hf = baton::testing::history_file;
  BatonServer server;
  server.stop(SIGTERM);
  hf::generate(server.db(), 10'000);  // four weeks of history: a replay that takes a while
  server.start();
  Caller sup(server, server.token("supervisor"), 300'000);
  auto running = [&] {
    auto m = sup.call("GET", "/metrics");
    return m.body.find("baton_what_if_running 1\n") != std::string::npos;
  };
  CHECK_FALSE(running());
  json::object body{
      {"source", hf::kRules}, {"from", "2026-01-01T00:00:00Z"}, {"to", "2026-01-29T00:00:00Z"}};
  // The answer is awaited here, checked after the join (a failed check may not throw on
  // another thread).
  std::optional<baton::testing::HttpResponse> first;
  std::thread a([&] {
    baton::testing::HttpClient http(server.address(), 300'000);
    first = http.request(
        "POST", "/v1/routing/simulate", json::serialize(body),
        {{"Authorization", "Bearer " + sup.token}, {"Content-Type", "application/json"}});
  });
  auto until = Clock::now() + 30s;
  while (!running() && Clock::now() < until) {
    std::this_thread::sleep_for(2ms);
  }
  // Unless the first is done already (then there is nothing to refuse).
  bool overlapped = running();
  auto second = sup.call("POST", "/v1/routing/simulate", json::serialize(body));
  a.join();
  REQUIRE(first);
  REQUIRE(first->status == 200);
  CHECK(json::parse(first->body).at("cases").as_int64() == 10'000);
  REQUIRE(overlapped);
  CHECK(second.status == 409);
  CHECK(second.body.find("already running") != std::string::npos);
  CHECK_FALSE(running());
  // Free again: the next one runs.
  CHECK(sup.call("POST", "/v1/routing/simulate", json::serialize(body)).status == 200);
}
