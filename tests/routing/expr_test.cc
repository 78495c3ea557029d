#include "baton/routing/expr.h"

#include <catch2/catch.hpp>

using baton::Attributes;
using baton::routing::CaseFacts;
using baton::routing::Expression;

namespace {

struct Fixture {
  Attributes attrs{{"order_id", std::string("A-1001")},
                   {"amount", std::string("150")},
                   {"vip", true},
                   {"seats", 40.0}};
  std::vector<std::string> tags{"vip", "refund"};
  CaseFacts facts() const {
    CaseFacts f;
    f.channel = "chat";
    f.type = "support";
    f.subject = "환불 요청 please REFUND";
    f.body = "I want my money back";
    f.priority = 2;
    f.has_account = true;
    f.account_tier = "gold";
    f.account_name = "Hanbit Co";
    f.customer_name = "Minji Lee";
    f.attributes = &attrs;
    f.tags = &tags;
    return f;
  }
};

bool eval(const std::string& text, const CaseFacts& f) {
  auto e = Expression::parse(text);
  INFO(text << (e ? "" : " -> " + e.error().message));
  REQUIRE(e.has_value());
  return e->evaluate(f);
}

}  // namespace

TEST_CASE("comparisons over case, account and attributes", "[routing][expr]") {
  Fixture fx;
  auto f = fx.facts();
  CHECK(eval(R"(channel == "chat")", f));
  CHECK_FALSE(eval(R"(channel == "email")", f));
  CHECK(eval(R"(channel != "email")", f));
  CHECK(eval("priority <= 2", f));
  CHECK_FALSE(eval("priority > 2", f));
  CHECK(eval(R"(account.tier == "gold")", f));
  CHECK(eval(R"(attributes.order_id == "A-1001")", f));
  CHECK(eval("attributes.seats >= 40", f));
  CHECK(eval("attributes.vip == true", f));
  // Text that reads as a number compares as a number.
  CHECK(eval("attributes.amount > 100", f));
  CHECK(eval(R"(case.type == "support")", f));
}

TEST_CASE("and binds tighter than or, not negates, parentheses group", "[routing][expr]") {
  Fixture fx;
  auto f = fx.facts();
  CHECK(eval(R"(channel == "email" and type == "x" or channel == "chat")", f));
  CHECK_FALSE(eval(R"(channel == "email" and (type == "x" or channel == "chat"))", f));
  CHECK(eval(R"(not channel == "email")", f));
  CHECK_FALSE(eval(R"(not (channel == "chat" and priority == 2))", f));
}

TEST_CASE("in and not in lists, and tags", "[routing][expr]") {
  Fixture fx;
  auto f = fx.facts();
  CHECK(eval(R"(account.tier in ["gold", "platinum"])", f));
  CHECK_FALSE(eval(R"(account.tier in ["silver"])", f));
  CHECK(eval(R"(account.tier not in ["silver", "bronze"])", f));
  CHECK(eval("priority in [1, 2]", f));
  CHECK(eval(R"("vip" in tags)", f));
  CHECK_FALSE(eval(R"("spam" in tags)", f));
  CHECK(eval(R"(tags contains "refund")", f));
  CHECK_FALSE(eval("account.tier in []", f));
}

TEST_CASE("matches is a UTF-8 regex with inline flags", "[routing][expr]") {
  Fixture fx;
  auto f = fx.facts();
  CHECK(eval(R"(subject matches "(?i)refund|환불")", f));
  CHECK(eval(R"(subject matches "환불")", f));
  CHECK_FALSE(eval(R"(subject matches "견적|요금제")", f));
  // Case-sensitive without (?i).
  CHECK_FALSE(eval(R"(body matches "MONEY")", f));
  CHECK(eval(R"(body matches "(?i)MONEY")", f));
  // "." is one character, even for Hangul (three bytes in UTF-8).
  CHECK(eval(R"(subject matches "^환. 요청")", f));
  CHECK_FALSE(eval(R"(subject matches "^환.. 요청")", f));
  CHECK(eval(R"(subject matches "^[가-힣]{2} [가-힣]{2}")", f));
  CHECK(eval(R"(body contains "money")", f));
}

TEST_CASE("a missing value is null: equal only to null, never ordered", "[routing][expr]") {
  CaseFacts f;  // no account, no attributes
  f.channel = "email";
  CHECK_FALSE(eval(R"(account.tier == "gold")", f));
  CHECK(eval(R"(account.tier != "gold")", f));
  CHECK(eval("account.tier == null", f));
  CHECK_FALSE(eval("attributes.amount > 1", f));
  CHECK_FALSE(eval("attributes.amount < 1", f));
  CHECK_FALSE(eval(R"(attributes.x matches ".*")", f));
  CHECK_FALSE(eval("priority == 3", f));  // no priority sent
}

TEST_CASE("parse errors name the column of the fault", "[routing][expr]") {
  struct Case {
    std::string text;
    int column;
    std::string says;
  };
  auto c = GENERATE(values<Case>({
      {R"(channel = "chat")", 9, "unexpected character"},
      {R"(chanel == "chat")", 1, "unknown field 'chanel'"},
      {R"(channel == "chat" and)", 22, "expected a value"},
      {R"(channel == "chat)", 12, "unterminated string"},
      {R"(subject matches "(unclosed")", 17, "invalid regular expression"},
      {R"(account.tier in ["gold" "x"])", 25, "expected ',' or ']'"},
      {R"((channel == "chat")", 1, "unclosed '('"},
      {R"(subject == "환불" andd x)", 17, "unexpected 'andd'"},
  }));
  auto e = Expression::parse(c.text);
  INFO(c.text);
  REQUIRE_FALSE(e.has_value());
  REQUIRE(e.error().field_errors.size() == 1);
  const auto& fe = e.error().field_errors[0];
  CHECK(fe.line == 1);
  CHECK(fe.column == c.column);
  CHECK_THAT(fe.message, Catch::Contains(c.says));
}
