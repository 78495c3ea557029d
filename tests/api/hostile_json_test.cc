// Black-box: hostile text and keys through every answer, push and page of a case. Whatever
// a gateway or agent writes, each answer parses as JSON and holds the text as it was sent.

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"
#include "ws_client.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;
using baton::testing::WsClient;

namespace {

// Quotes, braces, a backslash, a control byte, markup and Korean: each must stay text.
const std::string kEvil = "\"},\"status\":\"closed\",\"x\":{\"\\\u0001</script><b>환불";

std::string quoted(const std::string& s) { return json::serialize(json::value(s)); }

json::value parsed(const std::string& body) {
  INFO(body);
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  REQUIRE_FALSE(ec);
  return v;
}

}  // namespace

TEST_CASE("[regress] a client-chosen key that is not a plain name is refused, naming its field",
          "[api][blackbox][regress]") {
  BatonServer server;
  Caller gw(server, server.token("gateway"));
  Caller sup(server, server.token("supervisor"));
  // The key that once forged top-level fields of every answer of its case.
  auto forged =
      gw.call("POST", "/v1/cases",
              R"({"channel":"chat","subject":"s","customer":{"channel":"chat",)"
              R"("address":"web:1"},"attributes":{"x\":0,\"status\":\"closed\",\"z":1}})");
  INFO(forged.body);
  CHECK(forged.status == 422);
  auto problem = parsed(forged.body).as_object();
  REQUIRE(problem.contains("errors"));
  CHECK(str(problem.at("errors").as_array()[0].at("field")) == "attributes");

  for (const char* key : {"", "with space", "ключ", "a/b",
                          "0123456789012345678901234567890123456789012345678901234567890123x"}) {
    std::string body = R"({"channel":"chat","subject":"s","customer":{"channel":"chat",)"
                       R"("address":"web:1"},"required_skills":{)" +
                       quoted(key) + R"(:3}})";
    auto r = gw.call("POST", "/v1/cases", body);
    INFO(key << " -> " << r.body);
    CHECK(r.status == 422);
    CHECK(str(parsed(r.body).at("errors").as_array()[0].at("field")) == "required_skills");
  }
  // Nothing was written.
  CHECK(sup.ok(200, "GET", "/v1/cases").at("data").as_array().empty());
  // A plain name of every allowed character is taken.
  auto fine = gw.ok(201, "POST", "/v1/cases",
                    R"({"channel":"chat","subject":"s","customer":{"channel":"chat",)"
                    R"("address":"web:1"},"attributes":{"Order.id-2_b":"A-1"}})");
  CHECK(str(fine.at("attributes").at("Order.id-2_b")) == "A-1");
}

