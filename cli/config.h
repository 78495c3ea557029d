#pragma once

// config/baton.toml: every setting of the server, each overridable by an environment
// variable BATON_<SECTION>_<KEY>. Unknown keys and bad values are refused with the key
// that is wrong.

#include <string>
#include <string_view>
#include <vector>

#include "baton/api/server.h"
#include "baton/base/result.h"
#include "baton/engine/engine.h"

namespace baton::cli {

struct Config {
  api::ServerOptions server;
  std::string db_path = "var/baton.db";
  std::string synchronous = "FULL";
  int read_connections = 4;
  Duration busy_timeout{5000};
  std::size_t max_batch = 20'000;
  std::size_t max_queue = 50'000;
  int checkpoint_pages = 10'000;
  std::string rules_path = "config/routing.toml";
  // A server sizes its tables for a busy center; the engine's own default (0) suits tests.
  engine::EngineConfig engine = [] {
    engine::EngineConfig e;
    e.expected_open_cases = 200'000;
    return e;
  }();
  std::string log_level = "info";
};

// Reads `path` (a missing file is an error only when `required`), then the environment.
Result<Config> load_config(const std::string& path, bool required);
// The settings of a config file's text; `path` names it in errors and anchors the paths
// it names. The environment is not read.
Result<Config> parse_config(std::string_view text, const std::string& path);

// "HOST:PORT" -> host, port.
Status parse_listen(const std::string& text, api::ServerOptions& into);

}  // namespace baton::cli
