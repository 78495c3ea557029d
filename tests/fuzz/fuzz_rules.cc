// libFuzzer: a routing rule set (TOML, queues, calendars, `when` expressions) as a
// supervisor could send it, then planned for a case. Any input: an answer, never a crash,
// a hang or a stack overflow.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "baton/base/assert.h"
#include "baton/routing/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  auto rules = baton::routing::RuleSet::parse(source, baton::routing::utc_only());
  if (!rules) {
    // A refusal says where: every fault names its field.
    for (const auto& fe : rules.error().field_errors) {
      BATON_CHECK(!fe.field.empty(), "a rule fault names its field");
    }
    return 0;
  }
  baton::Attributes attributes{{"amount", 150.0}, {"order", std::string("A-1")}};
  std::vector<std::string> tags{"vip"};
  baton::routing::CaseFacts facts;
  facts.channel = "chat";
  facts.type = "support";
  facts.subject = "환불 refund";
  facts.body = source;  // the source's own bytes as a body: arbitrary text for `matches`
  facts.attributes = &attributes;
  facts.tags = &tags;
  auto plan = rules->plan(facts, 0, {});
  BATON_CHECK(!plan.queue.empty(), "every plan names a queue");
  return 0;
}
