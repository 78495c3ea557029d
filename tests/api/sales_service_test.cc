// Black-box: sales and service on one record. Support hands a customer to sales and back,
// the sales owner's absence falls back to the sales team, customers merge, and the
// customer's timeline shows all of it, newest first, with the handoffs inline.

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "api_caller.h"
#include "baton_server.h"

namespace json = boost::json;
using baton::testing::BatonServer;
using baton::testing::Caller;
using baton::testing::str;

namespace {

const char* kSam =
    R"({"id": "agt_sam", "name": "Sam Park", "role": "sales", "teams": ["sales"], "capacity": {"chat": 3, "email": 3}})";
const char* kSue =
    R"({"id": "agt_sue", "name": "Sue Han", "role": "sales", "teams": ["sales"], "capacity": {"chat": 3, "email": 3}})";
const char* kAna =
    R"({"id": "agt_ana", "name": "Ana Kim", "role": "agent", "teams": ["support"], "capacity": {"chat": 3, "email": 3}})";

// The agent's first pending offer, waited for (routing runs after the commit).
json::object wait_offer(Caller& agent, const std::string& case_id = "") {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto offers = agent.ok(200, "GET", "/v1/offers?status=pending").at("data").as_array();
    for (const auto& o : offers) {
      if (case_id.empty() || str(o.at("case_id")) == case_id) {
        return o.as_object();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("no offer arrived for " << case_id);
  return {};
}

// Now plus `offset_s`, as RFC 3339 UTC.
std::string rfc3339(long offset_s) {
  std::time_t t = std::time(nullptr) + offset_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> types_of(const json::array& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(str(e.at("type")));
  }
  return out;
}

std::size_t count_of(const std::vector<std::string>& v, const std::string& what) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), what));
}

struct Desk {
  // As shipped: national phone numbers are Korean.
  BatonServer server{"[engine]\ndefault_country = \"82\"\n"};
  Caller sup{server, server.token("supervisor")};
  Caller gw{server, server.token("gateway")};
  Caller ana{server, server.token("agent", "agt_ana")};
  Caller sam{server, server.token("agent", "agt_sam")};
  Caller sue{server, server.token("agent", "agt_sue")};
  std::string account, customer;

  Desk() {
    sup.ok(201, "POST", "/v1/agents", kAna);
    sup.ok(201, "POST", "/v1/agents", kSam);
    sup.ok(201, "POST", "/v1/agents", kSue);
    account = str(
        sup.ok(201, "POST", "/v1/accounts",
               R"({"name": "Hanbit Co", "tier": "gold", "segment": "smb", "sales_owner": "agt_sam"})")
            .at("id"));
    customer = str(sup.ok(201, "POST", "/v1/customers",
                          R"({"name": "Minji Lee", "account_id": ")" + account +
                              R"(", "identities": [{"channel": "chat", "address": "web:8812"},
                                 {"channel": "email", "address": "Minji@Example.com"}]})")
                       .at("id"));
  }

  void available(Caller& who, const std::string& agent) {
    who.ok(200, "PUT", "/v1/agents/" + agent + "/presence", R"({"presence": "available"})");
  }

  // A chat case from the customer, taken by Ana; returns its id.
  std::string support_case_taken(const std::string& subject) {
    auto c = gw.ok(
        201, "POST", "/v1/cases",
        R"({"channel": "chat", "type": "support", "subject": ")" + subject +
            R"(", "body": "우리 팀이 40명으로 늘었어요", "customer": {"channel": "chat", "address": "web:8812"}})");
    std::string id = str(c.at("id"));
    auto offer = wait_offer(ana, id);
    ana.ok(200, "POST", "/v1/offers/" + str(offer.at("id")) + "/accept");
    return id;
  }
};

}  // namespace

