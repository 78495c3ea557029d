// baton: the one binary (API.md "Command line"). The only place where storage, engine
// and api are wired together.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baton/api/api.h"
#include "baton/api/server.h"
#include "baton/api/tokens.h"
#include "baton/engine/clock.h"
#include "baton/engine/engine.h"
#include "baton/engine/simulator.h"
#include "baton/routing/rules.h"
#include "baton/storage/history.h"
#include "baton/storage/journal.h"
#include "baton/storage/recovery.h"
#include "baton/storage/replay_history.h"
#include "baton/storage/storage.h"

#include "config.h"
#include "default_rules.h"
#include "tz_database.h"

namespace {

constexpr const char* kUsage = R"(usage: baton COMMAND [OPTIONS]

every command takes --config FILE (default config/baton.toml) and --db FILE (overrides
the config's database path)

commands:
  version                       print the version
  serve [--listen HOST:PORT]    run migrations and recovery, then serve API v1; logs one
                                JSON line with the bound address when ready; SIGTERM or
                                SIGINT drain and stop
  token create --role ROLE [--agent AGENT_ID] [--workspace W]
                                make an API token (gateway, agent, supervisor, admin);
                                prints it once; only its hash is stored
  token revoke --id TOKEN_ID | --token TOKEN [--workspace W]
                                revoke tokens (TOKEN_ID: the hash prefix logs show); a
                                running server refuses them within [auth] token_recheck
  check-config [--rules FILE]   check the configuration and a routing rule set
  migrate                       bring the database to this binary's schema
  backup --to FILE              copy the live database (SQLite online backup)
  report [--from TIME] [--to TIME]
                                the summary of GET /v1/reports/summary as JSON: per queue,
                                per agent and per handoff reason over [from, to) (RFC 3339;
                                default today, UTC, so far); reads the database, also while
                                the server runs
  simulate --db FILE --rules FILE [--from TIME] [--to TIME]
                                what-if: the window's recorded arrivals (default the last 7
                                days of the file, at most 31) replayed under the saved rules
                                and under FILE, beside what was recorded; the JSON of
                                POST /v1/routing/simulate
  simulate --synthetic [OPTIONS]
      --agents N                agents (default 10)
      --capacity N              slots per agent on the channel (default 1)
      --channel NAME            chat, email, voice, social, web (default voice)
      --arrivals-per-hour X     Poisson arrival rate (default 160)
      --mean-handle DURATION    mean handle time (default 3m)
      --handle exponential|lognormal   handle-time distribution (default exponential)
      --sigma X                 lognormal shape (default 0.8)
      --duration DURATION       simulated time (default 8h)
      --warmup DURATION         not measured at the start (default 1h)
      --answer-within DURATION  service-level threshold (default 20s)
      --seed N                  random seed (default 42)
    prints a JSON report: service level, waits p50/p90/p99, occupancy, and the
    Erlang C prediction for the same M/M/c system

)";

