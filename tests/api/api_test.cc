// Black-box tests of API v1: the real `baton serve` on a free loopback port with a temp
// database, driven over HTTP as gateways, agents and supervisors would.

#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "http_client.h"
#include "sqlite_peek.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::HttpClient;
using baton::testing::HttpResponse;

namespace {

json::object problem_of(const HttpResponse& r) {
  INFO(r.body);
  CHECK(r.header("content-type") == "application/problem+json");
  auto o = json::parse(r.body).as_object();
  CHECK(o.at("status").as_int64() == r.status);
  CHECK(o.contains("title"));
  CHECK(o.contains("detail"));
  return o;
}

// The fields named by a problem's `errors`.
std::set<std::string> fields_of(const HttpResponse& r) {
  std::set<std::string> out;
  auto o = problem_of(r);
  if (o.contains("errors")) {
    for (const auto& e : o.at("errors").as_array()) {
      out.insert(std::string(e.at("field").as_string()));
    }
  }
  return out;
}

using baton::testing::str;

const char* kAna =
    R"({"id": "agt_ana", "name": "Ana Kim", "role": "agent", "teams": ["support"],
        "skills": {"billing": 7, "korean": 10}, "languages": ["ko", "en"],
        "capacity": {"chat": 3, "email": 5, "voice": 1}})";

std::string chat_case(const std::string& subject, const std::string& address = "web:8812") {
  return R"({"channel": "chat", "type": "support", "subject": ")" + subject +
         R"(", "body": "첫 메시지", "customer": {"channel": "chat", "address": ")" + address +
         R"(", "name": "Minji Lee"}, "attributes": {"order_id": "A-1001"}, "external_ref": "zd-55"})";
}

}  // namespace

