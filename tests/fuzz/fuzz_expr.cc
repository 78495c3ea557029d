// libFuzzer: a `when` expression evaluated on random case facts. The input is the
// expression, then NUL-separated facts: channel, type, subject, body, customer name,
// account tier, an attribute's text; a short bound makes `matches`/`contains` cut texts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baton/base/assert.h"
#include "baton/routing/expr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < 8) {
    auto nul = in.find('\0');
    parts.push_back(in.substr(0, nul));
    if (nul == std::string_view::npos) {
      break;
    }
    in.remove_prefix(nul + 1);
  }
  parts.resize(8);
  baton::routing::ExprLimits limits;
  limits.text_bytes = 64;
  auto e = baton::routing::Expression::parse(parts[0], limits);
  if (!e) {
    BATON_CHECK(!e.error().field_errors.empty(), "a refused expression says where");
    return 0;
  }
  baton::Attributes attributes{{"text", std::string(parts[7])},
                               {"n", static_cast<double>(parts[7].size()) - 3.5},
                               {"flag", parts[7].empty()}};
  std::vector<std::string> tags{std::string(parts[6])};
  baton::routing::CaseFacts facts;
  facts.channel = parts[1];
  facts.type = parts[2];
  facts.subject = parts[3];
  facts.body = parts[4];
  facts.customer_name = parts[5];
  facts.has_account = !parts[6].empty();
  facts.account_tier = parts[6];
  facts.priority = static_cast<int>(size % 6);
  facts.attributes = &attributes;
  facts.tags = &tags;
  baton::routing::EvalReport report;
  bool first = e->evaluate(facts, &report);
  BATON_CHECK(e->evaluate(facts) == first, "evaluation is a function of the facts");
  return 0;
}
