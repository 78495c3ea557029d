// Black-box tests of GET /v1/stream: the real `baton serve`, real WebSocket clients.

#include <fstream>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "temp_dir.h"
#include "ws_client.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::HttpClient;
using baton::testing::str;
using baton::testing::TempDir;
using baton::testing::WsClient;
using namespace std::chrono_literals;

namespace {

// Offers lapse after a second, so the time-out path runs in a test's time.
const char* kQuickRules = R"(default_queue = "support"
[queues.support]
teams = ["support"]
offer_timeout = "1s"
sla = { target = 0.8, answer_within = "20s" }
[[rules]]
name = "all"
when = 'true'
queue = "support"
)";

std::string agent_json(const std::string& id, int chat) {
  return R"({"id": "agt_)" + id + R"(", "name": ")" + id +
         R"(", "role": "agent", "teams": ["support"], "capacity": {"chat": )" +
         std::to_string(chat) + R"(, "email": 1, "voice": 0}})";
}

std::string chat_case(const std::string& subject) {
  return R"({"channel": "chat", "subject": ")" + subject +
         R"(", "customer": {"channel": "chat", "address": "web:)" + subject + R"("}})";
}

// A server with quick offer time-outs and a short presence grace, and its callers.
struct Floor {
  TempDir dir;
  std::string rules = (dir.dir / "routing.toml").string();
  std::unique_ptr<BatonServer> server;
  std::unique_ptr<Caller> sup, gw;

  explicit Floor(const std::string& extra = "") {
    std::ofstream(rules) << kQuickRules;
    server = std::make_unique<BatonServer>("[routing]\nrules = \"" + rules +
                                           "\"\n"
                                           "[engine]\npresence_grace = \"1s\"\n"
                                           "[stream]\nqueue_stats_interval = \"200ms\"\n" +
                                           extra);
    sup = std::make_unique<Caller>(*server, server->token("supervisor"));
    gw = std::make_unique<Caller>(*server, server->token("gateway"));
  }

  // An agent with a token, available.
  std::string agent(const std::string& id, int chat = 2) {
    sup->ok(201, "POST", "/v1/agents", agent_json(id, chat));
    std::string token = server->token("agent", "agt_" + id);
    Caller(*server, token)
        .ok(200, "PUT", "/v1/agents/agt_" + id + "/presence", R"({"presence": "available"})");
    return token;
  }

  std::unique_ptr<WsClient> stream(const std::string& token, bool stalled = false) {
    WsClient::Options o;
    o.authorization = "Bearer " + token;
    o.stalled = stalled;
    auto ws = std::make_unique<WsClient>(server->address(), "/v1/stream", o);
    INFO(ws->error());
    REQUIRE(ws->ok());
    return ws;
  }
};

}  // namespace