TEST_CASE("the whole path: available, case, offer, accept, messages, resolve, close, csat",
          "[api][blackbox]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  Caller ana(server, server.token("agent", "agt_ana"));

  auto agent = sup.ok(201, "POST", "/v1/agents", kAna);
  CHECK(str(agent.at("presence")) == "offline");
  CHECK(agent.at("load").as_object().at("chat").as_int64() == 0);
  CHECK(agent.at("capacity").as_object().at("email").as_int64() == 5);
  // A second agent with the same id is a conflict.
  CHECK(sup.call("POST", "/v1/agents", kAna).status == 409);

  auto avail = ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  CHECK(str(avail.at("presence")) == "available");

  auto kase = gw.ok(201, "POST", "/v1/cases", chat_case("환불 요청"));
  std::string id = str(kase.at("id"));
  CHECK(id.starts_with("case_"));
  CHECK(str(kase.at("status")) == "offered");
  CHECK(str(kase.at("queue")) == "support");
  CHECK(kase.at("priority").as_int64() == 3);
  CHECK(str(kase.at("customer_id")).starts_with("cus_"));
  CHECK(kase.at("sla").as_object().contains("first_response_due"));

  // The agent polls its pending offers and accepts.
  auto offers = ana.ok(200, "GET", "/v1/offers?agent=agt_ana&status=pending");
  REQUIRE(offers.at("data").as_array().size() == 1);
  auto offer = offers.at("data").as_array()[0].as_object();
  CHECK(str(offer.at("case_id")) == id);
  CHECK(str(offer.at("status")) == "pending");
  std::string off = str(offer.at("id"));
  auto accepted = ana.ok(200, "POST", "/v1/offers/" + off + "/accept");
  CHECK(str(accepted.at("offer").at("status")) == "accepted");
  CHECK(str(accepted.at("case").at("status")) == "assigned");
  CHECK(str(accepted.at("case").at("assignee")) == "agt_ana");
  // Accepting again: the offer is no longer pending.
  CHECK(problem_of(ana.call("POST", "/v1/offers/" + off + "/accept")).at("status") == 409);
  CHECK(ana.ok(200, "GET", "/v1/agents/agt_ana").at("load").at("chat").as_int64() == 1);

  ana.ok(201, "POST", "/v1/cases/" + id + "/messages",
         R"({"direction": "out", "body": "확인했습니다"})");
  gw.ok(201, "POST", "/v1/cases/" + id + "/messages",
        R"({"direction": "in", "body": "감사합니다"})");
  ana.ok(201, "POST", "/v1/cases/" + id + "/notes", R"({"body": "refund approved"})");
  auto resolved =
      ana.ok(200, "POST", "/v1/cases/" + id + "/resolve", R"({"resolution": "refunded"})");
  CHECK(str(resolved.at("status")) == "resolved");
  auto closed = ana.ok(200, "POST", "/v1/cases/" + id + "/close", "{}");
  CHECK(str(closed.at("status")) == "closed");
  gw.ok(201, "POST", "/v1/cases/" + id + "/csat", R"({"score": 5, "comment": "빠르네요"})");
  // A closed case takes no more changes.
  CHECK(problem_of(ana.call("POST", "/v1/cases/" + id + "/resolve", "{}")).at("status") == 409);

  CHECK(str(gw.ok(200, "GET", "/v1/cases/" + id).at("status")) == "closed");
  auto events = sup.ok(200, "GET", "/v1/cases/" + id + "/events?limit=500");
  std::vector<std::string> types;
  for (const auto& e : events.at("data").as_array()) {
    types.push_back(str(e.at("type")));
    CHECK(str(e.at("id")).starts_with("evt_"));
    CHECK(e.as_object().contains("at"));
    CHECK(e.as_object().contains("actor"));
  }
  auto pos = [&](const std::string& t) {
    return std::find(types.begin(), types.end(), t) - types.begin();
  };
  for (const char* t : {"created", "message_in", "routed", "offered", "accepted", "assigned",
                        "message_out", "note", "status_changed", "csat"}) {
    INFO(t);
    CHECK(pos(t) < static_cast<long>(types.size()));
  }
  CHECK(pos("created") < pos("offered"));
  CHECK(pos("offered") < pos("accepted"));
  CHECK(pos("accepted") < pos("message_out"));
  CHECK(pos("note") < pos("csat"));

  // Why the case went where it went.
  auto routing = ana.ok(200, "GET", "/v1/cases/" + id + "/routing");
  REQUIRE(routing.at("data").as_array().size() >= 1);
  auto decision = routing.at("data").as_array()[0].as_object();
  CHECK(str(decision.at("queue")) == "support");
  CHECK(str(decision.at("chosen")) == "agt_ana");
  CHECK(str(decision.at("why")).starts_with("longest idle"));
  CHECK(str(decision.at("candidates").as_array()[0].at("agent")) == "agt_ana");

  // The customer's timeline holds this case's events, newest first, with type and channel.
  auto timeline = ana.ok(200, "GET", "/v1/customers/" + str(kase.at("customer_id")) + "/timeline");
  auto items = timeline.at("data").as_array();
  REQUIRE(items.size() == events.at("data").as_array().size());
  CHECK(str(items[0].at("type")) == "csat");
  CHECK(str(items[0].at("case_type")) == "support");
  CHECK(str(items[0].at("channel")) == "chat");
}

