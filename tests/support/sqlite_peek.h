#pragma once

// Tests look at a database file as an operator would with sqlite3.

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

namespace baton::testing {

// A look at the file: read-only unless `writable` (opening a database whose writer was
// killed may need to recover its WAL, which takes write access).
struct Peek {
  sqlite3* db = nullptr;
  explicit Peek(const std::string& path, bool writable = false) {
    int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, flags, nullptr) == SQLITE_OK);
  }
  Peek(const Peek&) = delete;
  Peek& operator=(const Peek&) = delete;
  ~Peek() { sqlite3_close(db); }
  std::int64_t count(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    auto v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
  std::vector<std::string> plan(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string q = "EXPLAIN QUERY PLAN " + sql;
    INFO(q);
    REQUIRE(sqlite3_prepare_v2(db, q.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)));
    }
    sqlite3_finalize(s);
    return out;
  }
};

// Runs SQL on a connection a test holds, failing the test with SQLite's message.
inline void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err != nullptr ? err : "") << " [" << sql << "]");
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace baton::testing
