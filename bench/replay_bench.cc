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
#include "history_file.h"
#include "http_client.h"

using namespace baton;
using Clock = std::chrono::steady_clock;

namespace {

using namespace baton::testing::history_file;

struct Options {
  std::int64_t cases = 1'000'000;
  std::string dir = "bench-data";
  bool http = false;
  int http_seconds = 5;
};

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
    {
      storage::JournalOptions jo;
      jo.path = path;
      auto j = storage::SqliteJournal::open(jo);  // the real schema, migrated
      if (!j) {
        std::fprintf(stderr, "replay_bench: %s\n", j.error().message.c_str());
        return 1;
      }
    }
    generate(path, o.cases);
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