TEST_CASE("tokens: 401 without, 403 for the wrong role, 404 for what a token may not see",
          "[api][blackbox][auth]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller gw1(server, server.token("gateway"));
  Caller gw2(server, server.token("gateway"));
  Caller ana(server, server.token("agent", "agt_ana"));
  Caller bo(server, server.token("agent", "agt_bo"));
  Caller nobody(server, "");
  Caller forged(server, "btn_0000");

  auto r = nobody.call("GET", "/v1/cases");
  CHECK(r.status == 401);
  CHECK(r.header("www-authenticate") == "Bearer");
  problem_of(r);
  CHECK(forged.call("GET", "/v1/cases").status == 401);
  // Health needs no token.
  CHECK(nobody.call("GET", "/healthz").status == 200);
  CHECK(nobody.call("GET", "/readyz").status == 200);
  auto metrics = nobody.call("GET", "/metrics");  // from loopback
  CHECK(metrics.status == 200);
  {
    // The server's tables are sized for engine.expected_open_cases (200,000 by default).
    auto at = metrics.body.find("\nbaton_cases_capacity ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(metrics.body.substr(at + 22)) >= 200'000);
  }

  // Wrong role.
  CHECK(problem_of(gw1.call("POST", "/v1/agents", kAna)).at("status") == 403);
  CHECK(ana.call("GET", "/v1/routing").status == 403);
  CHECK(gw1.call("GET", "/v1/offers").status == 403);

  sup.ok(201, "POST", "/v1/agents", kAna);
  sup.ok(201, "POST", "/v1/agents",
         R"({"id": "agt_bo", "name": "Bo", "teams": ["support"], "capacity": {"chat": 1}})");
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  // An agent sets only its own presence.
  CHECK(ana.call("PUT", "/v1/agents/agt_bo/presence", R"({"presence": "available"})").status ==
        404);

  auto kase = gw1.ok(201, "POST", "/v1/cases", chat_case("mine"));
  std::string id = str(kase.at("id"));
  // The other gateway and the other agent do not see it; existence does not leak.
  CHECK(gw2.call("GET", "/v1/cases/" + id).status == 404);
  CHECK(bo.call("GET", "/v1/cases/" + id).status == 404);
  CHECK(bo.call("POST", "/v1/cases/" + id + "/notes", R"({"body": "x"})").status == 404);
  CHECK(gw2.ok(200, "GET", "/v1/cases").at("data").as_array().empty());
  CHECK(gw1.ok(200, "GET", "/v1/cases").at("data").as_array().size() == 1);
  // Ana holds its offer, so she sees it. [regress] Bo asking for Ana's offers is a 404 (it
  // was a 200 with an empty list): what a token may not see is not found.
  CHECK(ana.call("GET", "/v1/cases/" + id).status == 200);
  CHECK(bo.call("GET", "/v1/offers?agent=agt_ana").status == 404);
  CHECK(bo.ok(200, "GET", "/v1/offers?agent=agt_bo").at("data").as_array().empty());
  auto off = str(kase.at("offer_id"));
  CHECK(bo.call("POST", "/v1/offers/" + off + "/accept").status == 404);
  CHECK(sup.call("GET", "/v1/cases/" + id).status == 200);
}

TEST_CASE("bad input: 400, 422 naming each field, 404, 409, and nothing written",
          "[api][blackbox][errors]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));

  // Malformed JSON.
  auto r = sup.call("POST", "/v1/cases", R"({"channel": )");
  CHECK(r.status == 400);
  problem_of(r);
  // Valid JSON, not an object.
  CHECK(sup.call("POST", "/v1/cases", "[1, 2]").status == 422);
  // Every broken field is named at once.
  r = sup.call("POST", "/v1/cases",
               R"({"channel": "fax", "priority": 9, "required_skills": {"billing": 11},
                   "customer": {"channel": "chat"}, "attributes": {"x": [1]}})");
  CHECK(r.status == 422);
  CHECK(fields_of(r) == std::set<std::string>{"channel", "priority", "required_skills.billing",
                                              "customer.address", "attributes.x"});
  CHECK(fields_of(sup.call("POST", "/v1/cases", R"({"channel": "chat"})")) ==
        std::set<std::string>{"customer"});
  CHECK(fields_of(sup.call("POST", "/v1/cases",
                           R"({"channel": "chat", "customer": {"id": "cus_000000000z"}})")) ==
        std::set<std::string>{"customer.id"});
  CHECK(fields_of(sup.call("POST", "/v1/agents",
                           R"({"id": "agt_UPPER", "name": "", "capacity": {"fax": 1}})"))
            .count("capacity.fax") == 1);
  CHECK(fields_of(sup.call("POST", "/v1/agents", R"({"id": "ana", "name": "A"})")) ==
        std::set<std::string>{"id"});
  CHECK(fields_of(sup.call("POST", "/v1/accounts", R"({"tier": "gold"})")) ==
        std::set<std::string>{"name"});
  CHECK(sup.call("POST", "/v1/cases",
                 R"({"channel": "chat", "customer": {"channel": "chat", "address": "a"}})",
                 {{"Content-Type", "text/plain"}})
            .status == 415);

  // Lists: limit and cursor.
  CHECK(fields_of(sup.call("GET", "/v1/cases?limit=0")) == std::set<std::string>{"limit"});
  CHECK(sup.call("GET", "/v1/cases?limit=501").status == 422);
  CHECK(fields_of(sup.call("GET", "/v1/cases?cursor=zz")) == std::set<std::string>{"cursor"});
  CHECK(fields_of(sup.call("GET", "/v1/cases?status=lost")) == std::set<std::string>{"status"});

  // Unknown ids and endpoints.
  CHECK(sup.call("GET", "/v1/cases/case_00000000zz").status == 404);
  CHECK(sup.call("GET", "/v1/cases/42").status == 404);
  CHECK(sup.call("POST", "/v1/offers/off_0000000009/accept").status == 404);
  CHECK(sup.call("GET", "/v1/nothing").status == 404);
  CHECK(sup.call("DELETE", "/v1/cases").status == 405);

  // A state change the status forbids: reopen a queued case.
  auto kase = sup.ok(201, "POST", "/v1/cases", chat_case("q"));
  r = sup.call("POST", "/v1/cases/" + str(kase.at("id")) + "/reopen");
  CHECK(r.status == 409);
  problem_of(r);

  // Nothing of the refused requests was written: one case, no agents, no accounts.
  baton::testing::Peek db(server.db());
  CHECK(db.count("SELECT count(*) FROM cases") == 1);
  CHECK(db.count("SELECT count(*) FROM agents") == 0);
  CHECK(db.count("SELECT count(*) FROM accounts") == 0);
}

