// Black-box: signing in with a password (API.md "Sign-in and audit"). Passwords are kept
// only as Argon2id hashes; a session is a token with an end; failed sign-ins are limited
// per agent; GET /v1/audit lists who did what to the set-up, each line committed with its
// change.

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "sqlite_peek.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;

namespace {

// Cheaper hashes than shipped, so that the tests run fast; Argon2id all the same.
const char* kAuth = "[auth]\npassword_memory = 8388608\n";

const char* kPassword = "correct horse battery";

std::string agent_body(const std::string& id, const std::string& role = "agent") {
  return R"({"id": ")" + id + R"(", "name": "Agent )" + id + R"(", "role": ")" + role +
         R"(", "capacity": {"chat": 2}})";
}

std::string sign_in_body(const std::string& agent, const std::string& password) {
  return json::serialize(json::object{{"agent_id", agent}, {"password", password}});
}

// POST /v1/sessions without a token.
baton::testing::HttpResponse sign_in(BatonServer& server, const std::string& agent,
                                     const std::string& password) {
  Caller anyone(server, "");
  return anyone.call("POST", "/v1/sessions", sign_in_body(agent, password));
}

}  // namespace

TEST_CASE("sessions: a supervisor sets a password, the agent signs in, uses and ends the session",
          "[api][blackbox][sessions]") {
  BatonServer server(kAuth);
  Caller sup(server, server.token("supervisor"));
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ana"));
  // 12–256 characters.
  auto r = sup.call("PUT", "/v1/agents/agt_ana/password", R"({"password": "short"})");
  CHECK(r.status == 422);
  r = sup.call("PUT", "/v1/agents/agt_ana/password",
               json::serialize(json::object{{"password", kPassword}}));
  REQUIRE(r.status == 204);
  CHECK(sup.call("PUT", "/v1/agents/agt_nobody/password",
                 json::serialize(json::object{{"password", kPassword}}))
            .status == 404);

  // Stored only as an Argon2id hash.
  baton::testing::Peek db(server.db());
  std::string hash = db.text("SELECT hash FROM agent_passwords WHERE agent_id = 'ana'");
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(hash.find(kPassword) == std::string::npos);

  // A wrong password, an unknown agent, an agent without a password: the same 401.
  auto wrong = sign_in(server, "agt_ana", "not the password at all");
  auto unknown = sign_in(server, "agt_nobody", kPassword);
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ben"));
  auto none = sign_in(server, "agt_ben", kPassword);
  CHECK(wrong.status == 401);
  CHECK(unknown.status == 401);
  CHECK(none.status == 401);
  CHECK(wrong.body == unknown.body);
  CHECK(wrong.body == none.body);

  auto ok = sign_in(server, "agt_ana", kPassword);
  REQUIRE(ok.status == 201);
  auto session = json::parse(ok.body).as_object();
  CHECK(str(session.at("role")) == "agent");
  CHECK(str(session.at("agent")) == "agt_ana");
  CHECK(!str(session.at("expires_at")).empty());
  std::string token = str(session.at("token"));
  Caller ana(server, token);
  auto me = ana.ok(200, "GET", "/v1/me");
  CHECK(me.at("agent").as_string() == "agt_ana");
  // What an agent may not do, a session of an agent may not either.
  CHECK(ana.call("GET", "/v1/agents").status == 403);

  REQUIRE(ana.call("DELETE", "/v1/sessions/current").status == 204);
  CHECK(ana.call("GET", "/v1/me").status == 401);
  // An API token is not a session.
  CHECK(sup.call("DELETE", "/v1/sessions/current").status == 409);
  // A supervisor signs in as a supervisor.
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_sam", "supervisor"));
  sup.call("PUT", "/v1/agents/agt_sam/password",
           json::serialize(json::object{{"password", kPassword}}));
  auto sam = sign_in(server, "agt_sam", kPassword);
  REQUIRE(sam.status == 201);
  CHECK(str(json::parse(sam.body).at("role")) == "supervisor");
}

TEST_CASE("sessions: an agent changes its own password with the current one, no one else's",
          "[api][blackbox][sessions]") {
  BatonServer server(kAuth);
  Caller sup(server, server.token("supervisor"));
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ana"));
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ben"));
  sup.call("PUT", "/v1/agents/agt_ana/password",
           json::serialize(json::object{{"password", kPassword}}));
  Caller ana(server, server.token("agent", "agt_ana"));
  std::string next = "a new password for ana";
  CHECK(ana.call("PUT", "/v1/agents/agt_ana/password",
                 json::serialize(json::object{{"password", next}}))
            .status == 422);  // current_password is required
  CHECK(ana.call("PUT", "/v1/agents/agt_ana/password",
                 json::serialize(
                     json::object{{"password", next}, {"current_password", "wrong password!"}}))
            .status == 403);
  CHECK(ana.call("PUT", "/v1/agents/agt_ben/password",
                 json::serialize(json::object{{"password", next}, {"current_password", kPassword}}))
            .status == 404);
  REQUIRE(
      ana.call("PUT", "/v1/agents/agt_ana/password",
               json::serialize(json::object{{"password", next}, {"current_password", kPassword}}))
          .status == 204);
  CHECK(sign_in(server, "agt_ana", kPassword).status == 401);
  CHECK(sign_in(server, "agt_ana", next).status == 201);
}