TEST_CASE("support to sales: suggested, handed off with context, accepted by the owner, won",
          "[api][blackbox][sales]") {
  Desk d;
  d.available(d.ana, "agt_ana");
  d.available(d.sam, "agt_sam");
  std::string src = d.support_case_taken("Upgrade to 40 seats?");
  auto c = d.sup.ok(200, "GET", "/v1/cases/" + src);
  // The rules' one definition of a lead candidate marked it.
  REQUIRE(c.at("suggested_handoffs").as_array().size() == 1);
  CHECK(str(c.at("suggested_handoffs").at(0)) == "upsell");
  d.ana.ok(201, "POST", "/v1/cases/" + src + "/messages",
           R"({"direction": "out", "body": "I will ask our sales team"})");

  auto h = d.ana.ok(201, "POST", "/v1/cases/" + src + "/handoffs",
                    R"({"to": "sales_owner", "reason": "upsell", "note": "Team plan, 40 seats"})");
  CHECK(str(h.at("to")) == "sales_owner");
  CHECK(str(h.at("to_agent")) == "agt_sam");
  CHECK(str(h.at("from_agent")) == "agt_ana");
  CHECK(str(h.at("status")) == "open");
  CHECK(h.at("outcome").is_null());
  std::string lead = str(h.at("to_case"));
  auto lc = d.sup.ok(200, "GET", "/v1/cases/" + lead);
  CHECK(str(lc.at("type")) == "lead");
  CHECK(str(lc.at("queue")) == "sales");
  CHECK(str(lc.at("customer_id")) == d.customer);
  CHECK(str(lc.at("account_id")) == d.account);
  CHECK(str(lc.at("channel")) == "chat");
  CHECK(str(lc.at("subject")) == "Upgrade to 40 seats?");
  // The source stays with Ana.
  CHECK(str(d.sup.ok(200, "GET", "/v1/cases/" + src).at("assignee")) == "agt_ana");

  // The lead starts with the context: the note and the last messages, in order.
  auto lead_events = d.sup.ok(200, "GET", "/v1/cases/" + lead + "/events").at("data").as_array();
  auto note = std::find_if(lead_events.begin(), lead_events.end(),
                           [](const json::value& e) { return e.at("type") == "note"; });
  REQUIRE(note != lead_events.end());
  std::string body = str(note->at("data").at("body"));
  INFO(body);
  CHECK(body.find("Team plan, 40 seats") != std::string::npos);
  auto in = body.find("customer: 우리 팀이 40명으로 늘었어요");
  auto out = body.find("agent: I will ask our sales team");
  CHECK(in != std::string::npos);
  CHECK(out != std::string::npos);
  CHECK(in < out);

  // Sam, the account's sales owner, gets it and accepts: the handoff is accepted.
  auto offer = wait_offer(d.sam, lead);
  d.sam.ok(200, "POST", "/v1/offers/" + str(offer.at("id")) + "/accept");
  auto accepted = d.sup.ok(200, "GET", "/v1/handoffs/" + str(h.at("id")));
  CHECK(str(accepted.at("status")) == "accepted");
  CHECK(accepted.at("accepted_at").is_string());
  auto won = d.sam.ok(200, "POST", "/v1/handoffs/" + str(h.at("id")) + "/complete",
                      R"({"outcome": "won"})");
  CHECK(str(won.at("outcome")) == "won");
  CHECK(won.at("completed_at").is_string());
  auto twice =
      d.sam.call("POST", "/v1/handoffs/" + str(h.at("id")) + "/complete", R"({"outcome": "lost"})");
  CHECK(twice.status == 409);

  // Every step is on both cases' timelines.
  auto src_types =
      types_of(d.sup.ok(200, "GET", "/v1/cases/" + src + "/events").at("data").as_array());
  CHECK(count_of(src_types, "handed_off") == 1);
  CHECK(count_of(src_types, "handoff_accepted") == 1);
  CHECK(count_of(src_types, "handoff_completed") == 1);
  auto lead_types =
      types_of(d.sup.ok(200, "GET", "/v1/cases/" + lead + "/events").at("data").as_array());
  CHECK(count_of(lead_types, "handed_off") == 1);
  CHECK(count_of(lead_types, "accepted") == 1);
  CHECK(count_of(lead_types, "handoff_completed") == 1);

  // One customer timeline: both cases, newest first, handoffs inline with their outcome.
  auto tl = d.sup.ok(200, "GET", "/v1/customers/" + d.customer + "/timeline?limit=500")
                .at("data")
                .as_array();
  std::set<std::string> cases, case_types;
  std::string prev_at = "9999", prev_id = "evt_zzzz";
  for (const auto& e : tl) {
    std::string at = str(e.at("at")), id = str(e.at("id"));
    CHECK((at < prev_at || (at == prev_at && id < prev_id)));
    prev_at = at;
    prev_id = id;
    cases.insert(str(e.at("case_id")));
    case_types.insert(str(e.at("case_type")));
    CHECK(str(e.at("channel")) == "chat");
    if (e.at("type") == "handed_off" || e.at("type") == "handoff_completed") {
      REQUIRE(e.as_object().contains("handoff"));
      CHECK(str(e.at("handoff").at("id")) == str(h.at("id")));
      CHECK(str(e.at("handoff").at("outcome")) == "won");
    }
  }
  CHECK(cases == std::set<std::string>{src, lead});
  CHECK(case_types == std::set<std::string>{"support", "lead"});
  CHECK(str(tl.front().at("type")) == "handoff_completed");

  // The day's report counts it: one upsell, accepted, won; both queues answered one case.
  std::string from = rfc3339(-86'400), to = rfc3339(86'400);
  std::string window = "from=" + from + "&to=" + to;
  auto report = d.sup.ok(200, "GET", "/v1/reports/summary?" + window);
  auto handoffs = report.at("handoffs").as_array();
  REQUIRE(handoffs.size() == 1);
  CHECK(str(handoffs[0].at("reason")) == "upsell");
  CHECK(handoffs[0].at("created").as_int64() == 1);
  CHECK(handoffs[0].at("accepted").as_int64() == 1);
  CHECK(handoffs[0].at("outcomes").at("won").as_int64() == 1);
  CHECK(handoffs[0].at("conversion").as_double() == 1.0);
  CHECK(handoffs[0].at("time_to_accept").at("count").as_int64() == 1);
  for (const auto& q : report.at("queues").as_array()) {
    CHECK(q.at("cases").as_int64() == 1);
    CHECK(q.at("answered").as_int64() == 1);
  }
  for (const auto& a : report.at("agents").as_array()) {
    if (a.at("agent") == "agt_ana") {
      CHECK(a.at("handoffs_sent").as_int64() == 1);
      CHECK(a.at("first_response").at("count").as_int64() == 1);
    }
    if (a.at("agent") == "agt_sam") {
      CHECK(a.at("handoffs_received").as_int64() == 1);
    }
  }
  // `baton report` reads the same history to the same figures.
  int code = -1;
  std::string cli = baton::testing::run_baton(
      {"report", "--config", d.server.config(), "--db", d.server.db(), "--from", from, "--to", to},
      code);
  CHECK(code == 0);
  CHECK(json::parse(cli) == json::value(report));
  // Bad windows and roles.
  CHECK(d.sup.call("GET", "/v1/reports/summary?from=yesterday").status == 422);
  CHECK(d.sup.call("GET", "/v1/reports/summary?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z")
            .status == 422);
  CHECK(d.ana.call("GET", "/v1/reports/summary").status == 403);
  auto today = d.sup.ok(200, "GET", "/v1/reports/summary");
  CHECK(today.at("handoffs").as_array().size() == 1);
  // Sales' view of the account: the support case is still open with Ana.
  auto acc = d.sam.ok(200, "GET", "/v1/accounts/" + d.account + "/summary");
  CHECK(acc.at("open_cases").as_int64() == 2);  // the support case and the won lead
  CHECK(acc.at("open_handoffs").as_array().empty());
  CHECK(d.sam.call("GET", "/v1/accounts/acc_zzzzzzzz/summary").status == 404);
}