TEST_CASE("Idempotency-Key: a retry gets the first answer, also after a restart",
          "[api][blackbox][idempotency]") {
  BatonServer server;
  Caller gw(server, server.token("gateway"));
  std::string body = chat_case("retry me");
  auto first = gw.call("POST", "/v1/cases", body, {{"Idempotency-Key", "k-1"}});
  REQUIRE(first.status == 201);
  auto again = gw.call("POST", "/v1/cases", body, {{"Idempotency-Key", "k-1"}});
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  // Same key, other body.
  auto other = gw.call("POST", "/v1/cases", chat_case("other"), {{"Idempotency-Key", "k-1"}});
  CHECK(other.status == 422);
  CHECK(fields_of(other) == std::set<std::string>{"Idempotency-Key"});
  // Another token's same key is its own.
  Caller gw2(server, server.token("gateway"));
  CHECK(gw2.call("POST", "/v1/cases", body, {{"Idempotency-Key", "k-1"}}).body != first.body);

  // Two at once on one connection: the second finds the first in flight or done, and
  // either way the command runs once.
  std::string pipelined;
  for (int i = 0; i < 2; ++i) {
    pipelined += HttpClient::format("POST", "/v1/cases", chat_case("twice"),
                                    {{"Authorization", "Bearer " + gw.token},
                                     {"Content-Type", "application/json"},
                                     {"Idempotency-Key", "k-2"}});
  }
  REQUIRE(gw.http.send_raw(pipelined));
  auto a = gw.http.read_response();
  auto b = gw.http.read_response();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->status == 201);
  CHECK((b->status == 409 || b->body == a->body));

  // The stored answer survives a restart.
  REQUIRE(server.stop(SIGTERM) == 0);
  server.start();
  Caller gw_after(server, gw.token);
  auto after = gw_after.call("POST", "/v1/cases", body, {{"Idempotency-Key", "k-1"}});
  CHECK(after.status == 201);
  CHECK(after.body == first.body);
  baton::testing::Peek db(server.db());
  CHECK(db.count("SELECT count(*) FROM cases WHERE subject = 'retry me'") == 2);  // gw and gw2
  CHECK(db.count("SELECT count(*) FROM cases WHERE subject = 'twice'") == 1);
}

TEST_CASE("routing rules: ETag, If-Match, 428, 412, 422 at line and column",
          "[api][blackbox][rules]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  auto get = sup.call("GET", "/v1/routing");
  REQUIRE(get.status == 200);
  CHECK(get.header("etag") == "\"v1\"");
  auto current = json::parse(get.body).as_object();
  CHECK(current.at("version").as_int64() == 1);
  std::string source = str(current.at("source"));

  std::string changed =
      source + "\n[[rules]]\nname = \"vip\"\nwhen = 'subject matches \"(?i)vip\"'\npriority = 1\n";
  std::string body = json::serialize(json::object{{"source", changed}});
  CHECK(sup.call("PUT", "/v1/routing", body).status == 428);
  CHECK(sup.call("PUT", "/v1/routing", body, {{"If-Match", "\"v7\""}}).status == 412);
  auto bad = sup.call(
      "PUT", "/v1/routing",
      json::serialize(json::object{{"source", "[[rules]]\nname = \"x\"\nwhen = 'subject ==='\n"}}),
      {{"If-Match", "\"v1\""}});
  CHECK(bad.status == 422);
  auto errors = problem_of(bad).at("errors").as_array();
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].as_object().at("line").as_int64() == 3);
  CHECK(errors[0].as_object().contains("column"));

  auto put = sup.call("PUT", "/v1/routing", body, {{"If-Match", "\"v1\""}});
  CHECK(put.status == 200);
  CHECK(put.header("etag") == "\"v2\"");
  // The same source again keeps the version.
  auto same = sup.call("PUT", "/v1/routing", body, {{"If-Match", "\"v2\""}});
  CHECK(same.header("etag") == "\"v2\"");
  // A stale ETag after the change.
  CHECK(sup.call("PUT", "/v1/routing", body, {{"If-Match", "\"v1\""}}).status == 412);

  CHECK(sup.call("POST", "/v1/routing/validate", body).status == 200);
  CHECK(sup.call("POST", "/v1/routing/validate",
                 json::serialize(json::object{{"source", "[queues.x]\nstrategy = 'fastest'\n"}}))
            .status == 422);
  CHECK(sup.ok(200, "GET", "/v1/routing").at("version").as_int64() == 2);

  // The new rule applies: a VIP case gets priority 1.
  Caller gw(server, server.token("gateway"));
  CHECK(gw.ok(201, "POST", "/v1/cases", chat_case("VIP help")).at("priority").as_int64() == 1);
}

