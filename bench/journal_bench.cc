// Durable case creations per second through the SQLite journal, and the latency from
// append to commit, with synchronous=FULL and NORMAL, for 1, 8 and 64 concurrent
// producers (each waits for its case to be durable before the next: a gateway's request)
// and for one pipelined producer (the engine's strand, which never waits for a commit),
// with 128 commands in flight (what http_load's 8 connections x 16 hold), 1,000, and unbounded.
// Beside them, the disk's raw fdatasync rate in the same directory: the ceiling a
// one-commit-per-case design would hit. Prints one JSON document.
//
//   journal_bench [--dir DIR] [--cases N] [--seconds S] [--quick]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "baton/engine/clock.h"
#include "baton/engine/engine.h"
#include "baton/storage/journal.h"

using namespace baton;
using namespace baton::engine;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The mutation one case creation makes, taken from the real engine.
Mutation case_creation_template() {
  auto rules =
      routing::RuleSet::parse("[queues.support]\nteams = [\"support\"]\n", routing::utc_only());
  VirtualClock clock;
  Engine eng(clock, std::move(rules).value());
  NewCase nc;
  nc.channel = Channel::Chat;
  nc.subject = "환불 요청 — order A-1001";
  nc.body = "Hello, I would like a refund for order A-1001, it arrived broken.";
  nc.customer.identity = Identity{Channel::Chat, "web:8812"};
  nc.attributes = {{"order_id", std::string("A-1001")}};
  (void)eng.create_case(nc);
  return eng.last_mutation();
}

// Gives a copy of the template fresh ids, so every append is a new case.
Mutation make_case(const Mutation& t, std::uint64_t n) {
  Mutation m = t;
  for (auto& c : m.cases) {
    c.id = CaseId(n);
    c.customer = CustomerId(n);
    c.arrival = n;
  }
  for (auto& c : m.customers) {
    c.id = CustomerId(n);
    for (auto& i : c.identities) {
      i.address = "web:" + std::to_string(n);
    }
  }
  std::uint64_t k = 0;
  for (auto& e : m.events) {
    e.id = EventId(n * 8 + k++);
    e.case_id = CaseId(n);
    e.customer = CustomerId(n);
  }
  return m;
}

double fsync_rate(const std::string& dir, double seconds) {
  std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    return 0;
  }
  char page[4096];
  std::memset(page, 'x', sizeof page);
  auto end = SteadyClock::now() + std::chrono::duration<double>(seconds);
  long n = 0;
  auto start = SteadyClock::now();
  while (SteadyClock::now() < end && n < 1'000'000) {
    if (::pwrite(fd, page, sizeof page, (n % 64) * 4096) < 0 || ::fdatasync(fd) != 0) {
      break;
    }
    ++n;
  }
  double s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(fd);
  std::filesystem::remove(path);
  return static_cast<double>(n) / s;
}

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
}