TEST_CASE("stream: an offer arrives, the agent accepts on the socket, the case follows",
          "[api][stream][blackbox]") {
  Floor f;
  std::string ana_token = f.agent("ana", 1);
  auto ana = f.stream(ana_token);
  // A supervisor's stream, with the token in the query as a browser would send it.
  WsClient::Options so;
  WsClient sup(f.server->address(), "/v1/stream?access_token=" + f.server->token("supervisor"), so);
  REQUIRE(sup.ok());

  std::string id = str(f.gw->ok(201, "POST", "/v1/cases", chat_case("refund")).at("id"));
  auto offer = ana->next_of("offer");
  REQUIRE(offer);
  const auto& data = offer->at("data").as_object();
  CHECK(str(data.at("case_id")) == id);
  CHECK(str(data.at("status")) == "pending");
  CHECK(str(data.at("agent_id")) == "agt_ana");
  CHECK(str(data.at("case").at("id")) == id);
  CHECK(str(data.at("case").at("status")) == "offered");

  REQUIRE(ana->send(R"({"type": "accept", "offer_id": ")" + str(data.at("id")) + R"("})"));
  // The answer, and the case assigned on the agent's own stream (in either order: the
  // push leaves at the commit, the answer right after it).
  std::optional<json::object> reply, mine;
  while (!reply || !mine) {
    auto m = ana->next();
    REQUIRE(m);
    auto v = json::parse(*m).as_object();
    if (v.at("type") == "reply") {
      reply = v;
    } else if (v.at("type") == "case_updated") {
      mine = v;
    }
  }
  INFO(json::serialize(*reply));
  CHECK(reply->at("data").at("status").as_int64() == 200);
  CHECK(str(reply->at("data").at("body").at("case").at("status")) == "assigned");
  CHECK(str(mine->at("data").at("status")) == "assigned");
  bool seen_assigned = false;
  for (int i = 0; i < 10 && !seen_assigned; ++i) {
    auto u = sup.next_of("case_updated", 3s);
    REQUIRE(u);
    seen_assigned = str(u->at("data").at("id")) == id &&
                    str(u->at("data").at("status")) == "assigned" &&
                    str(u->at("data").at("assignee")) == "agt_ana";
  }
  CHECK(seen_assigned);
  // Supervisors get the queues every queue_stats_interval.
  auto stats = sup.next_of("queue_stats", 3s);
  REQUIRE(stats);
  CHECK(str(stats->at("data").at("queues").at(0).at("name")) == "support");

  // The same offer again, on the socket: 409 as over HTTP; nonsense gets an error.
  REQUIRE(ana->send(R"({"type": "accept", "offer_id": ")" + str(data.at("id")) + R"("})"));
  auto again = ana->next_of("reply");
  REQUIRE(again);
  CHECK(again->at("data").at("status").as_int64() == 409);
  REQUIRE(ana->send(R"({"type": "dance"})"));
  CHECK(ana->next_of("error"));
  // The HTTP view agrees with what the stream said.
  Caller ana_http(*f.server, ana_token);
  CHECK(str(ana_http.ok(200, "GET", "/v1/cases/" + id).at("status")) == "assigned");
  // A handoff reaches the agent who made it and the supervisors.
  auto h = ana_http.ok(
      201, "POST", "/v1/cases/" + id + "/handoffs",
      R"({"to": "team:support", "reason": "technical", "note": "needs a second look"})");
  auto mine_h = ana->next_of("handoff");
  REQUIRE(mine_h);
  CHECK(str(mine_h->at("data").at("id")) == str(h.at("id")));
  auto sup_h = sup.next_of("handoff");
  REQUIRE(sup_h);
  CHECK(str(sup_h->at("data").at("reason")) == "technical");
}

TEST_CASE("stream: an offer nobody answers times out and goes to the next agent",
          "[api][stream][blackbox]") {
  Floor f;
  auto ana = f.stream(f.agent("ana", 1));
  std::string id = str(f.gw->ok(201, "POST", "/v1/cases", chat_case("lapse")).at("id"));
  auto first = ana->next_of("offer");
  REQUIRE(first);
  // Jin comes online while Ana lets the offer lapse.
  auto jin = f.stream(f.agent("jin", 1));
  auto revoked = ana->next_of("offer_revoked", 5s);
  REQUIRE(revoked);
  CHECK(str(revoked->at("data").at("status")) == "timed_out");
  CHECK(str(revoked->at("data").at("case_id")) == id);
  auto second = jin->next_of("offer", 5s);
  REQUIRE(second);
  CHECK(str(second->at("data").at("case_id")) == id);
  // Jin declines on the socket: the answer says so, and the case waits for someone else.
  REQUIRE(jin->send(R"({"type": "decline", "offer_id": ")" + str(second->at("data").at("id")) +
                    R"(", "reason": "not my language"})"));
  auto declined = jin->next_of("reply");
  REQUIRE(declined);
  CHECK(declined->at("data").at("status").as_int64() == 200);
  CHECK(str(declined->at("data").at("body").at("status")) == "declined");
  CHECK(str(f.sup->ok(200, "GET", "/v1/cases/" + id).at("status")) == "queued");
  // Ana is excluded from this case: it never comes back to her.
  auto routing = f.sup->ok(200, "GET", "/v1/cases/" + id + "/routing");
  CHECK(json::serialize(routing).find("declined") != std::string::npos);
}

