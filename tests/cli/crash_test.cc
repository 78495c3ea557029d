// Crash test: the real binary writes to a real SQLite file and is killed with SIGKILL at
// random moments; after each kill every case it acknowledged must be on disk, whole.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite_peek.h"

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;  // its stdout
};

Child spawn(const std::vector<std::string>& args) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    static std::string bin = BATON_BINARY;
    argv.push_back(bin.data());
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

// Reads what is available within `ms`; returns false at end of stream.
bool read_some(int fd, std::string& buf, int ms) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, ms);
  if (r <= 0) {
    return true;
  }
  char tmp[65536];
  ssize_t n = ::read(fd, tmp, sizeof tmp);
  if (n <= 0) {
    return false;
  }
  buf.append(tmp, static_cast<std::size_t>(n));
  return true;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

}  // namespace

TEST_CASE("kill -9 at random moments loses no acknowledged case", "[cli][crash]") {
  auto dir = std::filesystem::temp_directory_path() / ("baton-crash-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string db = (dir / "baton.db").string();
  const int trials = env_int("BATON_CRASH_TRIALS", 20);
  std::mt19937 rng(static_cast<unsigned>(env_int("BATON_CRASH_SEED", 20261123)));
  std::set<std::uint64_t> acked;
  int recoveries = 0;

  for (int trial = 0; trial < trials; ++trial) {
    Child c = spawn({"drill", "--db", db, "--cases", "100000000"});
    std::string out;
    // Let it start (recovery), then kill it somewhere between 20 and 400 ms of work.
    auto start = std::chrono::steady_clock::now();
    while (out.find("recovered") == std::string::npos &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
      if (!read_some(c.out, out, 50)) {
        break;
      }
    }
    INFO("trial " << trial << " output: " << out.substr(0, 200));
    REQUIRE(out.find("recovered") != std::string::npos);
    ++recoveries;
    auto kill_at = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng));
    while (std::chrono::steady_clock::now() < kill_at) {
      read_some(c.out, out, 5);
    }
    REQUIRE(::kill(c.pid, SIGKILL) == 0);
    while (read_some(c.out, out, 1000)) {
    }
    ::close(c.out);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    CHECK(WIFSIGNALED(status));

    std::size_t pos = 0;
    while ((pos = out.find("ack ", pos)) != std::string::npos) {
      auto end = out.find('\n', pos);
      if (end == std::string::npos) {
        break;  // a line cut by the kill was never fully acknowledged
      }
      acked.insert(std::stoull(out.substr(pos + 4, end - pos - 4)));
      pos = end;
    }

    baton::testing::Peek h(db, /*writable=*/true);
    CHECK(h.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") ==
          0);
    // Every acknowledged case is there ...
    std::set<std::uint64_t> stored;
    {
      sqlite3_stmt* s = nullptr;
      REQUIRE(sqlite3_prepare_v2(h.db, "SELECT id FROM cases", -1, &s, nullptr) == SQLITE_OK);
      while (sqlite3_step(s) == SQLITE_ROW) {
        stored.insert(static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)));
      }
      sqlite3_finalize(s);
    }
    std::size_t missing = 0;
    for (auto id : acked) {
      missing += stored.count(id) == 0 ? 1 : 0;
    }
    CHECK(missing == 0);
    // ... and nothing is half-written: a case and its created event go together.
    CHECK(h.count("SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e "
                  "WHERE e.workspace_id = c.workspace_id AND e.case_id = c.id AND "
                  "e.type = 'created')") == 0);
    CHECK(h.count("SELECT count(*) FROM case_events e WHERE NOT EXISTS (SELECT 1 FROM cases c "
                  "WHERE c.workspace_id = e.workspace_id AND c.id = e.case_id)") == 0);
    CHECK(h.count("SELECT count(*) FROM cases WHERE status = 'offered' AND offer_id IS NULL") == 0);
  }
  // A last start recovers, checks the engine's invariants, works and exits cleanly.
  Child last = spawn({"drill", "--db", db, "--cases", "50"});
  std::string out;
  while (read_some(last.out, out, 1000)) {
  }
  ::close(last.out);
  int status = 0;
  ::waitpid(last.pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(recoveries == trials);
  CHECK(acked.size() > static_cast<std::size_t>(trials) * 10);
  WARN("crash trials: " << trials << ", acknowledged cases checked: " << acked.size());
  std::filesystem::remove_all(dir);
}