TEST_CASE("every answer, push and page of a case parses as JSON for hostile text",
          "[api][blackbox]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  std::string ana_token = server.token("agent", "agt_ana");
  Caller ana(server, ana_token);
  sup.ok(201, "POST", "/v1/agents",
         R"({"id":"agt_ana","name":)" + quoted(kEvil) +
             R"(,"role":"agent","teams":["support"],"capacity":{"chat":2,"email":1,"voice":0}})");
  WsClient::Options o;
  o.authorization = "Bearer " + ana_token;
  WsClient stream(server.address(), "/v1/stream", o);
  REQUIRE(stream.ok());
  WsClient::Options so;
  so.authorization = "Bearer " + server.token("supervisor");
  WsClient live(server.address(), "/v1/stream", so);
  REQUIRE(live.ok());
  ana.ok(200, "PUT", "/v1/agents/agt_ana/presence", R"({"presence":"available"})");

  std::string body = R"({"channel":"chat","subject":)" + quoted(kEvil) + R"(,"body":)" +
                     quoted(kEvil) + R"(,"external_ref":)" + quoted(kEvil) +
                     R"(,"customer":{"channel":"chat","address":"web:7","name":)" + quoted(kEvil) +
                     R"(},"attributes":{"note":)" + quoted(kEvil) + R"(,"n":1.5,"vip":true}})";
  auto created = gw.call("POST", "/v1/cases", body);
  REQUIRE(created.status == 201);
  auto kase = parsed(created.body).as_object();
  std::string id = str(kase.at("id"));
  std::string customer = str(kase.at("customer_id"));
  CHECK(str(kase.at("subject")) == kEvil);
  CHECK(str(kase.at("attributes").at("note")) == kEvil);

  // The offer on the agent's stream, then accepted there.
  auto offer = stream.next_of("offer");
  REQUIRE(offer);
  CHECK(str(offer->at("data").at("case").at("subject")) == kEvil);
  ana.ok(200, "POST", "/v1/offers/" + str(offer->at("data").at("id")) + "/accept");
  ana.ok(201, "POST", "/v1/cases/" + id + "/messages",
         R"({"direction":"out","body":)" + quoted(kEvil) + "}");
  ana.ok(201, "POST", "/v1/cases/" + id + "/notes", R"({"body":)" + quoted(kEvil) + "}");

  // Every read of the case, each as a client would parse it.
  for (const std::string& target : std::vector<std::string>{
           "/v1/cases/" + id, "/v1/cases", "/v1/cases?status=assigned",
           "/v1/cases/" + id + "/events", "/v1/cases/" + id + "/routing",
           "/v1/customers/" + customer, "/v1/customers/" + customer + "/timeline", "/v1/agents",
           "/v1/agents/agt_ana", "/v1/queues", "/v1/offers?agent=agt_ana"}) {
    auto r = sup.call("GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    CHECK(r.status == 200);
    parsed(r.body);
    if (target == "/v1/cases/" + id) {
      CHECK(str(parsed(r.body).at("subject")) == kEvil);
    }
  }
  for (Caller* who : {&ana, &gw}) {
    auto r = who->call("GET", "/v1/cases/" + id);
    CHECK(r.status == 200);
    CHECK(str(parsed(r.body).at("external_ref")) == kEvil);
  }
  // Every push either stream got parses too (the offer, the case as it changed, queues).
  auto resolved = ana.ok(200, "POST", "/v1/cases/" + id + "/resolve",
                         R"({"resolution":)" + quoted(kEvil) + "}");
  CHECK(str(resolved.at("status")) == "resolved");
  auto update = live.next_of("case_updated");
  REQUIRE(update);
  CHECK(str(update->at("data").at("subject")) == kEvil);
  int pushes = 0;
  while (auto m = live.next(std::chrono::milliseconds(200))) {
    parsed(*m);
    ++pushes;
  }
  while (auto m = stream.next(std::chrono::milliseconds(200))) {
    parsed(*m);
    ++pushes;
  }
  CHECK(pushes > 0);
}

TEST_CASE("[regress] huge numbers in attributes are written as valid JSON",
          "[api][blackbox][regress]") {
  BatonServer server;
  Caller gw(server, server.token("gateway"));
  Caller sup(server, server.token("supervisor"));
  auto c = gw.ok(201, "POST", "/v1/cases",
                 R"({"channel":"chat","subject":"s","customer":{"channel":"chat",)"
                 R"("address":"web:1"},"attributes":{"big":1e300,"neg":-1e300,)"
                 R"("edge":9.3e18,"whole":12,"tiny":5e-324}})");
  auto check = [](const json::value& a) {
    CHECK(a.at("big").to_number<double>() == 1e300);
    CHECK(a.at("neg").to_number<double>() == -1e300);
    CHECK(a.at("edge").to_number<double>() == 9.3e18);
    CHECK(a.at("whole").is_int64());
    CHECK(a.at("tiny").to_number<double>() == 5e-324);
  };
  check(c.at("attributes"));
  // Read back from the case list and its page, which are served from the database.
  std::string id = str(c.at("id"));
  check(parsed(sup.call("GET", "/v1/cases/" + id).body).at("attributes"));
  auto list = parsed(sup.call("GET", "/v1/cases").body);
  check(list.at("data").as_array()[0].at("attributes"));
  // One JSON parsers take as infinity is refused by its name.
  auto over = gw.call("POST", "/v1/cases",
                      R"({"channel":"chat","subject":"s","customer":{"channel":"chat",)"
                      R"("address":"web:1"},"attributes":{"over":-1e400}})");
  INFO(over.body);
  CHECK(over.status == 422);
  CHECK(str(parsed(over.body).at("errors").as_array()[0].at("field")) == "attributes.over");
}