TEST_CASE("stream: a reconnect gets the pending offer, and a stream gone past the grace sets away",
          "[api][stream][blackbox]") {
  Floor f;
  std::string token = f.agent("ana", 1);
  std::string bob_token = f.agent("bob", 0);  // takes no chats: a second clock, no offers
  std::string offer_id;
  {
    auto ana = f.stream(token);
    f.gw->ok(201, "POST", "/v1/cases", chat_case("reconnect"));
    auto offer = ana->next_of("offer");
    REQUIRE(offer);
    offer_id = str(offer->at("data").at("id"));
    ana->close();  // the network drops
  }
  {
    auto ana = f.stream(token);
    auto again = ana->next_of("offer", 2s);
    REQUIRE(again);
    CHECK(str(again->at("data").at("id")) == offer_id);
    // Reconnected within the grace: still available once the grace is past. Bob's stream
    // drops after Ana's did, so his grace ends after hers would have: when he is away, a
    // grace of Ana's that the reconnect failed to cancel would have fired.
    auto bob = f.stream(bob_token);
    bob->close();
    bool bob_away = false;
    for (int i = 0; i < 250 && !bob_away; ++i) {
      bob_away = str(f.sup->ok(200, "GET", "/v1/agents/agt_bob").at("presence")) == "away";
      if (!bob_away) {
        std::this_thread::sleep_for(20ms);
      }
    }
    REQUIRE(bob_away);
    CHECK(str(f.sup->ok(200, "GET", "/v1/agents/agt_ana").at("presence")) == "available");
  }
  // Gone for longer than the grace: away, and the offer is revoked.
  bool away = false;
  for (int i = 0; i < 50 && !away; ++i) {
    std::this_thread::sleep_for(100ms);
    away = str(f.sup->ok(200, "GET", "/v1/agents/agt_ana").at("presence")) == "away";
  }
  CHECK(away);
  auto offer = f.sup->ok(200, "GET", "/v1/offers/" + offer_id);
  CHECK(str(offer.at("status")) != "pending");
}

TEST_CASE("stream: a client that stops reading is dropped while the others keep receiving",
          "[api][stream][blackbox]") {
  // A healthy client takes a burst of 100 at once; one that stops reading falls behind by
  // more than the queue holds and is dropped.
  Floor f("send_queue = 150\nsocket_buffer = 4096\n");
  std::string sup_token = f.server->token("supervisor");
  auto slow = f.stream(sup_token, /*stalled=*/true);
  auto good = f.stream(sup_token);

  constexpr int kBursts = 10, kPerBurst = 100;
  HttpClient http(f.server->address());
  std::set<std::string> seen;
  for (int b = 0; b < kBursts; ++b) {
    // Pipelined, so each burst's cases are committed and pushed together.
    std::string burst;
    for (int i = 0; i < kPerBurst; ++i) {
      burst += HttpClient::format(
          "POST", "/v1/cases", chat_case("slow-" + std::to_string(b * kPerBurst + i)),
          {{"Authorization", "Bearer " + f.gw->token}, {"Content-Type", "application/json"}});
    }
    REQUIRE(http.send_raw(burst));
    for (int i = 0; i < kPerBurst; ++i) {
      auto a = http.read_response();
      REQUIRE(a);
      REQUIRE(a->status == 201);
    }
    while (seen.size() < static_cast<std::size_t>((b + 1) * kPerBurst)) {
      auto u = good->next_of("case_updated", 5s);
      REQUIRE(u);
      seen.insert(str(u->at("data").at("id")));
    }
  }
  CHECK(seen.size() == kBursts * kPerBurst);
  CHECK_FALSE(good->closed());
  auto metrics = f.sup->call("GET", "/metrics");
  CHECK(metrics.body.find("baton_stream_dropped_total 1") != std::string::npos);
  CHECK(f.server->log_text().find("stream client dropped") != std::string::npos);
  // Reading again, the slow client finds what was on the wire, then the end of its stream.
  slow->resume();
  CHECK(slow->closed(5s));
}