// Parses "--name value" pairs after the command; flags without a value map to "".
std::optional<std::map<std::string, std::string>> parse_flags(int argc, char** argv, int from) {
  std::map<std::string, std::string> flags;
  for (int i = from; i < argc; ++i) {
    std::string a = argv[i];
    if (!a.starts_with("--")) {
      fmt::print(stderr, "baton: unexpected argument '{}'\n", a);
      return std::nullopt;
    }
    a = a.substr(2);
    if (auto eq = a.find('='); eq != std::string::npos) {
      flags[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && !std::string(argv[i + 1]).starts_with("--")) {
      flags[a] = argv[++i];
    } else {
      flags[a] = "";
    }
  }
  return flags;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string flag(const std::map<std::string, std::string>& flags, const char* name,
                 std::string fallback = "") {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

using Flags = std::map<std::string, std::string>;

// The configuration: --config FILE (required when named, else config/baton.toml if it
// exists), the environment, then --db.
std::optional<baton::cli::Config> config_of(const Flags& flags) {
  bool named = flags.count("config") > 0;
  auto c = baton::cli::load_config(flag(flags, "config", "config/baton.toml"), named);
  if (!c) {
    fmt::print(stderr, "baton: {}\n", c.error().message);
    return std::nullopt;
  }
  if (auto db = flag(flags, "db"); !db.empty()) {
    c->db_path = db;
  }
  c->engine.zones = baton::cli::system_zones();
  return std::move(c).value();
}

// A rule set parsed as the server would: the system's time zones, the configured limits.
baton::Result<baton::routing::RuleSet> parse_rules(const baton::cli::Config& config,
                                                   std::string_view source) {
  return baton::routing::RuleSet::parse(source, config.engine.zones, config.engine.rule_limits);
}

int cmd_migrate(const Flags& flags) {
  auto config = config_of(flags);
  if (!config) {
    return 2;
  }
  const std::string& db = config->db_path;
  auto v = baton::storage::migrate_file(db);
  if (!v) {
    fmt::print(stderr, "baton: {}\n", v.error().message);
    return 1;
  }
  fmt::print("{}: schema version {}\n", db, v.value());
  return 0;
}

int cmd_backup(const Flags& flags) {
  auto config = config_of(flags);
  if (!config) {
    return 2;
  }
  std::string to = flag(flags, "to");
  if (to.empty()) {
    fmt::print(stderr, "baton: backup needs --to FILE\n");
    return 2;
  }
  if (auto st = baton::storage::backup_file(config->db_path, to); !st) {
    fmt::print(stderr, "baton: {}\n", st.error().message);
    return 1;
  }
  fmt::print("{}: backed up to {}\n", config->db_path, to);
  return 0;
}

// baton token revoke --id TOKEN_ID | --token TOKEN [--workspace W]
int cmd_token_revoke(const Flags& flags) {
  auto config = config_of(flags);
  if (!config) {
    return 2;
  }
  std::string id = flag(flags, "id");
  if (auto secret = flag(flags, "token"); !secret.empty()) {
    id = baton::api::sha256_hex(secret);
  }
  if (id.empty()) {
    fmt::print(stderr, "baton: token revoke needs --id TOKEN_ID (as logs show it) or --token\n");
    return 2;
  }
  auto n = baton::storage::revoke_tokens(
      config->db_path, flag(flags, "workspace", config->server.workspace), id,
      std::chrono::time_point_cast<baton::Duration>(std::chrono::system_clock::now()));
  if (!n) {
    fmt::print(stderr, "baton: {}\n", n.error().message);
    return n.error().code == baton::ErrorCode::InvalidArgument ? 2 : 1;
  }
  if (n.value() == 0) {
    fmt::print(stderr, "baton: no token of that id to revoke\n");
    return 1;
  }
  fmt::print("revoked {} token{}; a running server refuses {} within [auth] token_recheck\n",
             n.value(), n.value() == 1 ? "" : "s", n.value() == 1 ? "it" : "them");
  return 0;
}

int cmd_token(int argc, char** argv) {
  std::string sub = argc >= 3 ? argv[2] : "";
  if (sub != "create" && sub != "revoke") {
    fmt::print(stderr,
               "baton: usage: baton token create --role ROLE [--agent AGENT_ID] [--workspace W]\n"
               "       baton token revoke --id TOKEN_ID | --token TOKEN [--workspace W]\n");
    return 2;
  }
  auto flags = parse_flags(argc, argv, 3);
  if (!flags) {
    return 2;
  }
  if (sub == "revoke") {
    return cmd_token_revoke(*flags);
  }
  auto config = config_of(*flags);
  if (!config) {
    return 2;
  }
  std::string role = flag(*flags, "role");
  if (!baton::api::is_role(role)) {
    fmt::print(stderr, "baton: --role must be gateway, agent, supervisor or admin\n");
    return 2;
  }
  baton::engine::TokenRecord t;
  t.role = role;
  t.workspace = flag(*flags, "workspace", config->server.workspace);
  if (auto agent = flag(*flags, "agent"); !agent.empty()) {
    if (!agent.starts_with("agt_") || agent.size() == 4) {
      fmt::print(stderr, "baton: --agent must be an agent id (agt_…)\n");
      return 2;
    }
    t.agent = baton::engine::AgentId(agent.substr(4));
  } else if (role == "agent") {
    fmt::print(stderr, "baton: an agent token needs --agent AGENT_ID\n");
    return 2;
  }
  std::string token = baton::api::new_token();
  t.hash = baton::api::sha256_hex(token);
  t.created_at = std::chrono::time_point_cast<baton::Duration>(std::chrono::system_clock::now());
  if (auto st = baton::storage::insert_token(config->db_path, t); !st) {
    fmt::print(stderr, "baton: {}\n", st.error().message);
    return 1;
  }
  fmt::print("{}\n", token);
  return 0;
}

// For a value inside a log line's JSON: the text between the quotes.
std::string json_escape(std::string_view s) {
  std::string q = baton::json_quote(s);
  return std::string(q.begin() + 1, q.end() - 1);
}

struct WallClock final : baton::engine::Clock {
  baton::TimePoint now() const override {
    return std::chrono::time_point_cast<baton::Duration>(std::chrono::system_clock::now());
  }
};

int cmd_serve(const Flags& flags) {
  using namespace baton;
  for (const auto& [k, v] : flags) {
    if (k != "config" && k != "db" && k != "listen") {
      fmt::print(stderr, "baton: serve takes --config, --db and --listen, not --{}\n", k);
      return 2;
    }
  }
  auto config = config_of(flags);
  if (!config) {
    return 2;
  }
  if (auto listen = flag(flags, "listen"); !listen.empty()) {
    if (auto st = cli::parse_listen(listen, config->server); !st) {
      fmt::print(stderr, "baton: --listen {}\n", st.error().field_errors.at(0).message);
      return 2;
    }
  }
  // Signals are taken by this thread alone (sigwait): block them before any other thread
  // (the journal's, the server's) starts, so that each inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Logs: one JSON object a line on stderr.
  auto logger = spdlog::stderr_logger_mt("baton");
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  // Info until the server says where it listens (that line is always written), then the
  // configured level.
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  auto fail = [](const std::string& what, const Error& e) {
    spdlog::error(R"("msg":"{}","error":"{}")", json_escape(what), json_escape(e.message));
    return 1;
  };

  if (auto dir = std::filesystem::path(config->db_path).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  storage::JournalOptions jo;
  jo.path = config->db_path;
  jo.synchronous = config->synchronous;
  jo.workspace = config->server.workspace;
  jo.max_batch = config->max_batch;
  jo.max_queue = config->max_queue;
  jo.checkpoint_pages = config->checkpoint_pages;
  jo.busy_timeout_ms = static_cast<int>(config->busy_timeout.count());
  auto journal = storage::SqliteJournal::open(jo);
  if (!journal) {
    return fail("cannot open the database", journal.error());
  }
  auto snap = storage::load_snapshot(config->db_path, jo.workspace);
  if (!snap) {
    return fail("cannot read the database", snap.error());
  }
  auto rules_text = read_file(config->rules_path);
  if (!rules_text) {
    if (std::filesystem::exists(config->rules_path)) {
      return fail("cannot read the routing rules", Error(ErrorCode::NotFound, config->rules_path));
    }
    // No rules file (a binary copied alone, a config without one): the shipped rules.
    spdlog::warn(
        R"("msg":"no routing rules file; starting on the built-in default rules","path":"{}")",
        json_escape(config->rules_path));
    rules_text = std::string(baton::cli::default_rules());
  }
  auto rules = parse_rules(*config, *rules_text);
  if (!rules) {
    return fail("the routing rules do not parse (baton check-config says where)", rules.error());
  }
  WallClock clock;
  engine::EngineConfig ec = config->engine;
  ec.evict_finished = true;  // closed cases live in the database, not in memory
  engine::Engine engine(clock, std::move(rules).value(), ec);
  engine.set_journal(journal->get());
  std::size_t open_cases = snap->cases.size();
  if (auto st = engine.restore(std::move(snap).value()); !st) {
    return fail("recovery failed", st.error());
  }
  if (auto st = journal.value()->flush(); !st) {
    return fail("recovery could not be saved", st.error());
  }
  auto history = storage::History::open(config->db_path, jo.workspace,
                                        static_cast<std::size_t>(config->read_connections));
  if (!history) {
    return fail("cannot open the read pool", history.error());
  }
  storage::SqliteJournal* j = journal->get();
  auto outbox = storage::Outbox::open(config->db_path, jo.workspace);
  if (!outbox) {
    return fail("cannot open the webhook outbox", outbox.error());
  }

  api::ServerDeps deps{engine,
                       *history.value(),
                       clock,
                       [j] { return j->health(); },
                       [j] {
                         auto s = j->stats();
                         return fmt::format(
                             "# TYPE baton_journal_commits_total counter\n"
                             "baton_journal_commits_total {}\n"
                             "# TYPE baton_journal_mutations_total counter\n"
                             "baton_journal_mutations_total {}\n"
                             "# TYPE baton_journal_failed_total counter\n"
                             "baton_journal_failed_total {}\n"
                             "# TYPE baton_journal_largest_batch gauge\n"
                             "baton_journal_largest_batch {}\n"
                             "# TYPE baton_journal_checkpoints_total counter\n"
                             "baton_journal_checkpoints_total{{thread=\"checkpointer\"}} {}\n"
                             "baton_journal_checkpoints_total{{thread=\"writer\"}} {}\n"
                             "# TYPE baton_journal_checkpoint_failures_total counter\n"
                             "baton_journal_checkpoint_failures_total {}\n",
                             s.commits, s.mutations, s.failed, s.largest_batch, s.checkpoints,
                             s.checkpoints_inline, s.checkpoint_failures);
                       },
                       outbox.value().get(),
                       [path = config->db_path, ws = jo.workspace](TimePoint from, TimePoint to,
                                                                   std::size_t max_cases) {
                         return storage::load_replay_history(path, ws, from, to, max_cases);
                       }};
  auto server = api::Server::start(config->server, deps);
  if (!server) {
    return fail("cannot serve", server.error());
  }
  spdlog::info(
      R"("msg":"listening","address":"{}","db":"{}","workspace":"{}","open_cases":{},"rules_version":{})",
      server.value()->address(), json_escape(config->db_path), json_escape(jo.workspace),
      open_cases, engine.rules_version());
  logger->flush();
  // From here on, the configured level ([log] level; check-config refused any other).
  logger->set_level(spdlog::level::from_str(config->log_level));
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info(R"("msg":"stopping","signal":{})", sig);
  // Answers in flight are sent, every commit lands, then the threads stop.
  server.value()->stop();
  auto flushed = j->flush();
  server->reset();
  spdlog::info(R"("msg":"stopped","clean":{})", flushed.has_value() ? "true" : "false");
  logger->flush();
  return flushed.has_value() ? 0 : 1;
}

// Prints one line per durable case creation, from the journal thread: "ack <case>".
// write(2) of a short line is atomic, so lines never interleave.
class AckPrinter final : public baton::engine::Publisher {
 public:
  void publish(const baton::engine::Mutation& m) override {
    for (const auto& e : m.events) {
      if (e.type == baton::engine::EventType::Created) {
        std::string line = "ack " + std::to_string(e.case_id.value()) + "\n";
        if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) {
          std::abort();  // the test reading us is gone
        }
      }
    }
  }
};

// Test-only until the HTTP API lands: drives the real engine and journal on a file with
// a stream of commands, printing "ack <case>" once each new case is durable. The crash
// test kills it at random moments and checks that every acknowledged case survived.
int cmd_drill(const std::map<std::string, std::string>& flags) {
  using namespace baton::engine;
  std::string db = flag(flags, "db");
  long cases = 0;
  {
    std::string text = flag(flags, "cases", "1000");
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), cases);
    if (db.empty() || ec != std::errc() || p != text.data() + text.size() || cases < 0) {
      fmt::print(stderr, "baton: drill needs --db FILE and --cases N (N ≥ 0)\n");
      return 2;
    }
  }
  baton::storage::JournalOptions jo;
  jo.path = db;
  jo.synchronous = flag(flags, "synchronous", "FULL");
  auto journal = baton::storage::SqliteJournal::open(jo);
  if (!journal) {
    fmt::print(stderr, "baton: {}\n", journal.error().message);
    return 1;
  }
  auto snap = baton::storage::load_snapshot(db, jo.workspace);
  if (!snap) {
    fmt::print(stderr, "baton: {}\n", snap.error().message);
    return 1;
  }
  EngineConfig drill_config;
  drill_config.zones = baton::cli::system_zones();
  auto rules = baton::routing::RuleSet::parse(
      "[queues.support]\nteams = [\"support\"]\n[queues.sales]\nteams = [\"sales\"]\n",
      drill_config.zones);
  struct WallClock final : Clock {
    baton::TimePoint now() const override {
      return std::chrono::time_point_cast<baton::Duration>(std::chrono::system_clock::now());
    }
  } clock;
  Engine engine(clock, std::move(rules).value(), drill_config);
  engine.set_journal(journal->get());
  AckPrinter acks;
  engine.set_publisher(&acks);
  std::size_t open_before = snap->cases.size();
  if (auto st = engine.restore(std::move(snap).value()); !st) {
    fmt::print(stderr, "baton: {}\n", st.error().message);
    return 1;
  }
  if (auto broken = engine.check_invariants_for_test(); !broken.empty()) {
    fmt::print(stderr, "baton: after recovery: {}\n", broken);
    return 3;
  }
  fmt::print("recovered {} open cases\n", open_before);
  std::fflush(stdout);
  std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()));
  for (int i = 0; i < 8; ++i) {
    AgentId id("drill-" + std::to_string(i));
    if (engine.find_agent(id) == nullptr) {
      NewAgent a;
      a.id = id;
      a.name = id.value();
      a.teams = {"support"};
      a.capacity[baton::index_of(baton::Channel::Chat)] = 3;
      (void)engine.create_agent(a);
    }
    (void)engine.set_presence(id, Presence::Available);
  }
  for (long n = 0; n < cases; ++n) {
    NewCase nc;
    nc.channel = baton::Channel::Chat;
    nc.subject = "drill " + std::to_string(n);
    nc.body = "message " + std::to_string(n);
    nc.customer.identity = Identity{baton::Channel::Chat, "drill:" + std::to_string(rng() % 500)};
    auto c = engine.create_case(std::move(nc));
    if (!c) {
      fmt::print(stderr, "baton: {}\n", c.error().message);
      return 1;
    }
    // Agents work: accept what is offered, resolve and close what they hold.
    if (c->offer && rng() % 4 != 0) {
      const Offer* o = engine.find_offer(*c->offer);
      (void)engine.accept_offer(o->id, o->agent);
    }
    if (rng() % 2 == 0) {
      CaseId older(c->id.value() - rng() % 8);
      if (const Case* oc = engine.find_case(older); oc != nullptr && is_open(oc->status)) {
        (void)engine.resolve(older, "drill", "done");
        (void)engine.close(older, "drill", false);
      }
    }
  }
  if (auto st = journal.value()->flush(); !st) {
    fmt::print(stderr, "baton: {}\n", st.error().message);
    return 1;
  }
  return 0;
}

