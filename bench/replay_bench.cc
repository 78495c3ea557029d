// replay_bench: what-if replays of a large history.
//
// Generates (once, kept under --dir) four weeks of a contact center written straight into
// the real schema: 600 agents in three shifts (available at the shift's start, away for a
// break, offline at its end, as agent_changes), 1,000,000 chats (a fifth billing) with
// their first message, each answered after a wait by an agent of its team who accepted
// after its own delay and held it for an exponential handle time, or abandoned. Then
// times, on the same file in the same run:
//   - the ceilings: the bare index scan of a day's events (report_bench's) and the scan of
//     the window's case rows (what any replay must at least read);
//   - reading the window (storage::load_replay_history);
//   - replaying it under the saved rules and under a candidate (billing helped by
//     support), one after the other and on two threads (as `baton simulate --db` does);
//   - the process's peak RSS;
//   - with --http: case creations over HTTP against `baton serve` on a copy of the file,
//     alone and while POST /v1/routing/simulate replays the window; the ratio.
// Prints JSON. Goal (issue #21): both replays of 1,000,000 cases in ≤ 10 s on 2 cores.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>
#include <sys/resource.h>

#include "baton/engine/replay.h"
#include "baton/routing/rules.h"
#include "baton/storage/journal.h"
#include "baton/storage/replay_history.h"

#include "baton_process.h"
#include "http_client.h"

using namespace baton;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;
constexpr std::int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int kDays = 28;
constexpr int kAgents = 600;  // 480 support, 120 billing, a third of each per shift

const char* kRules = R"(
[queues.support]
teams = ["support"]
sla = { answer_within = "30s" }
[queues.billing]
teams = ["billing"]
sla = { answer_within = "30s" }
[[rules]]
name = "billing"
when = 'type == "billing"'
queue = "billing"
)";

struct Options {
  std::int64_t cases = 1'000'000;
  std::string dir = "bench-data";
  bool http = false;
  int http_seconds = 5;
};

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "replay_bench: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

void exec(sqlite3* db, const char* sql) {
  check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql);
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  check(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), db, sql);
  return s;
}

void run(sqlite3* db, sqlite3_stmt* s) {
  check(sqlite3_step(s), db, "insert");
  sqlite3_reset(s);
}

std::string agent_name(int i) { return "a" + std::to_string(i); }
bool billing_agent(int i) { return i % 5 == 0; }
int shift_of(int i) { return (i / 5) % 3; }  // 0: 00–08, 1: 08–16, 2: 16–24

