// Black-box: a hostile rule set is refused with where it goes wrong, and the server keeps
// answering; a rule's match over a long text is bounded, counted and logged.

#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::metric;
using baton::testing::str;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

std::string source_body(const std::string& source) {
  return json::serialize(json::object{{"source", source}});
}

const char* kQueues = "[queues.support]\nteams = [\"support\"]\n";

// PUT /v1/routing over the version in force.
baton::testing::HttpResponse put_rules(Caller& sup, const std::string& source) {
  auto current = sup.ok(200, "GET", "/v1/routing");
  return sup.call("PUT", "/v1/routing", source_body(source),
                  {{"If-Match", "\"v" + std::to_string(current.at("version").as_int64()) + "\""}});
}

// A server on the shipped rules with `routing_extra` in its [routing] section.
std::string with_routing(const std::string& routing_extra) {
  return std::string("[routing]\nrules = \"") + BATON_SOURCE_DIR + "/config/routing.toml\"\n" +
         routing_extra;
}

}  // namespace

TEST_CASE(
    "[regress] a rule set nested 100,000 deep is a 422 naming its place, and the server lives",
    "[api][blackbox][limits][regress]") {
  BatonServer server;
  Caller sup(server, server.token("supervisor"));
  std::string when = repeat("(", 100'000) + "true" + repeat(")", 100'000);
  std::string source = std::string(kQueues) +
                       "[[rules]]\nname = \"deep\"\nqueue = \"support\"\nwhen = '" + when + "'\n";
  auto deep = sup.call("POST", "/v1/routing/validate", source_body(source));
  INFO(deep.body);
  REQUIRE(deep.status == 422);
  auto err = json::parse(deep.body).at("errors").as_array()[0].as_object();
  CHECK(str(err.at("field")) == "rules[0].when");
  CHECK(err.at("line").as_int64() == 6);
  CHECK(str(err.at("message")).find("nested deeper than 64") != std::string::npos);

  // A key of 200,000 dotted segments is past the source limit (256 KiB) before anything
  // parses it; one of 20,000 is refused where its 17th segment begins. Both in PUTs.
  auto current = sup.ok(200, "GET", "/v1/routing");
  auto put = [&](const std::string& src) { return put_rules(sup, src); };
  auto huge = put(std::string(kQueues) + "a" + repeat(".a", 200'000) + " = 1\n");
  INFO(huge.body);
  REQUIRE(huge.status == 422);
  auto herr = json::parse(huge.body).at("errors").as_array()[0].as_object();
  CHECK(str(herr.at("field")) == "source");
  CHECK(str(herr.at("message")).find("262144") != std::string::npos);
  auto dotted = put(std::string(kQueues) + "a" + repeat(".a", 20'000) + " = 1\n");
  INFO(dotted.body);
  REQUIRE(dotted.status == 422);
  auto kerr = json::parse(dotted.body).at("errors").as_array()[0].as_object();
  CHECK(str(kerr.at("field")) == "source");
  CHECK(kerr.at("line").as_int64() == 3);
  CHECK(kerr.at("column").as_int64() == 32);
  // Nothing changed, and the server still answers.
  CHECK(sup.ok(200, "GET", "/v1/routing").at("version") == current.at("version"));
  CHECK(sup.call("GET", "/healthz").status == 200);
}

TEST_CASE("a match that read only match_text_bytes of a long body is counted and logged",
          "[api][blackbox][limits]") {
  BatonServer server(with_routing("match_text_bytes = 1024\n"));
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  auto put = put_rules(sup, std::string(kQueues) +
                                "[queues.billing]\nteams = [\"billing\"]\n[[rules]]\nname = "
                                "\"refunds\"\nwhen = 'body matches \"(refund).*(urgent)\"'\n"
                                "queue = \"billing\"\n");
  INFO(put.body);
  REQUIRE(put.status == 200);
  CHECK(metric(sup, "baton_rule_match_cut_short_total") == 0);

  auto post = [&](const std::string& body) {
    return gw.ok(
        201, "POST", "/v1/cases",
        json::serialize(json::object{
            {"channel", "email"},
            {"subject", "s"},
            {"body", body},
            {"customer", json::object{{"channel", "email"}, {"address", "a@b.example"}}}}));
  };
  // Inside the bound: routed by the rule.
  auto near = post("refund now, urgent");
  CHECK(str(near.at("queue")) == "billing");
  // Past it: not matched, counted, and logged with its case.
  auto far = post(repeat("refund ", 300) + "urgent");
  CHECK(str(far.at("queue")) == "support");
  CHECK(metric(sup, "baton_rule_match_cut_short_total") == 1);
  auto log = server.log_text();
  CHECK(log.find("rule 'refunds' read only the first 1024 bytes") != std::string::npos);
  CHECK(log.find(str(far.at("id"))) != std::string::npos);
}

TEST_CASE("[regress] [log] level is applied once the server listens", "[api][blackbox][regress]") {
  // At "error", the warning of a cut-short match is not written; at the default it is
  // (the test above).
  BatonServer server(with_routing("match_text_bytes = 1024\n[log]\nlevel = \"error\"\n"));
  Caller sup(server, server.token("supervisor"));
  Caller gw(server, server.token("gateway"));
  REQUIRE(put_rules(sup, std::string(kQueues) +
                             "[[rules]]\nname = \"refunds\"\nwhen = 'body contains \"urgent\"'\n"
                             "queue = \"support\"\n")
              .status == 200);
  gw.ok(201, "POST", "/v1/cases",
        json::serialize(json::object{
            {"channel", "email"},
            {"subject", "s"},
            {"body", repeat("x", 2000) + " urgent"},
            {"customer", json::object{{"channel", "email"}, {"address", "a@b.example"}}}}));
  CHECK(metric(sup, "baton_rule_match_cut_short_total") == 1);
  auto log = server.log_text();
  CHECK(log.find("\"address\"") != std::string::npos);  // the start is always written
  CHECK(log.find("read only the first") == std::string::npos);
}