// The configuration of a command that reads an existing database, or nullopt after saying
// why (`code` is then the exit status).
std::optional<baton::cli::Config> config_with_db(const Flags& flags, int& code) {
  auto config = config_of(flags);
  if (!config) {
    code = 2;
    return std::nullopt;
  }
  if (!std::filesystem::exists(config->db_path)) {
    fmt::print(stderr, "baton: no database at {}\n", config->db_path);
    code = 1;
    return std::nullopt;
  }
  return config;
}

// --from and --to, RFC 3339 times, where given; false after saying why.
bool window_flags(const Flags& flags, std::optional<baton::TimePoint>& from,
                  std::optional<baton::TimePoint>& to) {
  for (const char* name : {"from", "to"}) {
    if (auto v = flag(flags, name); !v.empty()) {
      auto t = baton::api::parse_rfc3339(v);
      if (!t) {
        fmt::print(stderr, "baton: --{} must be an RFC 3339 time (2026-11-23T00:00:00Z)\n", name);
        return false;
      }
      (std::string_view(name) == "from" ? from : to) = *t;
    }
  }
  return true;
}

int cmd_report(const Flags& flags) {
  using namespace baton;
  for (const auto& [k, v] : flags) {
    if (k != "config" && k != "db" && k != "from" && k != "to") {
      fmt::print(stderr, "baton: report takes --config, --db, --from and --to, not --{}\n", k);
      return 2;
    }
  }
  int code = 0;
  auto config = config_with_db(flags, code);
  if (!config) {
    return code;
  }
  auto now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  engine::ReportRequest req;
  std::optional<TimePoint> from, to;
  if (!window_flags(flags, from, to)) {
    return 2;
  }
  req.to = to.value_or(TimePoint{now.time_since_epoch()});
  req.from = from.value_or(TimePoint{std::chrono::duration_cast<Duration>(
      std::chrono::floor<std::chrono::days>(now.time_since_epoch()))});
  if (req.to <= req.from) {
    fmt::print(stderr, "baton: --to must be after --from\n");
    return 2;
  }
  auto history = storage::History::open(config->db_path, config->server.workspace, 1);
  if (!history) {
    fmt::print(stderr, "baton: {}\n", history.error().message);
    return 1;
  }
  // Service-level thresholds of the rules the server runs (the latest saved version).
  auto saved = history.value()->active_rules();
  if (!saved) {
    fmt::print(stderr, "baton: {}\n", saved.error().message);
    return 1;
  }
  if (saved.value()) {
    auto rules = parse_rules(*config, saved.value()->source);
    if (!rules) {
      fmt::print(stderr, "baton: the saved routing rules do not parse: {}\n",
                 rules.error().message);
      return 1;
    }
    req = engine::ReportRequest::under(*rules, req.from, req.to);
  }
  auto summary = history.value()->summary(req);
  if (!summary) {
    fmt::print(stderr, "baton: {}\n", summary.error().message);
    return 1;
  }
  fmt::print("{}\n", api::summary_json(std::move(summary).value()));
  return 0;
}

