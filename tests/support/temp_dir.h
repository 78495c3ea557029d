#pragma once

// A fresh directory for a test's database files, removed with everything in it.

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace baton::testing {

struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    static std::atomic<int> n{0};
    dir = std::filesystem::temp_directory_path() /
          ("baton-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string db() const { return (dir / "baton.db").string(); }
};

}  // namespace baton::testing