TEST_CASE("lists page by cursor, newest first, queues and handoffs answer",
          "[api][blackbox][lists]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(str(sup.ok(201, "POST", "/v1/cases", chat_case("c" + std::to_string(i)))["id"]));
  }
  // Ids sort in creation order.
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto p = sup.ok(200, "GET", "/v1/cases?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& c : p.at("data").as_array()) {
      seen.push_back(str(c.at("id")));
    }
    if (p.at("next_cursor").is_null()) {
      break;
    }
    cursor = str(p.at("next_cursor"));
  }
  CHECK(seen == std::vector<std::string>(ids.rbegin(), ids.rend()));
  CHECK(sup.ok(200, "GET", "/v1/cases?status=queued").at("data").as_array().size() == 5);
  CHECK(sup.ok(200, "GET", "/v1/cases?status=closed").at("data").as_array().empty());

  auto queues = sup.ok(200, "GET", "/v1/queues").at("data").as_array();
  auto support = std::find_if(queues.begin(), queues.end(),
                              [](const json::value& q) { return q.at("name") == "support"; });
  REQUIRE(support != queues.end());
  CHECK(support->at("waiting").as_int64() == 5);
  CHECK(support->at("oldest_wait_s").is_number());

  // Handoff to sales: the linked case, listed and completed.
  sup.ok(201, "POST", "/v1/agents", kAna);
  sup.ok(
      201, "POST", "/v1/agents",
      R"({"id": "agt_sam", "name": "Sam", "role": "sales", "teams": ["sales"], "capacity": {"chat": 2}})");
  Caller ana(server, server.token("agent", "agt_ana"));
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  auto offers = ana.ok(200, "GET", "/v1/offers?status=pending").at("data").as_array();
  REQUIRE_FALSE(offers.empty());
  auto acc = ana.ok(200, "POST", "/v1/offers/" + str(offers[0].at("id")) + "/accept");
  std::string from = str(acc.at("case").at("id"));
  auto h = ana.ok(201, "POST", "/v1/cases/" + from + "/handoffs",
                  R"({"to": "team:sales", "reason": "upsell", "note": "40 seats"})");
  CHECK(str(h.at("id")).starts_with("hof_"));
  CHECK(str(h.at("status")) == "open");
  CHECK(str(h.at("from_agent")) == "agt_ana");
  CHECK(str(h.at("to")) == "team:sales");
  CHECK(sup.ok(200, "GET", "/v1/handoffs?reason=upsell").at("data").as_array().size() == 1);
  CHECK(str(sup.ok(200, "GET", "/v1/cases/" + str(h.at("to_case"))).at("type")) == "lead");
  auto direct = ana.ok(201, "POST", "/v1/cases/" + from + "/handoffs",
                       R"({"to": "agt_sam", "reason": "renewal"})");
  CHECK(str(direct.at("to")) == "agt_sam");
  CHECK(str(direct.at("to_agent")) == "agt_sam");
  auto done =
      sup.ok(200, "POST", "/v1/handoffs/" + str(h.at("id")) + "/complete", R"({"outcome": "won"})");
  CHECK(str(done.at("status")) == "completed");
  CHECK(str(done.at("outcome")) == "won");
}