TEST_CASE("sales to support: an onboarding handoff to the support team", "[api][blackbox][sales]") {
  Desk d;
  d.available(d.sam, "agt_sam");
  auto lead = d.gw.ok(201, "POST", "/v1/cases",
                      R"({"channel": "email", "type": "lead", "subject": "Team plan",
                          "customer": {"channel": "email", "address": "MINJI@example.com"}})");
  CHECK(str(lead.at("customer_id")) == d.customer);  // the same person, case-folded
  auto offer = wait_offer(d.sam, str(lead.at("id")));
  d.sam.ok(200, "POST", "/v1/offers/" + str(offer.at("id")) + "/accept");
  auto h =
      d.sam.ok(201, "POST", "/v1/cases/" + str(lead.at("id")) + "/handoffs",
               R"({"to": "team:support", "reason": "onboarding", "note": "Signed: set up SSO"})");
  CHECK(h.at("to_agent").is_null());
  auto ob = d.sup.ok(200, "GET", "/v1/cases/" + str(h.at("to_case")));
  CHECK(str(ob.at("type")) == "onboarding");
  CHECK(str(ob.at("queue")) == "support");
  CHECK(str(ob.at("status")) == "queued");  // nobody in support is available yet
  d.available(d.ana, "agt_ana");
  auto o2 = wait_offer(d.ana, str(h.at("to_case")));
  d.ana.ok(200, "POST", "/v1/offers/" + str(o2.at("id")) + "/accept");
  CHECK(str(d.sup.ok(200, "GET", "/v1/handoffs/" + str(h.at("id"))).at("status")) == "accepted");
  auto done = d.ana.ok(200, "POST", "/v1/handoffs/" + str(h.at("id")) + "/complete",
                       R"({"outcome": "resolved"})");
  CHECK(str(done.at("status")) == "completed");
  auto mine = d.sup.ok(200, "GET", "/v1/handoffs?reason=onboarding&from_agent=agt_sam");
  CHECK(mine.at("data").as_array().size() == 1);
}

