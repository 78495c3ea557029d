// Black-box: tokens as an attacker and an operator meet them. Unknown tokens are
// remembered and cost their address; a revoked token stops working without a restart.

#include <chrono>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"

using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::metric;

namespace {

std::string random_token(int i) { return "btn_" + std::string(60, 'f') + std::to_string(1000 + i); }

}  // namespace

TEST_CASE("an unknown token is read once, then remembered as invalid", "[api][blackbox][auth]") {
  BatonServer server("[auth]\nfailure_burst = 1000\n");
  Caller open(server, "");  // /metrics is open on loopback
  long before = metric(open, "baton_token_reads_total");
  Caller bad(server, random_token(0));
  for (int i = 0; i < 20; ++i) {
    auto r = bad.call("GET", "/v1/cases");
    REQUIRE(r.status == 401);
  }
  CHECK(metric(open, "baton_token_reads_total") == before + 1);
  // A valid token is read once too, and works throughout.
  Caller sup(server, server.token("supervisor"));
  for (int i = 0; i < 5; ++i) {
    sup.ok(200, "GET", "/v1/agents");
  }
  CHECK(metric(open, "baton_token_reads_total") == before + 2);
}

TEST_CASE("invalid tokens from one address run out its budget: 429 before any read",
          "[api][blackbox][auth]") {
  BatonServer server("[auth]\nfailures_per_second = 0.01\nfailure_burst = 5\n");
  Caller open(server, "");
  Caller sup(server, server.token("supervisor"));
  sup.ok(200, "GET", "/v1/agents");  // known before the flood
  long reads = metric(open, "baton_token_reads_total");
  for (int i = 0; i < 5; ++i) {
    Caller bad(server, random_token(i));
    CHECK(bad.call("GET", "/v1/cases").status == 401);
  }
  CHECK(metric(open, "baton_token_reads_total") == reads + 5);
  for (int i = 5; i < 50; ++i) {
    Caller bad(server, random_token(i));
    auto r = bad.call("GET", "/v1/cases");
    CHECK(r.status == 429);
    CHECK_FALSE(r.header("retry-after").empty());
  }
  // None of those reached the database, and the valid token still works from there.
  CHECK(metric(open, "baton_token_reads_total") == reads + 5);
  sup.ok(200, "GET", "/v1/agents");
}

TEST_CASE("[regress] a revoked token stops working within token_recheck, without a restart",
          "[api][blackbox][auth][regress]") {
  BatonServer server("[auth]\ntoken_recheck = \"1s\"\n");
  std::string token = server.token("supervisor");
  Caller sup(server, token);
  sup.ok(200, "GET", "/v1/agents");
  int code = 0;
  std::string out = baton::testing::run_baton(
      {"token", "revoke", "--token", token, "--db", server.db(), "--config", server.config()},
      code);
  INFO(out);
  REQUIRE(code == 0);
  // Bounded: the recheck is 1 s; 10 s is the margin for a loaded machine.
  int status = 200;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    status = sup.call("GET", "/v1/agents").status;
    if (status == 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  CHECK(status == 401);
  // The revocation is in the audit, newest first.
  Caller admin(server, server.token("admin"));
  auto lines = admin.ok(200, "GET", "/v1/audit").at("data").as_array();
  REQUIRE(lines.size() >= 2);
  CHECK(lines[1].at("action").as_string() == "token.revoked");
  CHECK(lines[1].at("actor").as_string() == "command line");
  CHECK(lines[1].at("data").at("tokens").as_int64() == 1);
  // Revoking what is not there says so.
  baton::testing::run_baton(
      {"token", "revoke", "--id", "0123456789ab", "--db", server.db(), "--config", server.config()},
      code);
  CHECK(code == 1);
  baton::testing::run_baton(
      {"token", "revoke", "--id", "short", "--db", server.db(), "--config", server.config()}, code);
  CHECK(code == 2);
}