int cmd_version() {
  fmt::print("baton {} (api {}, sqlite {})\n", BATON_VERSION, baton::api::api_version(),
             baton::storage::sqlite_version());
  return 0;
}

int cmd_check_config(const std::map<std::string, std::string>& flags) {
  auto config = config_of(flags);
  if (!config) {
    return 1;
  }
  std::string path = flag(flags, "rules", config->rules_path);
  auto text = read_file(path);
  if (!text && flags.count("rules") == 0 && !std::filesystem::exists(path)) {
    path = "built-in rules";  // what serve starts on without the file
    text = std::string(baton::cli::default_rules());
  }
  if (!text) {
    fmt::print(stderr, "baton: cannot read {}\n", path);
    return 1;
  }
  auto rules = parse_rules(*config, *text);
  if (!rules) {
    for (const auto& fe : rules.error().field_errors) {
      fmt::print(stderr, "{}:{}:{}: {}: {}\n", path, fe.line, fe.column, fe.field, fe.message);
    }
    return 1;
  }
  fmt::print("{}: ok ({} queues, {} rules)\n", path, rules->queues().size(), rules->rules().size());
  return 0;
}

template <class T>
bool take(const std::map<std::string, std::string>& flags, const char* name, T& out) {
  auto it = flags.find(name);
  if (it == flags.end()) {
    return true;
  }
  std::istringstream in(it->second);
  in >> out;
  if (!in || !in.eof()) {
    fmt::print(stderr, "baton: --{} has a bad value '{}'\n", name, it->second);
    return false;
  }
  return true;
}

