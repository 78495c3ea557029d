// The rule language's bounds: no source, expression or text can overflow a parser's stack
// or hold the engine, and a match cut short by its bound says so.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "baton/routing/expr.h"
#include "baton/routing/rules.h"

using baton::routing::CaseFacts;
using baton::routing::EvalReport;
using baton::routing::Expression;
using baton::routing::ExprLimits;
using baton::routing::RuleLimits;
using baton::routing::RuleSet;
using baton::routing::utc_only;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

std::string rule_with_when(const std::string& when) {
  return "[queues.support]\nteams = [\"support\"]\n\n[[rules]]\nname = \"deep\"\nqueue = "
         "\"support\"\nwhen = '" +
         when + "'\n";
}

}  // namespace

TEST_CASE("[regress] a `when` nested 100,000 deep is refused with its place, not a crash",
          "[routing][limits][regress]") {
  std::string when = repeat("(", 100'000) + "channel == \"chat\"" + repeat(")", 100'000);
  RuleLimits limits;
  limits.source_bytes = 1 << 20;
  auto r = RuleSet::parse(rule_with_when(when), utc_only(), limits);
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().field_errors.size() == 1);
  const auto& fe = r.error().field_errors[0];
  CHECK(fe.field == "rules[0].when");
  CHECK(fe.message.find("nested deeper than 64") != std::string::npos);
  CHECK(fe.line == 7);
  CHECK(fe.column == 8 + 65);  // the 65th "(" after `when = '`

  // "not" counts like a parenthesis.
  auto nots = Expression::parse(repeat("not ", 100'000) + "true");
  REQUIRE_FALSE(nots.has_value());
  CHECK(nots.error().message.find("nested deeper") != std::string::npos);

  // At the limit it parses and evaluates.
  auto at = Expression::parse(repeat("(", 64) + "channel == \"chat\"" + repeat(")", 64));
  REQUIRE(at.has_value());
  CaseFacts f;
  f.channel = "chat";
  CHECK(at->evaluate(f));
  ExprLimits tight;
  tight.depth = 3;
  CHECK_FALSE(Expression::parse("((( true )))", ExprLimits{.depth = 2}).has_value());
  CHECK(Expression::parse("((( true )))", tight).has_value());
}

TEST_CASE("a chain of 100,000 `or` terms is one flat node: parsed, evaluated and freed",
          "[routing][limits]") {
  std::string text =
      "channel == \"x\"" + repeat(" or channel == \"x\"", 100'000) + " or channel == \"chat\"";
  auto e = Expression::parse(text);
  REQUIRE(e.has_value());
  CaseFacts f;
  f.channel = "chat";
  CHECK(e->evaluate(f));
  f.channel = "email";
  CHECK_FALSE(e->evaluate(f));
  auto all = Expression::parse("true" + repeat(" and true", 100'000));
  REQUIRE(all.has_value());
  CHECK(all->evaluate(f));
}

TEST_CASE("[regress] a TOML key of 200,000 dotted segments is refused before it is parsed",
          "[routing][limits][regress]") {
  std::string key = "a" + repeat(".a", 200'000) + " = 1\n";
  RuleLimits limits;
  limits.source_bytes = 1 << 20;
  auto r = RuleSet::parse("[queues.support]\nteams = [\"support\"]\n" + key, utc_only(), limits);
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().field_errors.size() == 1);
  const auto& fe = r.error().field_errors[0];
  CHECK(fe.field == "source");
  CHECK(fe.line == 3);
  CHECK(fe.column == 32);  // the 16th dot: a.a. … 16 segments are allowed
  CHECK(fe.message.find("16 segments") != std::string::npos);

  // The same as a table name, with quoted segments and spaces.
  std::string table = "[\"q\"" + repeat(" . \"q\"", 20) + "]\n";
  auto t = RuleSet::parse(table, utc_only());
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().field_errors[0].line == 1);

  // Dots inside strings and comments, and floats, are not key segments.
  std::string fine = "[queues.support]\nteams = [\"" + repeat("a.", 100) + "\"]  # " +
                     repeat(".", 100) + "\n[queues.support.sla]\ntarget = 0.85\n";
  auto ok = RuleSet::parse(fine, utc_only());
  INFO((ok ? "" : ok.error().message));
  CHECK(ok.has_value());
}

TEST_CASE("a rule source over its size limit is refused before parsing", "[routing][limits]") {
  std::string source = "[queues.support]\nteams = [\"support\"]\n# " + repeat("x", 300'000) + "\n";
  auto r = RuleSet::parse(source, utc_only());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().field_errors[0].field == "source");
  CHECK(r.error().message.find("longer than 262144 bytes") != std::string::npos);
  RuleLimits roomy;
  roomy.source_bytes = 1 << 20;
  CHECK(RuleSet::parse(source, utc_only(), roomy).has_value());
}

TEST_CASE("[regress] `matches` on a 100 KB body takes linear time, and a cut-short miss says so",
          "[routing][limits][regress]") {
  // Backtracking engines take quadratic time or more here; RE2 does not backtrack.
  std::string body = repeat("refund ", 15'000);  // ~100 KB with no "urgent"
  CaseFacts f;
  f.body = body;
  ExprLimits all_of_it;
  all_of_it.text_bytes = body.size();
  auto e = Expression::parse(R"x(body matches "(refund).*(urgent)")x", all_of_it);
  REQUIRE(e.has_value());
  EvalReport report;
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(e->evaluate(f, &report));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(report.cut_short);
  // Generous for a sanitizer build on a loaded machine; a backtracking matcher takes
  // seconds to minutes on this input.
  CHECK(took < std::chrono::milliseconds(500));

  // The default bound reads 64 KiB: a word past it is not seen, and the miss is reported.
  std::string late = repeat("x", 70'000) + " urgent";
  f.body = late;
  auto bounded = Expression::parse(R"(body matches "urgent" or body contains "urgent")");
  REQUIRE(bounded.has_value());
  EvalReport cut;
  CHECK_FALSE(bounded->evaluate(f, &cut));
  CHECK(cut.cut_short);
  // A match inside the bound is a match, and nothing is reported.
  std::string early = "urgent " + repeat("x", 70'000);
  f.body = early;
  EvalReport hit;
  CHECK(bounded->evaluate(f, &hit));
  CHECK_FALSE(hit.cut_short);
  // The cut falls on a character boundary: a Korean word across it is not split into
  // bytes that match nothing.
  std::string korean = repeat("x", 65'535) + "환불";
  f.body = korean;
  auto k = Expression::parse(R"(body matches "^x+$")");
  REQUIRE(k.has_value());
  EvalReport kr;
  CHECK(k->evaluate(f, &kr));
}

TEST_CASE("patterns a linear-time matcher cannot run are refused at parse, with their place",
          "[routing][limits]") {
  for (const char* when : {R"x(subject matches "(a)\\1")x", R"x(subject matches "foo(?=bar)")x"}) {
    auto e = Expression::parse(when);
    INFO(when);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error().message.find("invalid regular expression") != std::string::npos);
    CHECK(e.error().field_errors[0].column == 17);  // the pattern's opening quote
  }
  // A pattern whose program outgrows the matcher's memory bound.
  auto huge = Expression::parse(R"x(subject matches "((((a{100}){100}){100}){100})")x");
  REQUIRE_FALSE(huge.has_value());
}

TEST_CASE("a rule set reports which rules' matches were cut short", "[routing][limits]") {
  RuleLimits limits;
  limits.expr.text_bytes = 1024;
  auto rules = RuleSet::parse(
      "[queues.support]\nteams = [\"support\"]\n[queues.billing]\nteams = [\"billing\"]\n"
      "[[rules]]\nname = \"refunds\"\nwhen = 'body matches \"refund\"'\nqueue = \"billing\"\n",
      utc_only(), limits);
  REQUIRE(rules.has_value());
  std::string body = std::string(2000, 'x') + " refund";
  CaseFacts f;
  f.body = body;
  auto plan = rules->plan(f, 0, {});
  CHECK(plan.queue == "support");
  REQUIRE(plan.cut_short_rules.size() == 1);
  CHECK(plan.cut_short_rules[0] == "refunds");
  std::string short_body = "refund";
  f.body = short_body;
  auto plan2 = rules->plan(f, 0, {});
  CHECK(plan2.queue == "billing");
  CHECK(plan2.cut_short_rules.empty());
}
