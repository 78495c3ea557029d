#pragma once

// The real `baton serve` in a temp directory on a free loopback port, for black-box
// tests. Tokens are made with the real `baton token create`.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_dir.h"

namespace baton::testing {

// Runs the binary to completion; returns stdout, and the exit code in `code`.
inline std::string run_baton(const std::vector<std::string>& args, int& code) {
  std::string cmd = BATON_BINARY;
  for (const auto& a : args) {
    cmd += " '" + a + "'";
  }
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  int st = ::pclose(p);
  code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Resource limits the server process starts under (0: inherited).
struct ProcessLimits {
  // The server may write no file past this size (RLIMIT_FSIZE), as on a full disk: a
  // write past it fails (EFBIG) instead of stopping the process.
  std::size_t max_file_bytes = 0;
  // RLIMIT_NOFILE, soft and hard.
  std::size_t open_files = 0;
  std::size_t open_files_hard = 0;
  // A file the server sees as /etc/resolv.conf (a mount namespace of its own; needs
  // root): which DNS server its name lookups ask.
  std::string resolv_conf = {};
};

class BatonServer {
 public:
  // `extra_config` is appended to the generated config file (e.g. "[limits]\n…").
  explicit BatonServer(const std::string& extra_config = "", const std::string& db = "",
                       ProcessLimits limits = {})
      : limits_(limits) {
    db_ = db.empty() ? dir_.db() : db;
    config_ = (dir_.dir / "baton.toml").string();
    std::ofstream out(config_);
    if (extra_config.find("[routing]") == std::string::npos) {
      out << "[routing]\nrules = \"" BATON_SOURCE_DIR "/config/routing.toml\"\n";
    }
    out << extra_config;
    out.close();
    start();
  }
  ~BatonServer() { stop(SIGTERM); }
  BatonServer(const BatonServer&) = delete;
  BatonServer& operator=(const BatonServer&) = delete;

  void start() {
    log_ = (dir_.dir / ("serve-" + std::to_string(starts_++) + ".log")).string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // The server dies with the test, and holds none of the test's pipes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::FILE* f = std::fopen(log_.c_str(), "w");
      ::dup2(::fileno(f), STDERR_FILENO);
      ::dup2(::fileno(f), STDOUT_FILENO);
      if (limits_.max_file_bytes > 0) {
        ::signal(SIGXFSZ, SIG_IGN);  // kept across exec: the write fails with EFBIG
        struct rlimit limit {};
        limit.rlim_cur = limit.rlim_max = limits_.max_file_bytes;
        ::setrlimit(RLIMIT_FSIZE, &limit);
      }
      if (!limits_.resolv_conf.empty()) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(limits_.resolv_conf.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) !=
                0) {
          std::fprintf(stderr, "cannot give the server its own resolv.conf\n");
          ::_exit(126);
        }
      }
      if (limits_.open_files > 0) {
        struct rlimit limit {};
        limit.rlim_cur = limits_.open_files;
        limit.rlim_max = std::max(limits_.open_files, limits_.open_files_hard);
        ::setrlimit(RLIMIT_NOFILE, &limit);
      }
      std::string bin = BATON_BINARY;
      std::vector<std::string> args = {bin,    "serve", "--config", config_,
                                       "--db", db_,     "--listen", "127.0.0.1:0"};
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string text = log_text();
      auto at = text.find("\"address\":\"");
      if (at != std::string::npos) {
        auto from = at + 11;
        address_ = text.substr(from, text.find('"', from) - from);
        return;
      }
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("baton serve exited at start: " + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("baton serve did not say where it listens: " + log_text());
  }

  // Sends `sig` and waits; returns the exit status (or -signal).
  int stop(int sig) {
    if (pid_ <= 0) {
      return 0;
    }
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    if (sig != SIGKILL && code != 0) {
      // A server that did not stop cleanly says why (a sanitizer's report, a log line).
      std::fprintf(stderr, "baton serve stopped with %d; its log:\n%s\n", code, log_text().c_str());
    }
    return code;
  }

  std::string token(const std::string& role, const std::string& agent = "") {
    std::vector<std::string> args = {"token", "create", "--role",   role,
                                     "--db",  db_,      "--config", config_};
    if (!agent.empty()) {
      args.push_back("--agent");
      args.push_back(agent);
    }
    int code = 0;
    std::string out = run_baton(args, code);
    if (code != 0) {
      throw std::runtime_error("token create failed");
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
      out.pop_back();
    }
    return out;
  }

  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  const std::string& address() const { return address_; }
  const std::string& db() const { return db_; }
  const std::string& config() const { return config_; }
  // A file in the server's temporary directory (e.g. routing rules for the config).
  std::string file(const std::string& name) const { return (dir_.dir / name).string(); }
  pid_t pid() const { return pid_; }

 private:
  TempDir dir_;
  std::string db_, config_, log_, address_;
  pid_t pid_ = -1;
  ProcessLimits limits_;
  int starts_ = 0;
};

}  // namespace baton::testing
