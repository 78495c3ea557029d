#pragma once

// The real `baton serve` for the benchmarks: a temporary directory, a config, the binary
// started on a free loopback port and stopped with SIGTERM.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace baton::bench {

// The p-th quantile (0..1) of `v` (reorders it).
inline double pct(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

struct BatonProcess {
  std::filesystem::path dir;
  std::string config;
  std::string db;
  pid_t pid = -1;
  std::string address;

  // `extra` is appended to a config with the shipped rules, no rate limit, room for
  // many connections and warn-level logs.
  explicit BatonProcess(const std::string& name, const std::string& extra = "") {
    dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    db = (dir / "baton.db").string();
    config = (dir / "baton.toml").string();
    std::ofstream(config) << "[routing]\nrules = \"" BATON_SOURCE_DIR
                             "/config/routing.toml\"\n[limits]\nrate_per_second = 0\n"
                             "pipeline_depth = 256\nmax_connections = 4096\n"
                             "[log]\nlevel = \"warn\"\n"
                          << extra;
  }
  BatonProcess(int io_threads, const std::string& synchronous)
      : BatonProcess("baton-http-load", "[server]\nio_threads = " + std::to_string(io_threads) +
                                            "\n[database]\nsynchronous = \"" + synchronous +
                                            "\"\n") {
    start();
  }
  ~BatonProcess() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
  }

  void start() {
    std::string log = (dir / "serve.log").string();
    pid = ::fork();
    if (pid == 0) {
      std::FILE* f = std::fopen(log.c_str(), "w");
      ::dup2(::fileno(f), STDERR_FILENO);
      ::execl(BATON_BINARY, BATON_BINARY, "serve", "--config", config.c_str(), "--db", db.c_str(),
              "--listen", "127.0.0.1:0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && address.empty()) {
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      auto at = text.find("\"address\":\"");
      if (at != std::string::npos) {
        address = text.substr(at + 11, text.find('"', at + 11) - at - 11);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // `baton token create`; works with the server running or not.
  std::string token(const std::string& role = "gateway", const std::string& agent = "") {
    std::string cmd = std::string(BATON_BINARY) + " token create --role " + role + " --db " + db +
                      " --config " + config + (agent.empty() ? "" : " --agent " + agent);
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[256] = {};
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    ::pclose(p);
    std::string t(buf, n);
    while (!t.empty() && (t.back() == '\n')) {
      t.pop_back();
    }
    return t;
  }
};

}  // namespace baton::bench