bool take_duration(const std::map<std::string, std::string>& flags, const char* name,
                   baton::Duration& out) {
  auto it = flags.find(name);
  if (it == flags.end()) {
    return true;
  }
  auto d = baton::parse_duration(it->second);
  if (!d) {
    fmt::print(stderr, "baton: --{} must be a duration like 20s, 3m or 8h\n", name);
    return false;
  }
  out = *d;
  return true;
}

// baton simulate --db FILE --rules FILE [--from T] [--to T]: the what-if of
// POST /v1/routing/simulate on a database file (also while the server runs).
int cmd_replay(const Flags& flags) {
  using namespace baton;
  for (const auto& [k, v] : flags) {
    if (k != "config" && k != "db" && k != "rules" && k != "from" && k != "to") {
      fmt::print(stderr,
                 "baton: simulate --db takes --config, --rules, --from and --to, not --{}\n", k);
      return 2;
    }
  }
  int code = 0;
  auto config = config_with_db(flags, code);
  if (!config) {
    return code;
  }
  std::string rules_path = flag(flags, "rules");
  auto text = rules_path.empty() ? std::nullopt : read_file(rules_path);
  if (!text) {
    fmt::print(stderr, "baton: simulate --db needs --rules FILE (the candidate rule set)\n");
    return 2;
  }
  auto candidate = parse_rules(*config, *text);
  if (!candidate) {
    fmt::print(stderr, "baton: {}: the rule set does not parse: {}\n", rules_path,
               candidate.error().message);
    return 1;
  }
  const std::string& ws = config->server.workspace;
  auto last = storage::last_arrival(config->db_path, ws);
  if (!last) {
    fmt::print(stderr, "baton: {}\n", last.error().message);
    return 1;
  }
  // Default window: the last 7 days of the file.
  std::optional<TimePoint> from, until;
  if (!window_flags(flags, from, until)) {
    return 2;
  }
  TimePoint to = until.value_or(last.value().value_or(TimePoint{}) + Duration{1});
  TimePoint start = from.value_or(to - Duration{7LL * 86'400'000});
  if (to <= start || to - start > Duration{31LL * 86'400'000}) {
    fmt::print(stderr, "baton: the window must be after --from and at most 31 days\n");
    return 2;
  }
  auto history = storage::History::open(config->db_path, ws, 1);
  if (!history) {
    fmt::print(stderr, "baton: {}\n", history.error().message);
    return 1;
  }
  auto saved = history.value()->active_rules();
  if (!saved) {
    fmt::print(stderr, "baton: {}\n", saved.error().message);
    return 1;
  }
  auto active = parse_rules(
      *config, saved.value() ? saved.value()->source : std::string(cli::default_rules()));
  if (!active) {
    fmt::print(stderr, "baton: the saved routing rules do not parse: {}\n", active.error().message);
    return 1;
  }
  auto started = std::chrono::steady_clock::now();
  auto replayed = storage::load_replay_history(config->db_path, ws, start, to,
                                               config->server.limits.replay_cases);
  if (!replayed) {
    fmt::print(stderr, "baton: {}\n", replayed.error().message);
    return 1;
  }
  auto recorded = history.value()->summary(engine::ReportRequest::under(*active, start, to));
  if (!recorded) {
    fmt::print(stderr, "baton: {}\n", recorded.error().message);
    return 1;
  }
  api::WhatIfRequest req{std::move(active).value(),
                         saved.value() ? saved.value()->version : 0,
                         std::move(candidate).value(),
                         {},
                         config->engine,
                         true};
  fmt::print("{}\n", api::what_if_json(replayed.value(), std::move(req),
                                       std::move(recorded).value(), started));
  return 0;
}

