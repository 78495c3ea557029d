// The API's JSON codec (white-box: api/src/codec.h): ids, times, and the directly
// written case text agreeing with the object form.

#include "codec.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace baton;
using namespace baton::engine;
namespace json = boost::json;

TEST_CASE("ids sort as text in the order they were made and read back", "[api][codec]") {
  std::vector<std::string> ids;
  for (std::uint64_t n : {1ULL, 2ULL, 31ULL, 32ULL, 1000ULL, 1ULL << 40}) {
    ids.push_back(api::id_text("case_", n));
    CHECK(api::parse_id("case_", ids.back()) == n);
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(ids[0] == "case_0000000001");
  CHECK_FALSE(api::parse_id("case_", "case_000000000w").has_value());  // not a digit
  CHECK_FALSE(api::parse_id("case_", "off_0000000001").has_value());
  CHECK_FALSE(api::parse_id("case_", "case_1").has_value());
  CHECK_FALSE(api::parse_id("case_", "case_0000000000").has_value());
  CHECK(api::parse_agent_id("agt_ana") == AgentId("ana"));
  CHECK_FALSE(api::parse_agent_id("ana").has_value());
}

TEST_CASE("times are RFC 3339 UTC with milliseconds, and offsets read back", "[api][codec]") {
  auto t = api::parse_time("2026-11-23T10:15:30.125Z");
  REQUIRE(t.has_value());
  CHECK(api::format_time(*t) == "2026-11-23T10:15:30.125Z");
  CHECK(api::parse_time("2026-11-23T19:15:30.125+09:00") == t);
  CHECK(api::parse_time("2026-11-23T10:15:30Z") == *t - Duration{125});
  CHECK_FALSE(api::parse_time("2026-02-30T10:15:30Z").has_value());
  CHECK_FALSE(api::parse_time("2026-11-23 10:15:30Z").has_value());
  CHECK_FALSE(api::parse_time("2026-11-23T10:15:30").has_value());
  // Every field at its edges, digit by digit.
  for (const char* text :
       {"1970-01-01T00:00:00.000Z", "2000-02-29T23:59:59.999Z", "2026-01-09T07:05:03.007Z",
        "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.001Z"}) {
    auto u = api::parse_time(text);
    REQUIRE(u.has_value());
    CHECK(api::format_time(*u) == text);
  }
  CHECK(api::format_time(TimePoint{Duration{-1}}) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("a case written directly is the same JSON as its object form", "[api][codec]") {
  Case c;
  c.id = CaseId(42);
  c.channel = Channel::Email;
  c.type = "lead";
  c.subject = "견적 \"40 seats\"\n\ttab\\ \x01";
  c.status = CaseStatus::Assigned;
  c.priority = 2;
  c.queue = "sales";
  c.customer = CustomerId(7);
  c.required_skills = {{"billing", 5}, {"korean", 7}};
  c.tags = {"vip", "refund"};
  c.attributes = {{"order", std::string("A-1")},
                  {"seats", 40.0},
                  {"ratio", 0.25},
                  {"paid", true},
                  {"none", std::monostate{}},
                  // [regress] a key is escaped like a value: this one once forged "status".
                  {"x\":0,\"status\":\"closed\",\"z", 1.0}};
  c.required_skills["k\"\\}"] = 2;
  c.external_ref = "zd-55";
  c.created_at = *api::parse_time("2026-11-23T10:15:30.125Z");
  c.updated_at = c.created_at + Duration{5};
  SECTION("with the optional fields unset") {}
  SECTION("with every optional field set") {
    c.account = AccountId(3);
    c.assignee = AgentId("ana");
    c.offer = OfferId(9);
    c.from_handoff = HandoffId(2);
    c.first_response_due = c.created_at + Duration{60'000};
    c.resolution_due = c.created_at + Duration{3'600'000};
    c.first_response_at = c.created_at + Duration{1000};
    c.resolved_at = c.created_at + Duration{2000};
    c.suggested_handoffs = {"upsell"};
  }
  json::value direct = json::parse(api::case_text(c));
  json::value object = api::to_json(c);
  CHECK(json::serialize(direct) == json::serialize(object));
  CHECK(direct.at("status") == "assigned");
}