TEST_CASE("a restart recovers agents, cases and offers from the database",
          "[api][blackbox][recovery]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  sup.ok(201, "POST", "/v1/agents", kAna);
  sup.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  auto kase = sup.ok(201, "POST", "/v1/cases", chat_case("survive"));
  REQUIRE(str(kase.at("status")) == "offered");
  REQUIRE(server.stop(SIGKILL) == -SIGKILL);
  server.start();
  Caller after(server, sup.token);
  // Agents come back offline; the open offer is revoked and the case waits again.
  CHECK(str(after.ok(200, "GET", "/v1/agents/agt_ana").at("presence")) == "offline");
  auto c = after.ok(200, "GET", "/v1/cases/" + str(kase.at("id")));
  CHECK(str(c.at("status")) == "queued");
  after.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  CHECK(str(after.ok(200, "GET", "/v1/cases/" + str(kase.at("id"))).at("status")) == "offered");
  CHECK(server.stop(SIGTERM) == 0);
  CHECK(server.log_text().find("\"msg\":\"stopped\",\"clean\":true") != std::string::npos);
}

TEST_CASE("a case keeps its 20 newest routing decisions, newest first", "[api][blackbox]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  auto kase = sup.ok(201, "POST", "/v1/cases", chat_case("routed often"));
  std::string id = str(kase.at("id"));
  // Nobody is available: each transfer back to the queue is one more decision, waiting.
  for (int i = 0; i < 24; ++i) {
    sup.ok(200, "POST", "/v1/cases/" + id + "/transfer",
           R"({"to_queue": ")" + std::string(i % 2 == 0 ? "sales" : "support") + R"("})");
  }
  auto all = sup.ok(200, "GET", "/v1/cases/" + id + "/routing?limit=100");
  auto data = all.at("data").as_array();
  CHECK(data.size() == 20);
  CHECK(all.at("next_cursor").is_null());
  // The last transfer was to support (i = 23), the one before to sales.
  CHECK(str(data[0].at("queue")) == "support");
  CHECK(str(data[1].at("queue")) == "sales");
  // Paging walks the same 20: 8, 8, then 4.
  std::size_t seen = 0;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto p = sup.ok(
        200, "GET",
        "/v1/cases/" + id + "/routing?limit=8" + (cursor.empty() ? "" : "&cursor=" + cursor));
    seen += p.at("data").as_array().size();
    if (p.at("next_cursor").is_null()) {
      break;
    }
    cursor = str(p.at("next_cursor"));
  }
  CHECK(seen == 20);
}

TEST_CASE("decline re-routes to the next agent, transfer and PATCH change who holds what",
          "[api][blackbox]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller ana(server, server.token("agent", "agt_ana"));
  Caller bo(server, server.token("agent", "agt_bo"));
  sup.ok(201, "POST", "/v1/agents", kAna);
  sup.ok(201, "POST", "/v1/agents",
         R"({"id": "agt_bo", "name": "Bo", "teams": ["support"], "capacity": {"chat": 1}})");
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  auto kase = sup.ok(201, "POST", "/v1/cases", chat_case("decline me"));
  std::string id = str(kase.at("id"));
  auto off = str(kase.at("offer_id"));
  bo.ok(200, "PUT", "/v1/agents/agt_bo/presence", R"({"presence": "available"})");

  auto declined = ana.ok(200, "POST", "/v1/offers/" + off + "/decline", R"({"reason": "busy"})");
  CHECK(str(declined.at("status")) == "declined");
  CHECK(str(declined.at("reason")) == "busy");
  // Routed again at once, to Bo; Ana is excluded for this case.
  auto now = sup.ok(200, "GET", "/v1/cases/" + id);
  CHECK(str(now.at("status")) == "offered");
  auto bo_offers = bo.ok(200, "GET", "/v1/offers?status=pending").at("data").as_array();
  REQUIRE(bo_offers.size() == 1);
  CHECK(str(bo_offers[0].at("case_id")) == id);
  auto routing = sup.ok(200, "GET", "/v1/cases/" + id + "/routing").at("data").as_array();
  REQUIRE(routing.size() >= 2);
  bool ana_declined = false;
  for (const auto& cand : routing[0].at("candidates").as_array()) {
    if (cand.at("agent") == "agt_ana") {
      ana_declined = str(cand.at("reason")) == "declined" && !cand.at("eligible").as_bool();
    }
  }
  CHECK(ana_declined);

  bo.ok(200, "POST", "/v1/offers/" + str(bo_offers[0].at("id")) + "/accept");
  // Bo hands the case to the support queue; Ana may not take it (she declined), so it waits.
  auto moved = bo.ok(200, "POST", "/v1/cases/" + id + "/transfer",
                     R"({"to_queue": "support", "note": "needs billing"})");
  CHECK(moved.at("assignee").is_null());
  CHECK(fields_of(bo.call("POST", "/v1/cases/" + id + "/transfer",
                          R"({"to_queue": "x", "to_agent": "agt_ana"})"))
            .count("to_agent") == 1);
  // A supervisor puts it straight with Ana.
  auto direct = sup.ok(200, "POST", "/v1/cases/" + id + "/transfer", R"({"to_agent": "agt_ana"})");
  CHECK((str(direct.at("status")) == "offered" || str(direct.at("status")) == "assigned"));

  auto patched = sup.ok(200, "PATCH", "/v1/agents/agt_bo",
                        R"({"skills": {"billing": 9}, "capacity": {"chat": 2}})");
  CHECK(patched.at("skills").at("billing").as_int64() == 9);
  CHECK(patched.at("capacity").at("chat").as_int64() == 2);
  CHECK(sup.call("PATCH", "/v1/agents/agt_nobody", R"({"name": "x"})").status == 404);
  auto list = sup.ok(200, "GET", "/v1/agents?limit=1");
  CHECK(list.at("data").as_array().size() == 1);
  std::string next = str(list.at("next_cursor"));
  CHECK(str(sup.ok(200, "GET", "/v1/agents?cursor=" + next).at("data").as_array()[0].at("id")) ==
        "agt_bo");
  // [regress] A cursor the server did not make is a 422 like every other list's (it was a
  // 200 with an empty page); so is one it made with a byte changed, or its position alone.
  std::string altered = next;
  altered.back() = altered.back() == '0' ? '1' : '0';
  for (const std::string& cursor :
       {std::string("zzz"), std::string("agt_ana"), std::string("%22%7D"), std::string("ana"),
        altered, next.substr(0, next.find('~'))}) {
    CHECK(fields_of(sup.call("GET", std::string("/v1/agents?cursor=") + cursor)) ==
          std::set<std::string>{"cursor"});
  }
}

