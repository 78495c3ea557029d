#include "config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "baton/routing/rules.h"

namespace baton::cli {

namespace {

// One setting: how to read it from text (the environment) and from TOML.
struct Setting {
  std::function<Status(const std::string&)> set;
};

Status bad(const std::string& key, const std::string& why) {
  return Error(ErrorCode::InvalidArgument, key + ": " + why, {FieldError{key, why}});
}

template <class T>
std::function<Status(const std::string&)> integer(const std::string& key, T& into, long long lo,
                                                  long long hi) {
  return [key, &into, lo, hi](const std::string& v) -> Status {
    long long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
      return bad(key, "must be an integer " + std::to_string(lo) + "–" + std::to_string(hi));
    }
    into = static_cast<T>(n);
    return {};
  };
}

std::function<Status(const std::string&)> number(const std::string& key, double& into, double lo,
                                                 double hi) {
  return [key, &into, lo, hi](const std::string& v) -> Status {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(d >= lo && d <= hi)) {
      return bad(key, "must be a number " + std::to_string(lo) + "–" + std::to_string(hi));
    }
    into = d;
    return {};
  };
}

// A list of host names, comma-separated as an environment variable carries it (a TOML
// array of strings arrives the same way); kept in lower case, as URLs are compared.
std::function<Status(const std::string&)> host_list(const std::string& key,
                                                    std::vector<std::string>& into) {
  return [key, &into](const std::string& v) -> Status {
    std::vector<std::string> hosts;
    std::stringstream in(v);
    std::string h;
    while (std::getline(in, h, ',')) {
      h.erase(0, h.find_first_not_of(' '));
      h.erase(h.find_last_not_of(' ') + 1);
      if (h.empty() || h.size() > 253 || h.find_first_of(" /@#?") != std::string::npos) {
        return bad(key, "must be host names or addresses");
      }
      std::transform(h.begin(), h.end(), h.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      hosts.push_back(h);
    }
    into = std::move(hosts);
    return {};
  };
}

std::function<Status(const std::string&)> text(std::string& into) {
  return [&into](const std::string& v) -> Status {
    into = v;
    return {};
  };
}

std::function<Status(const std::string&)> duration(const std::string& key, Duration& into) {
  return [key, &into](const std::string& v) -> Status {
    auto d = parse_duration(v);
    if (!d || d->count() <= 0) {
      return bad(key, "must be a positive duration like 10s, 5m or 24h");
    }
    into = *d;
    return {};
  };
}

std::function<Status(const std::string&)> boolean(const std::string& key, bool& into) {
  return [key, &into](const std::string& v) -> Status {
    if (v != "true" && v != "false") {
      return bad(key, "must be true or false");
    }
    into = v == "true";
    return {};
  };
}

std::map<std::string, Setting> settings(Config& c) {
  auto& l = c.server.limits;
  std::map<std::string, Setting> s;
  s["server.listen"] = {[&c](const std::string& v) { return parse_listen(v, c.server); }};
  s["server.io_threads"] = {integer("server.io_threads", c.server.io_threads, 1, 256)};
  s["server.workspace"] = {text(c.server.workspace)};
  s["server.metrics_open_on_loopback"] = {
      boolean("server.metrics_open_on_loopback", c.server.metrics_open_on_loopback)};
  s["database.path"] = {text(c.db_path)};
  s["database.synchronous"] = {[&c](const std::string& v) -> Status {
    if (v != "FULL" && v != "NORMAL") {
      return bad("database.synchronous", "must be FULL or NORMAL");
    }
    c.synchronous = v;
    return {};
  }};
  s["database.read_connections"] = {
      integer("database.read_connections", c.read_connections, 1, 64)};
  s["database.busy_timeout"] = {duration("database.busy_timeout", c.busy_timeout)};
  s["database.max_batch"] = {integer("database.max_batch", c.max_batch, 1, 1'000'000)};
  s["database.max_queue"] = {integer("database.max_queue", c.max_queue, 1, 10'000'000)};
  s["database.checkpoint_pages"] = {
      integer("database.checkpoint_pages", c.checkpoint_pages, 100, 10'000'000)};
  s["routing.rules"] = {text(c.rules_path)};
  auto& rl = c.engine.rule_limits;
  s["routing.max_source_bytes"] = {
      integer("routing.max_source_bytes", rl.source_bytes, 1024, 16 << 20)};
  s["routing.max_key_segments"] = {integer("routing.max_key_segments", rl.key_segments, 2, 256)};
  s["routing.max_nesting"] = {integer("routing.max_nesting", rl.expr.depth, 1, 1000)};
  s["routing.match_text_bytes"] = {
      integer("routing.match_text_bytes", rl.expr.text_bytes, 256, 16 << 20)};
  s["limits.body_bytes"] = {integer("limits.body_bytes", l.body_bytes, 1024, 1LL << 30)};
  s["limits.header_bytes"] = {integer("limits.header_bytes", l.header_bytes, 1024, 1 << 20)};
  s["limits.max_connections"] = {
      integer("limits.max_connections", l.max_connections, 1, 1'000'000)};
  s["limits.connections_per_address"] = {
      integer("limits.connections_per_address", l.connections_per_address, 0, 1'000'000)};
  s["limits.reserved_files"] = {integer("limits.reserved_files", l.reserved_files, 0, 100'000)};
  s["limits.history_readers"] = {integer("limits.history_readers", l.history_readers, 1, 64)};
  s["limits.history_queue"] = {integer("limits.history_queue", l.history_queue, 1, 100'000)};
  s["limits.replay_cases"] = {integer("limits.replay_cases", l.replay_cases, 1, 100'000'000)};
  s["limits.replay_added_agents"] = {
      integer("limits.replay_added_agents", l.replay_added_agents, 0, 100'000)};
  s["limits.slow_request"] = {duration("limits.slow_request", l.slow_request)};
  s["limits.accept_backoff"] = {duration("limits.accept_backoff", l.accept_backoff)};
  s["limits.request_timeout"] = {duration("limits.request_timeout", l.request_timeout)};
  s["limits.idle_timeout"] = {duration("limits.idle_timeout", l.idle_timeout)};
  s["limits.pipeline_depth"] = {integer("limits.pipeline_depth", l.pipeline_depth, 1, 4096)};
  s["limits.rate_per_second"] = {number("limits.rate_per_second", l.rate_per_second, 0, 1e9)};
  s["limits.rate_burst"] = {number("limits.rate_burst", l.rate_burst, 1, 1e9)};
  s["limits.attributes"] = {integer("limits.attributes", l.attributes, 0, 10'000)};
  s["limits.idempotency_keys"] = {
      integer("limits.idempotency_keys", l.idempotency_keys, 1, 10'000'000)};
  s["limits.attribute_bytes"] = {integer("limits.attribute_bytes", l.attribute_bytes, 1, 1 << 20)};
  auto& au = c.server.auth;
  s["auth.token_recheck"] = {duration("auth.token_recheck", au.token_recheck)};
  s["auth.unknown_token_ttl"] = {duration("auth.unknown_token_ttl", au.unknown_token_ttl)};
  s["auth.failures_per_second"] = {
      number("auth.failures_per_second", au.failures_per_second, 0, 1e6)};
  s["auth.failure_burst"] = {number("auth.failure_burst", au.failure_burst, 1, 1e6)};
  s["auth.session_ttl"] = {duration("auth.session_ttl", au.session_ttl)};
  s["auth.sign_in_failures_per_minute"] = {
      number("auth.sign_in_failures_per_minute", au.sign_in_failures_per_minute, 1, 1000)};
  s["auth.password_ops"] = {integer("auth.password_ops", au.password_ops, 1, 100)};
  s["auth.password_memory"] = {
      integer("auth.password_memory", au.password_memory, 8192, 4LL << 30)};
  auto& st = c.server.stream;
  s["stream.send_queue"] = {integer("stream.send_queue", st.send_queue, 1, 1'000'000)};
  s["stream.send_queue_bytes"] = {
      integer("stream.send_queue_bytes", st.send_queue_bytes, 4096, 1LL << 30)};
  s["stream.message_bytes"] = {integer("stream.message_bytes", st.message_bytes, 256, 1 << 20)};
  s["stream.idle_timeout"] = {duration("stream.idle_timeout", st.idle_timeout)};
  s["stream.socket_buffer"] = {integer("stream.socket_buffer", st.socket_buffer, 4096, 64 << 20)};
  s["stream.queue_stats_interval"] = {
      duration("stream.queue_stats_interval", st.queue_stats_interval)};
  auto& wh = c.server.webhooks;
  s["webhooks.timeout"] = {duration("webhooks.timeout", wh.timeout)};
  s["webhooks.max_attempts"] = {integer("webhooks.max_attempts", wh.max_attempts, 1, 100)};
  s["webhooks.backoff_base"] = {duration("webhooks.backoff_base", wh.backoff_base)};
  s["webhooks.backoff_max"] = {duration("webhooks.backoff_max", wh.backoff_max)};
  s["webhooks.poll_interval"] = {duration("webhooks.poll_interval", wh.poll_interval)};
  s["webhooks.batch"] = {integer("webhooks.batch", wh.batch, 1, 10'000)};
  s["webhooks.concurrency"] = {integer("webhooks.concurrency", wh.concurrency, 1, 1'000)};
  s["webhooks.allow_private"] = {boolean("webhooks.allow_private", wh.allow_private)};
  s["webhooks.allow_hosts"] = {host_list("webhooks.allow_hosts", wh.allow_hosts)};
  s["webhooks.ca_file"] = {text(wh.ca_file)};
  s["webhooks.keep_finished"] = {duration("webhooks.keep_finished", wh.keep_finished)};
  s["engine.presence_grace"] = {duration("engine.presence_grace", c.engine.presence_grace)};
  s["engine.expected_open_cases"] = {
      integer("engine.expected_open_cases", c.engine.expected_open_cases, 0, 100'000'000)};
  s["engine.away_after_missed_offers"] = {
      integer("engine.away_after_missed_offers", c.engine.away_after_missed_offers, 0, 1000)};
  s["engine.default_country"] = {[&c](const std::string& v) -> Status {
    bool digits =
        !v.empty() && v.size() <= 3 && v.front() != '0' &&
        std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isdigit(ch); });
    if (!v.empty() && !digits) {
      return bad("engine.default_country",
                 "must be a calling code of 1–3 digits (\"82\") or empty");
    }
    c.engine.default_country = v;
    return {};
  }};
  s["engine.idempotency_ttl"] = {duration("engine.idempotency_ttl", c.server.idempotency_ttl)};
  s["log.level"] = {[&c](const std::string& v) -> Status {
    if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error") {
      return bad("log.level", "must be trace, debug, info, warn or error");
    }
    c.log_level = v;
    return {};
  }};
  return s;
}

// A TOML value as the text an environment variable would carry.
std::optional<std::string> as_text(const toml::node& n) {
  if (auto s = n.value<std::string>()) {
    return *s;
  }
  if (auto b = n.value_exact<bool>()) {
    return *b ? "true" : "false";
  }
  if (auto i = n.value_exact<std::int64_t>()) {
    return std::to_string(*i);
  }
  if (auto d = n.value_exact<double>()) {
    return std::to_string(*d);
  }
  if (const auto* a = n.as_array()) {  // strings only, comma-joined
    std::string joined;
    for (const auto& item : *a) {
      auto s = item.value_exact<std::string>();
      if (!s || s->find(',') != std::string::npos) {
        return std::nullopt;
      }
      joined += (joined.empty() ? "" : ",") + *s;
    }
    return joined;
  }
  return std::nullopt;
}

}  // namespace

Status parse_listen(const std::string& text, api::ServerOptions& into) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return bad("server.listen", "must be HOST:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) {
    return bad("server.listen", "port must be 0–65535");
  }
  into.host = host;
  into.port = static_cast<std::uint16_t>(port);
  return {};
}

Result<Config> parse_config(std::string_view text, const std::string& path) {
  Config c;
  auto table = settings(c);
  // The TOML parser builds a table per key segment; bound them before it runs.
  if (auto st = routing::check_source_limits(text, routing::RuleLimits{}); !st) {
    const auto& fe = st.error().field_errors.at(0);
    return Error(ErrorCode::InvalidArgument, path + ":" + std::to_string(fe.line) + ":" +
                                                 std::to_string(fe.column) + ": " + fe.message);
  }
  toml::table doc;
  try {
    doc = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Error(ErrorCode::InvalidArgument, path + ":" + std::to_string(e.source().begin.line) +
                                                 ":" + std::to_string(e.source().begin.column) +
                                                 ": " + std::string(e.description()));
  }
  std::vector<FieldError> errors;
  std::vector<std::string> paths_set;  // file paths the file names, relative to itself
  for (const auto& [section, node] : doc) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      errors.push_back({std::string(section.str()), "must be a table ([section])"});
      continue;
    }
    for (const auto& [key, value] : *t) {
      std::string name = std::string(section.str()) + "." + std::string(key.str());
      auto it = table.find(name);
      auto v = as_text(value);
      if (it == table.end()) {
        errors.push_back({name, "is not a setting"});
      } else if (!v) {
        errors.push_back({name, "must be a string, number or boolean"});
      } else if (auto st = it->second.set(*v); !st) {
        errors.push_back(st.error().field_errors.at(0));
      } else if (name == "database.path" || name == "routing.rules") {
        paths_set.push_back(name);
      }
    }
  }
  if (!errors.empty()) {
    std::string msg = path + ":";
    for (const auto& e : errors) {
      msg += " " + e.field + " " + e.message + ";";
    }
    return Error(ErrorCode::InvalidArgument, msg, errors);
  }
  // A path in the file is relative to the file, wherever the binary was started from.
  auto dir = std::filesystem::path(path).parent_path();
  for (const auto& name : paths_set) {
    std::string& p = name == "database.path" ? c.db_path : c.rules_path;
    if (std::filesystem::path(p).is_relative()) {
      p = (dir / p).lexically_normal().string();
    }
  }
  return c;
}

Result<Config> load_config(const std::string& path, bool required) {
  Config c;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      return Error(ErrorCode::NotFound, "cannot read " + path);
    }
    auto parsed = parse_config(text.str(), path);
    if (!parsed) {
      return parsed.error();
    }
    c = std::move(parsed).value();
  } else if (required) {
    return Error(ErrorCode::NotFound, "cannot read " + path);
  }
  auto table = settings(c);
  // The environment wins over the file.
  for (auto& [name, setting] : table) {
    std::string env = "BATON_";
    for (char ch : name) {
      env += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (const char* v = std::getenv(env.c_str())) {
      if (auto st = setting.set(v); !st) {
        return Error(ErrorCode::InvalidArgument,
                     env + ": " + st.error().field_errors.at(0).message);
      }
    }
  }
  return c;
}

}  // namespace baton::cli
