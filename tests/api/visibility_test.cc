// Black-box: what a token that is not staff may read of customers and accounts. An agent
// reads a customer, its timeline and its account only while it holds, is offered or has
// handled one of its cases, and then sees only those cases' events (the sales owner of the
// customer's account sees all of them); a gateway reads the customers of the cases it
// posted. Everything else is 404.

#include <set>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;

namespace {

std::string agent_json(const std::string& id) {
  return R"({"id": "agt_)" + id + R"(", "name": ")" + id +
         R"(", "role": "agent", "teams": ["support"], "capacity": {"chat": 1, "email": 0, "voice": 0}})";
}

std::string case_at(const std::string& address, const std::string& subject) {
  return R"({"channel": "chat", "subject": ")" + subject +
         R"(", "customer": {"channel": "chat", "address": ")" + address + R"("}})";
}

// The case ids a timeline page shows.
std::set<std::string> cases_in(const json::object& page) {
  std::set<std::string> out;
  for (const auto& e : page.at("data").as_array()) {
    out.insert(str(e.at("case_id")));
  }
  return out;
}

}  // namespace

TEST_CASE("[regress] an agent reads only the customers, timelines and accounts of its cases",
          "[api][blackbox][regress][visibility]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  Caller other_gw(server, server.token("gateway"));
  Caller ana(server, server.token("agent", "agt_ana"));
  Caller jin(server, server.token("agent", "agt_jin"));
  Caller kim(server, server.token("agent", "agt_kim"));
  Caller sam(server, server.token("agent", "agt_sam"));
  for (const char* id : {"ana", "jin", "kim", "sam"}) {
    sup.ok(201, "POST", "/v1/agents", agent_json(id));
  }
  std::string account =
      str(sup.ok(201, "POST", "/v1/accounts",
                 R"({"name": "Hanbit Co", "tier": "gold", "sales_owner": "agt_sam"})")
              .at("id"));
  std::string customer =
      str(sup.ok(201, "POST", "/v1/customers",
                 R"({"name": "Minji Lee", "account_id": ")" + account +
                     R"(", "identities": [{"channel": "chat", "address": "web:8812"}]})")
              .at("id"));

  // Ana alone is available: the first case is offered to her, and she takes it.
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "available"})");
  auto first = gw.ok(201, "POST", "/v1/cases", case_at("web:8812", "first"));
  std::string first_id = str(first.at("id"));
  REQUIRE(str(first.at("customer_id")) == customer);
  CHECK(str(first.at("status")) == "offered");
  CHECK(ana.call("GET", "/v1/customers/" + customer).status == 200);  // offered is enough
  auto offers = ana.ok(200, "GET", "/v1/offers?agent=agt_ana");
  ana.ok(200, "POST", "/v1/offers/" + str(offers.at("data").as_array()[0].at("id")) + "/accept");
  ana.ok(201, "POST", "/v1/cases/" + first_id + "/notes", R"({"body": "ana's internal note"})");

  // Ana steps away (sticky routing would hold the customer's next case for her); Jin takes
  // the second case and writes his own note.
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence": "away"})");
  jin.ok(200, "PUT", "/v1/agents/agt_jin/presence", R"({"presence": "available"})");
  std::string second_id =
      str(gw.ok(201, "POST", "/v1/cases", case_at("web:8812", "second")).at("id"));
  auto jin_offers = jin.ok(200, "GET", "/v1/offers?agent=agt_jin");
  REQUIRE(jin_offers.at("data").as_array().size() == 1);
  jin.ok(200, "POST",
         "/v1/offers/" + str(jin_offers.at("data").as_array()[0].at("id")) + "/accept");
  jin.ok(201, "POST", "/v1/cases/" + second_id + "/notes", R"({"body": "jin's internal note"})");

  SECTION("each agent sees the customer and only the events of its own cases") {
    CHECK(cases_in(ana.ok(200, "GET", "/v1/customers/" + customer + "/timeline")) ==
          std::set<std::string>{first_id});
    CHECK(cases_in(jin.ok(200, "GET", "/v1/customers/" + customer + "/timeline")) ==
          std::set<std::string>{second_id});
    CHECK(cases_in(sup.ok(200, "GET", "/v1/customers/" + customer + "/timeline")) ==
          std::set<std::string>{first_id, second_id});
    for (Caller* who : {&ana, &jin}) {
      CHECK(who->call("GET", "/v1/customers/" + customer).status == 200);
      CHECK(who->call("GET", "/v1/accounts/" + account).status == 200);
      CHECK(who->call("GET", "/v1/accounts/" + account + "/summary").status == 200);
    }
  }
  SECTION("the account's sales owner sees every case of its customers") {
    CHECK(cases_in(sam.ok(200, "GET", "/v1/customers/" + customer + "/timeline")) ==
          std::set<std::string>{first_id, second_id});
    CHECK(sam.call("GET", "/v1/accounts/" + account).status == 200);
  }
  SECTION("an agent with no case of the customer gets 404 for all of it") {
    for (const std::string& target :
         {"/v1/customers/" + customer, "/v1/customers/" + customer + "/timeline",
          "/v1/accounts/" + account, "/v1/accounts/" + account + "/summary"}) {
      auto r = kim.call("GET", target);
      INFO(target << " -> " << r.body);
      CHECK(r.status == 404);
    }
  }
  SECTION("a handled case keeps its customer readable after it is resolved") {
    ana.ok(200, "POST", "/v1/cases/" + first_id + "/resolve", R"({"resolution": "done"})");
    CHECK(ana.call("GET", "/v1/customers/" + customer).status == 200);
    CHECK(cases_in(ana.ok(200, "GET", "/v1/customers/" + customer + "/timeline")) ==
          std::set<std::string>{first_id});
  }
  SECTION("a gateway reads the customers of the cases it posted, no others") {
    CHECK(gw.call("GET", "/v1/customers/" + customer).status == 200);
    CHECK(other_gw.call("GET", "/v1/customers/" + customer).status == 404);
    std::string own =
        str(other_gw.ok(201, "POST", "/v1/cases", case_at("web:9999", "mine")).at("customer_id"));
    CHECK(other_gw.call("GET", "/v1/customers/" + own).status == 200);
    CHECK(gw.call("GET", "/v1/customers/" + own).status == 404);
  }
}
