#pragma once

// The nice of a process's thread, found by its name (Linux keeps a nice per thread).

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <sys/types.h>

namespace baton::testing {

inline std::optional<int> thread_nice(pid_t pid, const std::string& name) {
  std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm != name) {
      continue;
    }
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    auto close = stat.rfind(')');  // the name may hold spaces
    if (close == std::string::npos) {
      return std::nullopt;
    }
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && rest >> field; ++i) {
      if (i == 19) {
        return std::stoi(field);
      }
    }
  }
  return std::nullopt;
}

// The same, for a thread that may not have named itself yet: waits up to 5 s for it.
inline std::optional<int> named_thread_nice(pid_t pid, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto nice = thread_nice(pid, name);
    if (nice || std::chrono::steady_clock::now() > deadline) {
      return nice;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace baton::testing
