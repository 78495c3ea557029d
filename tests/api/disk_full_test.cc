// Black-box: the disk fills under the server (no file may grow past a limit, as on a full
// disk). The commit that fails is refused, and from then on reads answer 503 like commands,
// so nothing the database never took is shown; /readyz says why. After a restart every
// acknowledged case is there.

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "temp_dir.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;

TEST_CASE("[regress] after a failed commit, reads answer 503 like commands, and /readyz says why",
          "[api][blackbox][durability][regress]") {
  std::vector<std::string> acknowledged;
  baton::testing::TempDir dir;  // outlives the first server: the database is kept
  std::string db = dir.db();
  std::string sup_token, gw_token;
  {
    BatonServer server("", db, {.max_file_bytes = 1 << 20});
    sup_token = server.token("supervisor");
    gw_token = server.token("gateway");
    Caller sup(server, sup_token);
    Caller gw(server, gw_token);
    // Large bodies fill the WAL quickly; bounded in count.
    std::string body(20'000, 'x');
    int status = 201;
    for (int i = 0; i < 2'000 && status == 201; ++i) {
      auto r = gw.call(
          "POST", "/v1/cases",
          json::serialize(json::object{
              {"channel", "email"},
              {"subject", "s" + std::to_string(i)},
              {"body", body},
              {"customer", json::object{{"channel", "email"},
                                        {"address", "c" + std::to_string(i) + "@example.com"}}}}));
      status = r.status;
      if (status == 201) {
        acknowledged.push_back(str(json::parse(r.body).at("id")));
      }
    }
    INFO("acknowledged " << acknowledged.size());
    REQUIRE(status == 503);
    REQUIRE_FALSE(acknowledged.empty());
    // Reads of what was acknowledged, of lists and of the engine's memory: all 503.
    for (const std::string& target :
         {"/v1/cases/" + acknowledged.front(), std::string("/v1/cases"), std::string("/v1/agents"),
          std::string("/v1/queues"), std::string("/v1/routing")}) {
      auto r = sup.call("GET", target);
      INFO(target << " -> " << r.status << " " << r.body);
      CHECK(r.status == 503);
    }
    CHECK(sup.call("GET", "/healthz").status == 200);
    auto ready = sup.call("GET", "/readyz");
    CHECK(ready.status == 503);
    INFO(ready.body);
    CHECK(ready.body.find("commit") != std::string::npos);
  }
  // Restarted with room on the disk: every acknowledged case came through.
  BatonServer again("", db);
  Caller sup(again, sup_token);
  for (const auto& id : acknowledged) {
    auto r = sup.call("GET", "/v1/cases/" + id);
    INFO(id << " -> " << r.body);
    CHECK(r.status == 200);
  }
}