TEST_CASE("sessions: five failures for one agent within a minute are 429 for that agent only",
          "[api][blackbox][sessions]") {
  BatonServer server(kAuth);
  Caller sup(server, server.token("supervisor"));
  for (const char* id : {"agt_ana", "agt_ben"}) {
    sup.ok(201, "POST", "/v1/agents", agent_body(id));
    sup.call("PUT", std::string("/v1/agents/") + id + "/password",
             json::serialize(json::object{{"password", kPassword}}));
  }
  for (int i = 0; i < 5; ++i) {
    CHECK(sign_in(server, "agt_ana", "guess number " + std::to_string(i)).status == 401);
  }
  auto limited = sign_in(server, "agt_ana", kPassword);  // even the right one, for now
  CHECK(limited.status == 429);
  CHECK(!limited.header("retry-after").empty());
  CHECK(sign_in(server, "agt_ben", kPassword).status == 201);
}

TEST_CASE("sessions: a session ends after session_ttl", "[api][blackbox][sessions]") {
  BatonServer server(std::string(kAuth) + "session_ttl = \"1s\"\n");
  Caller sup(server, server.token("supervisor"));
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ana"));
  sup.call("PUT", "/v1/agents/agt_ana/password",
           json::serialize(json::object{{"password", kPassword}}));
  auto ok = sign_in(server, "agt_ana", kPassword);
  REQUIRE(ok.status == 201);
  Caller ana(server, str(json::parse(ok.body).at("token")));
  CHECK(ana.call("GET", "/v1/me").status == 200);
  int status = 200;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = ana.call("GET", "/v1/me").status;
  }
  CHECK(status == 401);
}

TEST_CASE("audit: who did what to the set-up, newest first, for admins only",
          "[api][blackbox][sessions][audit]") {
  BatonServer server(kAuth);
  Caller admin(server, server.token("admin"));
  Caller sup(server, server.token("supervisor"));
  sup.ok(201, "POST", "/v1/agents", agent_body("agt_ana"));
  sup.ok(200, "PATCH", "/v1/agents/agt_ana", R"({"name": "Ana Kim"})");
  sup.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  sup.call("PUT", "/v1/agents/agt_ana/password",
           json::serialize(json::object{{"password", kPassword}}));
  sign_in(server, "agt_ana", "wrong password!!");
  auto session = sign_in(server, "agt_ana", kPassword);
  Caller ana(server, str(json::parse(session.body).at("token")));
  // The agent's own presence is not a set-up change; a supervisor's setting of it is.
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "away"})");
  ana.call("DELETE", "/v1/sessions/current");
  auto hook = admin.ok(201, "POST", "/v1/webhooks",
                       R"({"url": "https://hooks.example.com/b", "events": ["*"],
                           "secret": "0123456789abcdef"})");
  admin.ok(200, "DELETE", "/v1/webhooks/" + str(hook.at("id")));
  auto rules = admin.call("GET", "/v1/routing");
  std::string source = str(json::parse(rules.body).at("source")) +
                       "\n[[rules]]\nname = \"vip\"\nwhen = 'subject == \"vip\"'\npriority = 1\n";
  REQUIRE(admin
              .call("PUT", "/v1/routing", json::serialize(json::object{{"source", source}}),
                    {{"If-Match", rules.header("etag")}})
              .status == 200);
  Caller gw(server, server.token("gateway"));
  auto c1 = gw.ok(201, "POST", "/v1/cases",
                  R"({"channel": "chat", "subject": "a", "customer": {"channel": "chat",
                      "address": "one"}})");
  auto c2 = gw.ok(201, "POST", "/v1/cases",
                  R"({"channel": "email", "subject": "b", "customer": {"channel": "email",
                      "address": "two@example.com"}})");
  sup.ok(200, "POST", "/v1/customers/" + str(c1.at("customer_id")) + "/merge",
         R"({"from": ")" + str(c2.at("customer_id")) + R"("})");
  // A refused change leaves no line.
  CHECK(admin
            .call("POST", "/v1/webhooks", R"({"url": "ftp://x", "events": ["*"],
                                                "secret": "0123456789abcdef"})")
            .status == 422);

  CHECK(sup.call("GET", "/v1/audit").status == 403);
  std::vector<json::object> lines;
  std::string cursor;
  do {
    auto page =
        admin.ok(200, "GET", "/v1/audit?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& l : page.at("data").as_array()) {
      lines.push_back(l.as_object());
    }
    cursor = page.at("next_cursor").is_null() ? "" : str(page.at("next_cursor"));
  } while (!cursor.empty());
  std::vector<std::string> actions;
  for (const auto& l : lines) {
    actions.push_back(str(l.at("action")));
    CHECK(l.contains("id"));
    CHECK(l.contains("at"));
    CHECK(l.at("data").is_object());
  }
  // Newest first: the merge is first, the command line's tokens last.
  REQUIRE(!actions.empty());
  CHECK(actions.front() == "customer.merged");
  CHECK(actions.back() == "token.created");
  std::multiset<std::string> seen(actions.begin(), actions.end());
  for (const char* a : {"agent.created", "agent.changed", "agent.presence_set",
                        "agent.password_set", "session.failed", "session.opened", "session.closed",
                        "webhook.created", "webhook.removed", "rules.version", "customer.merged"}) {
    INFO(a);
    CHECK(seen.count(a) == 1);
  }
  CHECK(seen.count("token.created") == 3);  // admin, supervisor, gateway
  // Who and what: the failed sign-in names the agent tried and the address.
  for (const auto& l : lines) {
    if (str(l.at("action")) == "session.failed") {
      CHECK(str(l.at("target")) == "agt_ana");
      CHECK(str(l.at("data").at("address")) == "127.0.0.1");
    }
    if (str(l.at("action")) == "agent.presence_set") {
      CHECK(str(l.at("data").at("presence")) == "available");
    }
  }
}