TEST_CASE("every list takes back only cursors it made: a made-up one is 422 everywhere",
          "[api][blackbox]") {
  BatonServer server;
  Caller admin(server, server.token("admin"));
  Caller gw(server, server.token("gateway"));
  auto c =
      gw.ok(201, "POST", "/v1/cases",
            R"({"channel":"chat","subject":"s","customer":{"channel":"chat","address":"w:1"}})");
  std::string id = str(c.at("id"));
  std::string customer = str(c.at("customer_id"));
  auto hook = admin.ok(
      201, "POST", "/v1/webhooks",
      R"({"url":"https://hooks.example.com/hook","events":["case.created"],"secret":"s3cret-s3cret-s3cret"})");
  std::string whk = str(hook.at("id"));
  // Positions each list really uses (ids, "time.id"), unsealed, and a seal on the wrong one.
  for (const std::string& list :
       {std::string("/v1/cases"), std::string("/v1/offers"), std::string("/v1/handoffs"),
        std::string("/v1/agents"), std::string("/v1/webhooks"), "/v1/cases/" + id + "/events",
        "/v1/cases/" + id + "/routing", "/v1/customers/" + customer + "/timeline",
        "/v1/webhooks/" + whk + "/deliveries"}) {
    for (const char* cursor :
         {"1", "0", "1790000000000.1", "whk_1", "1~00000000000000000000000000000000"}) {
      auto r = admin.call("GET", list + "?cursor=" + cursor);
      INFO(list << " cursor " << cursor << " -> " << r.status << " " << r.body);
      CHECK(r.status == 422);
      CHECK(fields_of(r) == std::set<std::string>{"cursor"});
    }
  }
  // A cursor the server made pages on: two cases, a page of one, then the other.
  gw.ok(201, "POST", "/v1/cases",
        R"({"channel":"chat","subject":"t","customer":{"channel":"chat","address":"w:2"}})");
  auto first = admin.ok(200, "GET", "/v1/cases?limit=1");
  REQUIRE(first.at("next_cursor").is_string());
  auto second = admin.ok(200, "GET", "/v1/cases?limit=1&cursor=" + str(first.at("next_cursor")));
  REQUIRE(second.at("data").as_array().size() == 1);
  CHECK(second.at("data").as_array()[0].at("id") != first.at("data").as_array()[0].at("id"));
}