TEST_CASE("the sales owner offline: the lead waits its window, then goes to the sales team",
          "[api][blackbox][sales]") {
  Desk d;
  // A short owner window for the test (2 minutes as shipped).
  auto rules = d.sup.call("GET", "/v1/routing");
  REQUIRE(rules.status == 200);
  std::string source = str(json::parse(rules.body).at("source"));
  auto at = source.find("owner_first = \"2m\"");
  REQUIRE(at != std::string::npos);
  source.replace(at, 18, "owner_first = \"1s\"");
  auto put = d.sup.call("PUT", "/v1/routing", json::serialize(json::object{{"source", source}}),
                        {{"If-Match", rules.header("etag")}});
  INFO(put.body);
  REQUIRE(put.status == 200);

  d.available(d.ana, "agt_ana");
  d.available(d.sue, "agt_sue");  // Sam, the owner, stays offline
  std::string src = d.support_case_taken("more seats");
  auto t0 = std::chrono::steady_clock::now();
  auto h = d.ana.ok(201, "POST", "/v1/cases/" + src + "/handoffs",
                    R"({"to": "sales_owner", "reason": "upsell"})");
  std::string lead = str(h.at("to_case"));
  CHECK(str(h.at("to_agent")) == "agt_sam");
  // Not offered to Sue while the owner's window runs.
  CHECK(d.sue.ok(200, "GET", "/v1/offers?status=pending").at("data").as_array().empty());
  auto offer = wait_offer(d.sue, lead);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(900));
  auto events = d.sup.ok(200, "GET", "/v1/cases/" + lead + "/events").at("data").as_array();
  auto esc = std::find_if(events.begin(), events.end(),
                          [](const json::value& e) { return e.at("type") == "escalated"; });
  REQUIRE(esc != events.end());
  CHECK(str(esc->at("data").at("step")).find("account owner") != std::string::npos);
  d.sue.ok(200, "POST", "/v1/offers/" + str(offer.at("id")) + "/accept");
  auto accepted = d.sup.ok(200, "GET", "/v1/handoffs/" + str(h.at("id")));
  CHECK(str(accepted.at("status")) == "accepted");
}