TEST_CASE("stream: a client that stops reading is dropped when its queue is full in bytes",
          "[api][stream][blackbox]") {
  // Room for 10,000 messages but 64 KiB: a few cases with long bodies fill it.
  Floor f("send_queue = 10000\nsend_queue_bytes = 65536\nsocket_buffer = 4096\n");
  std::string sup_token = f.server->token("supervisor");
  auto slow = f.stream(sup_token, /*stalled=*/true);
  auto good = f.stream(sup_token);
  // Each case carries ~32 KB of attributes, which every case_updated repeats.
  json::object attributes;
  for (int k = 0; k < 8; ++k) {
    attributes["a" + std::to_string(k)] = std::string(4000, 'x');
  }
  std::set<std::string> seen;
  bool dropped = false;
  // Bounded: 64 KiB is two of these cases (and the sockets' buffers a few more).
  for (int i = 0; i < 200 && !dropped; ++i) {
    auto c = f.gw->ok(
        201, "POST", "/v1/cases",
        json::serialize(json::object{
            {"channel", "email"},
            {"subject", "long-" + std::to_string(i)},
            {"attributes", attributes},
            {"customer", json::object{{"channel", "email"}, {"address", "l@example.com"}}}}));
    while (seen.count(str(c.at("id"))) == 0) {
      auto u = good->next_of("case_updated", 5s);
      REQUIRE(u);
      seen.insert(str(u->at("data").at("id")));
    }
    dropped = f.sup->call("GET", "/metrics").body.find("baton_stream_dropped_total 1") !=
              std::string::npos;
  }
  CHECK(dropped);
  CHECK(seen.size() < 200);
  CHECK_FALSE(good->closed());
  CHECK(f.server->log_text().find("\"queued_bytes\":") != std::string::npos);
}

TEST_CASE("stream: refused without a token, to a gateway, and without an upgrade",
          "[api][stream][blackbox]") {
  Floor f;
  WsClient none(f.server->address(), "/v1/stream", {});
  CHECK_FALSE(none.ok());
  CHECK(none.status() == 401);
  WsClient::Options gw;
  gw.authorization = "Bearer " + f.gw->token;
  WsClient gateway(f.server->address(), "/v1/stream", gw);
  CHECK_FALSE(gateway.ok());
  CHECK(gateway.status() == 403);
  auto plain = f.sup->call("GET", "/v1/stream");
  CHECK(plain.status == 426);
  CHECK(plain.header("content-type") == "application/problem+json");
  // A message larger than stream.message_bytes closes the stream.
  auto ws = f.stream(f.sup->token);
  REQUIRE(ws->send(std::string(8192, 'x')));
  CHECK(ws->closed(5s));
}