void generate(const std::string& path, const Options& o) {
  {
    storage::JournalOptions jo;
    jo.path = path;
    auto j = storage::SqliteJournal::open(jo);  // the real schema, migrated
    if (!j) {
      std::fprintf(stderr, "replay_bench: %s\n", j.error().message.c_str());
      std::exit(1);
    }
  }
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA synchronous = OFF");
  exec(db, "PRAGMA cache_size = -262144");
  exec(db, "BEGIN");
  exec(db, "DELETE FROM routing_rules");
  {
    sqlite3_stmt* r = prepare(db,
                              "INSERT INTO routing_rules (workspace_id, version, source, "
                              "created_at) VALUES ('default', 1, ?1, ?2)");
    sqlite3_bind_text(r, 1, kRules, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 2, kStart);
    run(db, r);
    sqlite3_finalize(r);
  }
  sqlite3_stmt* agent = prepare(
      db,
      "INSERT INTO agents (workspace_id, id, name, role, teams, skills, languages, capacity, "
      "presence, presence_since, missed_offers, created_at, updated_at) VALUES ('default', ?1, "
      "?1, 'agent', ?2, '{}', '[]', '{\"chat\":1}', 'offline', ?3, 0, ?3, ?3)");
  sqlite3_stmt* change = prepare(db,
                                 "INSERT INTO agent_changes (workspace_id, agent_id, at, "
                                 "presence, capacity, teams, skills) VALUES ('default', ?1, ?2, "
                                 "?3, '{\"chat\":1}', ?4, '{}')");
  for (int i = 0; i < kAgents; ++i) {
    std::string name = agent_name(i);
    const char* teams = billing_agent(i) ? "[\"billing\"]" : "[\"support\"]";
    sqlite3_bind_text(agent, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(agent, 2, teams, -1, SQLITE_STATIC);
    sqlite3_bind_int64(agent, 3, kStart - kDayMs);
    run(db, agent);
  }
  // Presence, in time order: each shift signs in, takes a half-hour break, signs out.
  struct Change {
    std::int64_t at;
    int agent;
    const char* presence;
  };
  std::vector<Change> changes;
  for (int d = 0; d < kDays; ++d) {
    for (int i = 0; i < kAgents; ++i) {
      std::int64_t start = kStart + d * kDayMs + shift_of(i) * 8 * kHourMs + (i % 7) * 60'000;
      std::int64_t pause = start + 4 * kHourMs + (i % 11) * 120'000;
      changes.push_back({start, i, "available"});
      changes.push_back({pause, i, "away"});
      changes.push_back({pause + kHourMs / 2, i, "available"});
      changes.push_back({start + 8 * kHourMs, i, "offline"});
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.at < b.at; });
  for (const auto& c : changes) {
    std::string name = agent_name(c.agent);
    sqlite3_bind_text(change, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(change, 2, c.at);
    sqlite3_bind_text(change, 3, c.presence, -1, SQLITE_STATIC);
    sqlite3_bind_text(change, 4, billing_agent(c.agent) ? "[\"billing\"]" : "[\"support\"]", -1,
                      SQLITE_STATIC);
    run(db, change);
  }
  sqlite3_stmt* cust =
      prepare(db,
              "INSERT INTO customers (workspace_id, id, name, account_id, "
              "last_agent, created_at) VALUES ('default', ?1, 'c', NULL, NULL, ?2)");
  const int customers = 200'000;
  for (int c = 1; c <= customers; ++c) {
    sqlite3_bind_int64(cust, 1, c);
    sqlite3_bind_int64(cust, 2, kStart - kDayMs);
    run(db, cust);
  }
  sqlite3_stmt* kase = prepare(
      db,
      "INSERT INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
      "customer_id, account_id, assignee, offer_id, required_skills, tags, suggested_handoffs, "
      "attributes, external_ref, from_handoff, first_response_due, resolution_due, "
      "first_response_at, resolved_at, created_at, updated_at, queued_at, arrival, "
      "created_by, first_accepted_at, accepted_at, first_released_at, posted_priority, "
      "posted_skills) VALUES ('default', ?1, 'chat', ?2, 'need help', ?3, 3, ?4, ?5, NULL, ?6, "
      "NULL, '{}', '[]', '[]', '{}', '', NULL, NULL, NULL, ?7, ?8, ?9, ?10, ?9, ?1, 'gateway', "
      "?7, ?7, ?8, 0, '{}')");
  sqlite3_stmt* offer = prepare(db,
                                "INSERT INTO offers (workspace_id, id, case_id, agent_id, status, "
                                "created_at, expires_at, decided_at, reason) VALUES ('default', "
                                "?1, ?1, ?2, 'accepted', ?3, ?4, ?5, '')");
  sqlite3_stmt* ev =
      prepare(db,
              "INSERT INTO case_events (workspace_id, id, case_id, customer_id, type, at, actor, "
              "data) VALUES ('default', ?1, ?2, ?3, ?4, ?5, 'gateway', ?6)");
  std::vector<int> on_shift[3][2];  // [shift][billing]
  for (int i = 0; i < kAgents; ++i) {
    on_shift[shift_of(i)][billing_agent(i) ? 1 : 0].push_back(i);
  }
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> handle(1.0 / 360'000.0);
  std::uniform_int_distribution<std::int64_t> wait(0, 45'000), delay(2'000, 12'000);
  const double gap = static_cast<double>(kDays * kDayMs) / static_cast<double>(o.cases);
  std::int64_t event_id = 1;
  for (std::int64_t i = 1; i <= o.cases; ++i) {
    std::int64_t created = kStart + static_cast<std::int64_t>(static_cast<double>(i - 1) * gap);
    bool billing = rng() % 5 == 0;
    bool abandoned = rng() % 33 == 0;
    std::int64_t customer = 1 + static_cast<std::int64_t>(rng() % customers);
    int hour_shift = static_cast<int>(((created - kStart) % kDayMs) / (8 * kHourMs));
    // An agent of the case's team on the shift at that hour.
    const auto& team = on_shift[hour_shift][billing ? 1 : 0];
    std::string name = agent_name(team[rng() % team.size()]);
    std::int64_t accepted = created + wait(rng);
    std::int64_t released = accepted + 1 + static_cast<std::int64_t>(handle(rng));
    sqlite3_bind_int64(kase, 1, i);
    sqlite3_bind_text(kase, 2, billing ? "billing" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_text(kase, 3, abandoned ? "abandoned" : "closed", -1, SQLITE_STATIC);
    sqlite3_bind_text(kase, 4, billing ? "billing" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_int64(kase, 5, customer);
    sqlite3_bind_int64(kase, 9, created);
    if (abandoned) {
      sqlite3_bind_null(kase, 6);
      sqlite3_bind_null(kase, 7);
      sqlite3_bind_null(kase, 8);
      sqlite3_bind_int64(kase, 10, created + 5'000 + static_cast<std::int64_t>(rng() % 60'000));
    } else {
      sqlite3_bind_text(kase, 6, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(kase, 7, accepted);
      sqlite3_bind_int64(kase, 8, released);
      sqlite3_bind_int64(kase, 10, released);
      std::int64_t offered = std::max(created, accepted - delay(rng));
      sqlite3_bind_int64(offer, 1, i);
      sqlite3_bind_text(offer, 2, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(offer, 3, offered);
      sqlite3_bind_int64(offer, 4, offered + 30'000);
      sqlite3_bind_int64(offer, 5, accepted);
      run(db, offer);
    }
    run(db, kase);
    for (auto [type, data] : {std::pair{"created", R"({"channel":"chat"})"},
                              {"message_in", R"({"body":"my order has not arrived"})"}}) {
      sqlite3_bind_int64(ev, 1, event_id++);
      sqlite3_bind_int64(ev, 2, i);
      sqlite3_bind_int64(ev, 3, customer);
      sqlite3_bind_text(ev, 4, type, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ev, 5, created);
      sqlite3_bind_text(ev, 6, data, -1, SQLITE_STATIC);
      run(db, ev);
    }
    if (i % 200'000 == 0) {
      exec(db, "COMMIT");
      exec(db, "BEGIN");
      std::fprintf(stderr, "replay_bench: generated %lld cases\n", static_cast<long long>(i));
    }
  }
  exec(db, "COMMIT");
  exec(db, "ANALYZE");
  for (auto* s : {agent, change, cust, kase, offer, ev}) {
    sqlite3_finalize(s);
  }
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

routing::RuleSet rules_of(const std::string& src) {
  auto r = routing::RuleSet::parse(src, routing::utc_only());
  if (!r) {
    std::fprintf(stderr, "replay_bench: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

std::string candidate_rules() {
  std::string c = kRules;
  c.replace(c.find("teams = [\"billing\"]"), 19, "teams = [\"billing\", \"support\"]");
  return c;
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Case creations per second from `clients` keep-alive connections, over `seconds` or until
// `until()` says stop, whichever comes first.
template <class Until>
double creation_rate(const std::string& address, const std::string& token, int clients, int seconds,
                     Until until) {
  std::atomic<std::int64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      baton::testing::HttpClient http(address);
      std::int64_t n = 0;
      while (!stop) {
        std::string body =
            R"({"channel": "chat", "subject": "load", "customer": {"channel": "chat", "address": "load:)" +
            std::to_string(c) + "-" + std::to_string(n++) + R"("}})";
        auto r = http.request(
            "POST", "/v1/cases", body,
            {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
        if (r && r->status == 201) {
          ++done;
        }
      }
    });
  }
  auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(seconds) && !until()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double s = ms_since(t0) / 1000.0;
  std::int64_t n = done.load();
  stop = true;
  for (auto& t : threads) {
    t.join();
  }
  return static_cast<double>(n) / s;
}

// `text` as a JSON string.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string rfc3339(std::int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      o.cases = 50'000;
      o.http_seconds = 2;
    } else if (a == "--http") {
      o.http = true;
    } else if (a == "--dir" && i + 1 < argc) {
      o.dir = argv[++i];
    } else if (a == "--cases" && i + 1 < argc) {
      o.cases = std::stoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: replay_bench [--quick] [--http] [--dir DIR] [--cases N]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(o.dir);
  std::string path = o.dir + "/replay-" + std::to_string(o.cases) + "-v" +
                     std::to_string(storage::latest_schema_version()) + ".db";
  double generate_s = 0;
  if (!std::filesystem::exists(path)) {
    auto t0 = Clock::now();
    generate(path, o);
    generate_s = ms_since(t0) / 1000.0;
  }
  TimePoint from{Duration{kStart}}, to{Duration{kStart + kDays * kDayMs}};

  // The ceilings on this file.
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto t0 = Clock::now();
  sqlite3_stmt* s = prepare(db, "SELECT count(*) FROM case_events WHERE at >= ?1 AND at < ?2");
  sqlite3_bind_int64(s, 1, kStart + kDayMs);
  sqlite3_bind_int64(s, 2, kStart + 2 * kDayMs);
  sqlite3_step(s);
  sqlite3_finalize(s);
  double day_scan_ms = ms_since(t0);
  t0 = Clock::now();
  s = prepare(db, "SELECT count(*), sum(length(subject)), sum(created_at) FROM cases");
  sqlite3_step(s);
  sqlite3_finalize(s);
  double case_scan_ms = ms_since(t0);
  sqlite3_close(db);

  t0 = Clock::now();
  auto history = storage::load_replay_history(path, "default", from, to, 100'000'000);
  double load_ms = ms_since(t0);
  if (!history) {
    std::fprintf(stderr, "replay_bench: %s\n", history.error().message.c_str());
    return 1;
  }
  const auto& h = history.value();
  engine::EngineConfig config;
  engine::AgentsEdit none;
  t0 = Clock::now();
  auto active = engine::replay(h, rules_of(kRules), config, none);
  double active_ms = ms_since(t0);
  t0 = Clock::now();
  auto candidate = engine::replay(h, rules_of(candidate_rules()), config, none);
  double candidate_ms = ms_since(t0);
  t0 = Clock::now();
  std::thread other([&] { engine::replay(h, rules_of(kRules), config, none); });
  engine::replay(h, rules_of(candidate_rules()), config, none);
  other.join();
  double parallel_ms = ms_since(t0);

  double alone = 0, during = 0;
  double http_replay_ms = 0;
  if (o.http) {
    bench::BatonProcess p("baton-replay-bench");
    std::filesystem::copy_file(path, p.db);
    p.start();
    std::string gw = p.token("gateway"), sup = p.token("supervisor");
    alone = creation_rate(p.address, gw, 4, o.http_seconds, [] { return false; });
    std::atomic<bool> replaying{true};
    std::thread what_if([&] {
      baton::testing::HttpClient http(p.address, 600'000);
      std::string body = "{\"source\": " + json_string(candidate_rules()) + ", \"from\": \"" +
                         rfc3339(kStart) + "\", \"to\": \"" + rfc3339(kStart + kDays * kDayMs) +
                         "\"}";
      auto t = Clock::now();
      auto r =
          http.request("POST", "/v1/routing/simulate", body,
                       {{"Authorization", "Bearer " + sup}, {"Content-Type", "application/json"}});
      http_replay_ms = ms_since(t);
      if (!r || r->status != 200) {
        std::fprintf(stderr, "replay_bench: the what-if over HTTP failed: %s\n",
                     r ? r->body.c_str() : "no answer");
      }
      replaying = false;
    });
    // Measured while the replay runs (the first seconds of it: a replay in the background
    // waits for what the load leaves, so the load stops and lets it finish).
    during = creation_rate(p.address, gw, 4, o.http_seconds, [&] { return !replaying.load(); });
    what_if.join();
  }

  std::uint64_t answered = 0;
  for (auto& [name, q] : active.queues) {
    answered += q.answered;
  }
  std::printf(
      "{\"bench\":\"replay\",\"cases\":%zu,\"agents\":%zu,\"agent_changes\":%zu,\"days\":%d,"
      "\"generate_s\":%.1f,\"ceiling_day_index_scan_ms\":%.2f,\"ceiling_case_rows_scan_ms\":%.1f,"
      "\"load_ms\":%.0f,\"replay_active_ms\":%.0f,\"replay_candidate_ms\":%.0f,"
      "\"replays_on_two_threads_ms\":%.0f,\"total_ms\":%.0f,\"goal_ms\":10000,"
      "\"commands_per_replay\":%llu,\"answered\":%llu,"
      "\"service_level\":{\"active_billing\":%.4f,\"candidate_billing\":%.4f},"
      "\"peak_rss_mb\":%.0f,"
      "\"http\":{\"creations_per_s_alone\":%.0f,\"creations_per_s_during_replay\":%.0f,"
      "\"ratio\":%.3f,\"what_if_ms\":%.0f}}\n",
      h.cases.size(), h.agents.size(), h.changes.size(), kDays, generate_s, day_scan_ms,
      case_scan_ms, load_ms, active_ms, candidate_ms, parallel_ms, load_ms + parallel_ms,
      static_cast<unsigned long long>(active.commands), static_cast<unsigned long long>(answered),
      active.queues["billing"].service_level(), candidate.queues["billing"].service_level(),
      static_cast<double>(peak_rss_kb()) / 1024.0, alone, during, alone > 0 ? during / alone : 0.0,
      http_replay_ms);
  return 0;
}