TEST_CASE("merging customers moves their cases and identities onto one timeline",
          "[api][blackbox][merge]") {
  Desk d;
  // The same person called in, unknown: a second customer.
  auto call = d.gw.ok(201, "POST", "/v1/cases",
                      R"({"channel": "voice", "type": "support", "subject": "phone call",
                          "customer": {"channel": "voice", "address": "010-1234-5678", "name": "Minji"}})");
  std::string other = str(call.at("customer_id"));
  REQUIRE(other != d.customer);
  CHECK(str(d.sup.ok(200, "GET", "/v1/customers/" + other).at("identities").at(0).at("address")) ==
        "+821012345678");
  auto chat = d.gw.ok(201, "POST", "/v1/cases",
                      R"({"channel": "chat", "type": "support", "subject": "chat",
                          "customer": {"channel": "chat", "address": "web:8812"}})");

  // Bad merges.
  CHECK(
      d.sup.call("POST", "/v1/customers/" + d.customer + "/merge", R"({"from": "nope"})").status ==
      422);
  CHECK(d.sup
            .call("POST", "/v1/customers/" + d.customer + "/merge",
                  R"({"from": ")" + d.customer + R"("})")
            .status == 422);
  CHECK(d.sup.call("POST", "/v1/customers/cus_zzzzzzzz/merge", R"({"from": ")" + other + R"("})")
            .status == 404);
  CHECK(
      d.ana
          .call("POST", "/v1/customers/" + d.customer + "/merge", R"({"from": ")" + other + R"("})")
          .status == 403);

  auto merged = d.sup.ok(200, "POST", "/v1/customers/" + d.customer + "/merge",
                         R"({"from": ")" + other + R"("})");
  CHECK(merged.at("identities").as_array().size() == 3);
  CHECK(str(d.sup.ok(200, "GET", "/v1/customers/" + other).at("merged_into")) == d.customer);
  CHECK(
      d.sup
          .call("POST", "/v1/customers/" + d.customer + "/merge", R"({"from": ")" + other + R"("})")
          .status == 409);
  CHECK(str(d.sup.ok(200, "GET", "/v1/cases/" + str(call.at("id"))).at("customer_id")) ==
        d.customer);

  auto check_timeline = [&](Caller& sup) {
    auto tl = sup.ok(200, "GET", "/v1/customers/" + d.customer + "/timeline?limit=500")
                  .at("data")
                  .as_array();
    REQUIRE_FALSE(tl.empty());
    CHECK(str(tl.front().at("type")) == "customer_merged");
    CHECK(tl.front().at("case_id").is_null());
    CHECK(str(tl.front().at("data").at("from")) == other);
    std::set<std::string> cases;
    for (const auto& e : tl) {
      if (!e.at("case_id").is_null()) {
        cases.insert(str(e.at("case_id")));
      }
    }
    CHECK(cases == std::set<std::string>{str(call.at("id")), str(chat.at("id"))});
    CHECK(sup.ok(200, "GET", "/v1/customers/" + other + "/timeline").at("data").as_array().empty());
  };
  check_timeline(d.sup);

  // A later call from that number joins the survivor; all of it survives a restart.
  auto again = d.gw.ok(201, "POST", "/v1/cases",
                       R"({"channel": "voice", "type": "support", "subject": "again",
                           "customer": {"channel": "voice", "address": "+82 10 1234 5678"}})");
  CHECK(str(again.at("customer_id")) == d.customer);
  REQUIRE(d.server.stop(SIGTERM) == 0);
  d.server.start();
  Caller sup(d.server, d.server.token("supervisor"));
  CHECK(str(sup.ok(200, "GET", "/v1/customers/" + other).at("merged_into")) == d.customer);
  auto after = sup.ok(200, "GET", "/v1/customers/" + d.customer);
  CHECK(after.at("identities").as_array().size() == 3);
  Caller gw(d.server, d.server.token("gateway"));
  auto third = gw.ok(201, "POST", "/v1/cases",
                     R"({"channel": "voice", "type": "support", "subject": "third",
                         "customer": {"channel": "voice", "address": "01012345678"}})");
  CHECK(str(third.at("customer_id")) == d.customer);
}