TEST_CASE("stream: pings keep a reading client connected, a silent one is closed at idle_timeout",
          "[api][stream][blackbox]") {
  Floor f("idle_timeout = \"1s\"\n");
  std::string token = f.server->token("supervisor");
  auto live = f.stream(token);
  auto dead = f.stream(token, /*stalled=*/true);  // never reads, so never answers a ping
  auto open_streams = [&] {
    auto body = f.sup->call("GET", "/metrics").body;
    auto at = body.find("\nbaton_stream_connections ");
    REQUIRE(at != std::string::npos);
    return std::stoi(body.substr(at + 26));
  };
  auto start = std::chrono::steady_clock::now();
  // The silent one goes at its idle time-out...
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = open_streams() == 1;
    if (!closed) {
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(closed);
  // ... while the reading one, answering pings, keeps getting pushes for three idle periods.
  while (std::chrono::steady_clock::now() - start < 3s) {
    REQUIRE(live->next_of("queue_stats", 2s));
  }
  CHECK_FALSE(live->closed());
  CHECK(open_streams() == 1);
}

TEST_CASE("stream: a server stopped with streams open exits cleanly and closes them",
          "[api][stream][blackbox]") {
  Floor f;
  auto ana = f.stream(f.agent("ana", 1));
  auto sup = f.stream(f.sup->token);
  f.gw->ok(201, "POST", "/v1/cases", chat_case("at closing time"));
  REQUIRE(ana->next_of("offer"));
  CHECK(f.server->stop(SIGTERM) == 0);
  CHECK(ana->closed(5s));
  CHECK(sup->closed(5s));
  CHECK(f.server->log_text().find(R"("clean":true)") != std::string::npos);
}

TEST_CASE(
    "[regress] an offered agent may accept or decline but not change the case, and a case "
    "transferred away stops reaching its old agent's stream",
    "[api][stream][blackbox][regress]") {
  Floor f;
  std::string ana_token = f.agent("ana", 1);
  Caller ana(*f.server, ana_token);
  auto ana_ws = f.stream(ana_token);
  f.gw->ok(201, "POST", "/v1/cases", chat_case("offered"));
  auto offer = ana_ws->next_of("offer");
  REQUIRE(offer);
  std::string id = str(offer->at("data").at("case_id"));
  std::string offer_id = str(offer->at("data").at("id"));

  // Offered: Ana reads the case to decide, and changes nothing of it.
  ana.ok(200, "GET", "/v1/cases/" + id);
  auto events_before =
      f.sup->ok(200, "GET", "/v1/cases/" + id + "/events").at("data").as_array().size();
  for (const auto& [verb, body] : std::vector<std::pair<std::string, std::string>>{
           {"messages", R"({"direction":"out","body":"hi"})"},
           {"notes", R"({"body":"n"})"},
           {"resolve", "{}"},
           {"transfer", R"({"to_queue":"support"})"}}) {
    auto r = ana.call("POST", "/v1/cases/" + id + "/" + verb, body);
    INFO(verb << " -> " << r.body);
    CHECK(r.status == 409);
  }
  auto untouched = f.sup->ok(200, "GET", "/v1/cases/" + id);
  CHECK(str(untouched.at("status")) == "offered");
  CHECK(f.sup->ok(200, "GET", "/v1/cases/" + id + "/events").at("data").as_array().size() ==
        events_before);
  // Accepted: now it is hers to change.
  ana.ok(200, "POST", "/v1/offers/" + offer_id + "/accept");
  ana.ok(201, "POST", "/v1/cases/" + id + "/notes", R"({"body":"mine now"})");

  // Transferred to Bo: Ana's stream hears that it left her, then nothing more of it.
  f.agent("bo", 1);
  f.sup->ok(200, "POST", "/v1/cases/" + id + "/transfer", R"({"to_agent":"agt_bo"})");
  bool told = false;
  while (!told) {
    auto m = ana_ws->next_of("case_updated", 5s);
    REQUIRE(m);
    const auto& data = m->at("data").as_object();
    told =
        str(data.at("id")) == id && (!data.contains("assignee") || data.at("assignee").is_null() ||
                                     str(data.at("assignee")) != "agt_ana");
  }
  f.sup->ok(201, "POST", "/v1/cases/" + id + "/notes", R"({"body":"after the transfer"})");
  // A marker Ana does get: a new case offered to her (commits reach a stream in order, so
  // anything of the old case would have come before it).
  f.gw->ok(201, "POST", "/v1/cases", chat_case("marker"));
  while (true) {
    auto m = ana_ws->next(10s);
    REQUIRE(m);
    auto v = json::parse(*m).as_object();
    std::string type = str(v.at("type"));
    if (type == "offer") {
      CHECK(str(v.at("data").at("case").at("subject")) == "marker");
      break;
    }
    if (type == "case_updated") {
      CHECK(str(v.at("data").at("id")) != id);
    }
  }
}