struct Run {
  std::string sync;
  std::string mode;
  int producers = 0;
  std::size_t cases = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::uint64_t commits = 0;
  double write_ms = 0, commit_ms = 0;
  std::uint64_t wal_frames = 0;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

Run run(const std::string& dir, const std::string& sync, int producers, std::size_t window,
        std::size_t total, double seconds, const Mutation& tmpl) {
  bool pipelined = window > 1;
  std::string path = dir + "/journal-bench.db";
  remove_database(path);
  storage::JournalOptions o;
  o.path = path;
  o.synchronous = sync;
  auto j = storage::SqliteJournal::open(o);
  if (!j) {
    std::fprintf(stderr, "journal_bench: %s\n", j.error().message.c_str());
    std::exit(1);
  }
  Run r;
  r.sync = sync;
  r.mode = pipelined ? "pipelined" : "closed_loop";
  r.producers = producers;
  std::atomic<std::uint64_t> next{1};
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(producers));
  auto deadline = SteadyClock::now() + std::chrono::duration<double>(seconds);
  auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto& mine = lat[static_cast<std::size_t>(p)];
      std::mutex mu;
      std::condition_variable cv;
      std::size_t in_flight = 0;
      for (;;) {
        std::uint64_t n = next.fetch_add(1);
        if (n > total || SteadyClock::now() > deadline) {
          break;
        }
        Mutation m = make_case(tmpl, n);
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return in_flight < window; });
          ++in_flight;
        }
        auto t0 = SteadyClock::now();
        (*j)->append(std::move(m), [&, t0](Status st) {
          double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
          std::lock_guard lock(mu);
          if (!st.has_value()) {
            failed = true;
          }
          mine.push_back(ms);
          --in_flight;
          cv.notify_all();
        });
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  r.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  if (failed || !(*j)->flush().has_value()) {
    std::fprintf(stderr, "journal_bench: a commit failed\n");
    std::exit(1);
  }
  std::vector<double> all;
  for (auto& v : lat) {
    all.insert(all.end(), v.begin(), v.end());
  }
  r.cases = all.size();
  r.p50_ms = pct(all, 0.50);
  r.p99_ms = pct(all, 0.99);
  r.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  r.commits = (*j)->stats().commits;
  r.write_ms = (*j)->stats().write_ms;
  r.commit_ms = (*j)->stats().commit_ms;
  r.wal_frames = (*j)->stats().wal_frames;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build-release/bench-data";
  std::size_t cases = 200'000;
  double seconds = 5;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strcmp(argv[i], "--cases") == 0 && i + 1 < argc) {
      cases = std::stoul(argv[++i]);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: journal_bench [--dir DIR] [--cases N] [--seconds S] [--quick] "
                   "[--only NAME]\n");
      return 2;
    }
  }
  if (quick) {
    cases = 2000;
    seconds = 1;
  }
  std::filesystem::create_directories(dir);
  Mutation tmpl = case_creation_template();
  double fsyncs = fsync_rate(dir, quick ? 0.3 : 2.0);
  std::printf(
      "{\"bench\": \"journal\", \"raw_fdatasync_per_s\": %.0f, \"events_per_case\": %zu, "
      "\"results\": [\n",
      fsyncs, tmpl.events.size());
  // window: commands one producer has in flight (1: it waits for each commit). The
  // engine's strand never waits, so its window is every request the server holds: the
  // unbounded run is its ceiling, the 1,000 run a busy server's view with latency to match.
  constexpr std::size_t kUnbounded = 1'000'000;
  struct Config {
    const char* sync;
    int producers;
    std::size_t window;
    std::string name() const {
      std::string n = std::string(sync) + (window > 1 ? "_pipelined_" : "_closed_loop_") +
                      std::to_string(producers);
      if (window > 1 && window != kUnbounded) {
        n += "_window_" + std::to_string(window);
      }
      return n;
    }
  };
  std::vector<Config> configs = {
      {"FULL", 1, 1},    {"FULL", 8, 1},          {"FULL", 64, 1},     {"FULL", 1, 128},
      {"FULL", 1, 1000}, {"FULL", 1, kUnbounded}, {"NORMAL", 1, 1},    {"NORMAL", 8, 1},
      {"NORMAL", 64, 1}, {"NORMAL", 1, 128},      {"NORMAL", 1, 1000}, {"NORMAL", 1, kUnbounded}};
  if (!only.empty()) {
    std::erase_if(configs, [&](const Config& c) { return only != c.name(); });
  }
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const auto& c = configs[i];
    auto r = run(dir, c.sync, c.producers, c.window, cases, seconds, tmpl);
    double rate = static_cast<double>(r.cases) / r.seconds;
    std::printf(
        "  {\"name\": \"%s\", \"synchronous\": \"%s\", \"mode\": \"%s\", \"producers\": %d, "
        "\"in_flight_per_producer\": %zu, "
        "\"cases\": %zu, \"cases_per_s\": %.0f, \"ops_per_s\": %.0f, \"commits\": %llu, "
        "\"cases_per_commit\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.1f, "
        "\"ratio_to_raw_fsync\": %.1f, \"writer_write_ms\": %.0f, \"writer_commit_ms\": %.0f, "
        "\"wal_pages_per_commit\": %.1f}%s\n",
        c.name().c_str(), c.sync, r.mode.c_str(), c.producers, c.window, r.cases, rate, rate,
        static_cast<unsigned long long>(r.commits),
        r.commits ? static_cast<double>(r.cases) / static_cast<double>(r.commits) : 0.0, r.p50_ms,
        r.p99_ms, r.max_ms, fsyncs > 0 ? rate / fsyncs : 0.0, r.write_ms, r.commit_ms,
        r.commits ? static_cast<double>(r.wal_frames) / static_cast<double>(r.commits) : 0.0,
        i + 1 < configs.size() ? "," : "");
    std::fflush(stdout);
  }
  std::printf("]}\n");
  // Only its own files: the directory may hold other benchmarks' data (report_bench keeps
  // its generated history there).
  remove_database(dir + "/journal-bench.db");
  return 0;
}
