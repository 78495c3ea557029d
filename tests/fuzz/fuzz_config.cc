// libFuzzer: baton.toml's text. Any input: the settings or a refusal naming the key,
// never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "baton/base/assert.h"

#include "config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = baton::cli::parse_config(text, "/etc/baton/baton.toml");
  if (c) {
    BATON_CHECK(c->server.limits.body_bytes >= 1024, "a limit stays in its range");
    BATON_CHECK(c->engine.rule_limits.expr.depth >= 1, "a limit stays in its range");
  }
  return 0;
}