int cmd_simulate(const std::map<std::string, std::string>& flags) {
  if (flags.count("db") != 0) {
    return cmd_replay(flags);
  }
  if (flags.count("synthetic") == 0) {
    fmt::print(stderr,
               "baton: simulate needs --db FILE --rules FILE (replay history) or --synthetic\n");
    return 2;
  }
  static const std::vector<std::string> kKnown = {
      "synthetic",     "agents", "capacity", "channel",  "arrivals-per-hour",
      "mean-handle",   "handle", "sigma",    "duration", "warmup",
      "answer-within", "seed",   "config"};
  for (const auto& [k, v] : flags) {
    if (std::find(kKnown.begin(), kKnown.end(), k) == kKnown.end()) {
      fmt::print(stderr, "baton: unknown option --{}\n", k);
      return 2;
    }
  }
  baton::engine::SyntheticSpec spec;
  std::string channel = "voice";
  std::string handle = "exponential";
  if (!take(flags, "agents", spec.agents) || !take(flags, "capacity", spec.capacity) ||
      !take(flags, "arrivals-per-hour", spec.arrivals_per_hour) ||
      !take(flags, "sigma", spec.lognormal_sigma) || !take(flags, "seed", spec.seed) ||
      !take(flags, "channel", channel) || !take(flags, "handle", handle) ||
      !take_duration(flags, "mean-handle", spec.mean_handle) ||
      !take_duration(flags, "duration", spec.duration) ||
      !take_duration(flags, "warmup", spec.warmup) ||
      !take_duration(flags, "answer-within", spec.answer_within)) {
    return 2;
  }
  auto ch = baton::parse_channel(channel);
  if (!ch) {
    fmt::print(stderr, "baton: --channel must be chat, email, voice, social or web\n");
    return 2;
  }
  spec.channel = *ch;
  if (handle == "exponential") {
    spec.handle = baton::engine::HandleDistribution::Exponential;
  } else if (handle == "lognormal") {
    spec.handle = baton::engine::HandleDistribution::Lognormal;
  } else {
    fmt::print(stderr, "baton: --handle must be exponential or lognormal\n");
    return 2;
  }
  if (spec.agents < 1 || spec.agents > 100'000 || spec.capacity < 1 || spec.capacity > 100 ||
      spec.arrivals_per_hour <= 0 || spec.arrivals_per_hour > 10'000'000 ||
      spec.mean_handle.count() <= 0 || spec.duration <= spec.warmup ||
      spec.duration > baton::Duration{366LL * 86'400'000} || spec.lognormal_sigma <= 0) {
    fmt::print(stderr,
               "baton: out of range: agents 1–100000, capacity 1–100, arrivals-per-hour "
               "0–10000000, mean-handle > 0, duration > warmup and ≤ 366d, sigma > 0\n");
    return 2;
  }
  // The run is on virtual time; the host time it took is the caller's to measure.
  auto wall_start = std::chrono::steady_clock::now();
  auto r = baton::engine::run_synthetic(spec);
  double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start)
          .count();
  fmt::print(
      "{{\"agents\": {}, \"capacity\": {}, \"channel\": \"{}\", \"arrivals_per_hour\": {}, "
      "\"mean_handle_s\": {}, \"handle\": \"{}\", \"duration_s\": {}, \"warmup_s\": {}, "
      "\"answer_within_s\": {}, \"seed\": {}, "
      "\"cases\": {}, \"answered\": {}, \"service_level\": {:.4f}, \"wait_mean_s\": {:.3f}, "
      "\"wait_p50_s\": {:.3f}, \"wait_p90_s\": {:.3f}, \"wait_p99_s\": {:.3f}, "
      "\"occupancy\": {:.4f}, \"offered_erlangs\": {:.4f}, "
      "\"erlang_c\": {{\"wait_probability\": {:.4f}, \"service_level\": {:.4f}, "
      "\"drawn_erlangs\": {:.4f}, \"drawn_service_level\": {:.4f}}}, "
      "\"offers\": {}, \"wall_ms\": {:.1f}}}\n",
      spec.agents, spec.capacity, channel, spec.arrivals_per_hour,
      static_cast<double>(spec.mean_handle.count()) / 1000, handle, spec.duration.count() / 1000,
      spec.warmup.count() / 1000, static_cast<double>(spec.answer_within.count()) / 1000, spec.seed,
      r.cases, r.answered, r.service_level, r.wait_mean_s, r.wait_p50_s, r.wait_p90_s, r.wait_p99_s,
      r.occupancy, r.offered_erlangs, r.erlang_c_wait_probability, r.erlang_c_service_level,
      r.drawn_erlangs, r.erlang_c_drawn_service_level, r.offers, wall_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "token") {
    return cmd_token(argc, argv);
  }
  auto flags = parse_flags(argc, argv, 2);
  if (!flags) {
    return 2;
  }
  // Whatever this process creates (the database, its WAL, a backup) is the owner's alone
  // from the moment it exists: customer data is never readable by other users.
  ::umask(077);
  if (cmd == "version" || cmd == "--version") {
    return cmd_version();
  }
  if (cmd == "serve") {
    return cmd_serve(*flags);
  }
  if (cmd == "check-config") {
    return cmd_check_config(*flags);
  }
  if (cmd == "migrate") {
    return cmd_migrate(*flags);
  }
  if (cmd == "backup") {
    return cmd_backup(*flags);
  }
  if (cmd == "drill") {
    return cmd_drill(*flags);
  }
  if (cmd == "simulate") {
    return cmd_simulate(*flags);
  }
  if (cmd == "report") {
    return cmd_report(*flags);
  }
  fmt::print(stderr, "baton: unknown command '{}'\n\n{}", cmd, kUsage);
  return 2;
}
