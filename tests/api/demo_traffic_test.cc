// Black-box: `scripts/run --demo-traffic` makes a live contact center. The demo script runs
// a shift at 20x against the real server seeded as scripts/run seeds it: cases are
// accepted, replied to, handed off, resolved and rated by the demo agents, and Ana's work
// is left for the person trying it.

#include <cstdio>
#include <fstream>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "temp_dir.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;

TEST_CASE("[regress] demo traffic is worked by demo agents, and some is left for Ana",
          "[api][blackbox][regress][demo]") {
  BatonServer server;
  baton::testing::TempDir d;
  auto tokens = d.dir / "demo-tokens";
  {
    std::ofstream out(tokens);
    out << "admin=" << server.token("admin") << "\n"
        << "gateway=" << server.token("gateway") << "\n"
        << "ana=" << server.token("agent", "agt_ana") << "\n"
        << "jin=" << server.token("agent", "agt_jin") << "\n"
        << "sam=" << server.token("agent", "agt_sam") << "\n";
  }
  Caller admin(server, server.token("admin"));
  // The demo workspace, as scripts/run makes it.
  admin.ok(
      201, "POST", "/v1/agents",
      R"({"id": "agt_ana", "name": "Ana Kim", "teams": ["support"], "capacity": {"chat": 3}})");
  admin.ok(
      201, "POST", "/v1/agents",
      R"({"id": "agt_jin", "name": "Jin Park", "teams": ["support"], "capacity": {"chat": 2}})");
  admin.ok(201, "POST", "/v1/agents",
           R"({"id": "agt_sam", "name": "Sam Choi", "role": "sales", "teams": ["sales"],
               "capacity": {"chat": 2}})");
  admin.ok(201, "POST", "/v1/accounts",
           R"({"name": "Hanbit Co", "tier": "gold", "sales_owner": "agt_sam"})");
  Caller ana(server, server.token("agent", "agt_ana"));
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");

  std::string cmd = "python3 " BATON_SOURCE_DIR "/scripts/demo_traffic.py http://" +
                    server.address() + " " + tokens.string() + " --seconds 12 --speed 20";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    out += buf;
  }
  REQUIRE(pclose(p) == 0);
  INFO(out);
  auto stats = json::parse(out).as_object();
  CHECK(stats.at("posted").as_int64() >= 10);
  CHECK(stats.at("resolved").as_int64() >= 3);
  CHECK(stats.at("csat").as_int64() >= 1);

  // The reports move: cases answered and resolved, CSAT recorded, by the demo agents.
  auto summary = admin.ok(200, "GET", "/v1/reports/summary");
  INFO(json::serialize(summary));
  std::int64_t resolved = 0;
  for (const auto& q : summary.at("queues").as_array()) {
    resolved += q.at("resolved").as_int64();
  }
  CHECK(resolved >= 3);
  bool jin_worked = false;
  for (const auto& a : summary.at("agents").as_array()) {
    if (str(a.at("agent")) == "agt_jin") {
      jin_worked = a.at("resolved").as_int64() > 0;
    }
  }
  CHECK(jin_worked);
  // Ana's work waits for her: the demo never touches her cases.
  auto held = admin.ok(200, "GET", "/v1/cases?assignee=agt_ana").at("data").as_array();
  for (const auto& c : held) {
    CHECK(str(c.at("status")) != "resolved");
  }
  CHECK(admin.ok(200, "GET", "/v1/offers?agent=agt_ana").at("data").as_array().size() >= 1);
}
