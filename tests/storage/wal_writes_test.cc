#include "wal_writes.h"

#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite_peek.h"
#include "temp_dir.h"

using namespace baton::storage;
using baton::testing::Peek;
using baton::testing::TempDir;

namespace {

int exec_rc(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

// A WAL database with a table of blobs, opened by this process's default VFS.
struct Blobs {
  sqlite3* db = nullptr;
  Blobs(const std::string& path, const char* synchronous) {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    baton::testing::exec_sql(db, "PRAGMA journal_mode=WAL");
    baton::testing::exec_sql(db, std::string("PRAGMA synchronous=") + synchronous);
    baton::testing::exec_sql(db, "PRAGMA wal_autocheckpoint=0");  // every frame stays in the WAL
    baton::testing::exec_sql(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)");
  }
  ~Blobs() { sqlite3_close(db); }
  Blobs(const Blobs&) = delete;
  Blobs& operator=(const Blobs&) = delete;
  void insert(int rows, int bytes) {
    for (int i = 0; i < rows; ++i) {
      baton::testing::exec_sql(
          db, "INSERT INTO t (v) VALUES (randomblob(" + std::to_string(bytes) + "))");
    }
  }
};

}  // namespace

TEST_CASE("the WAL layer is this process's default VFS") {
  REQUIRE(install_wal_writes());
  REQUIRE(sqlite3_vfs_find(nullptr) != nullptr);
  CHECK(std::string(sqlite3_vfs_find(nullptr)->zName) == "baton-wal");
}

TEST_CASE("a transaction's frames reach the WAL in a few large writes") {
  TempDir tmp;
  Blobs b(tmp.db(), "FULL");
  auto before = wal_write_stats();
  baton::testing::exec_sql(b.db, "BEGIN");
  b.insert(300, 1000);  // ~80 pages
  baton::testing::exec_sql(b.db, "COMMIT");
  auto after = wal_write_stats();
  auto frames = after.frames_gathered - before.frames_gathered;
  auto writes = after.writes - before.writes;
  CHECK(frames >= 70);
  // Unlayered, SQLite makes two writes a frame; here the commit goes out in 124 KiB pieces.
  CHECK(writes <= frames * 4120 / (31 * 4096) + 1);
  CHECK(Peek(tmp.db()).count("SELECT count(*) FROM t") == 300);
}

TEST_CASE("another connection sees each commit at once, with or without a sync after it") {
  for (const char* mode : {"FULL", "NORMAL", "OFF"}) {
    INFO(mode);
    TempDir tmp;
    Blobs w(tmp.db(), mode);
    Peek r(tmp.db());
    std::int64_t bytes = 0;
    for (int i = 1; i <= 60; ++i) {
      // Sizes that put commit frames at every offset a page can straddle.
      int n = 1 + (i * 977) % 6000;
      w.insert(1, n);
      bytes += n;
      REQUIRE(r.count("SELECT count(*) FROM t") == i);
      REQUIRE(r.count("SELECT sum(length(v)) FROM t") == bytes);
    }
    CHECK(r.text("PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("frames spilled by a large transaction and rolled back leave the WAL sound") {
  TempDir tmp;
  Blobs w(tmp.db(), "NORMAL");
  baton::testing::exec_sql(
      w.db, "PRAGMA cache_size=8");  // pages: the transaction spills frames to the WAL
  baton::testing::exec_sql(w.db, "BEGIN");
  w.insert(400, 3000);
  // Reading back what was spilled goes to the file: the layer writes what it holds first.
  REQUIRE(Peek(tmp.db()).count("SELECT count(*) FROM t") == 0);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(w.db, "SELECT count(*), sum(length(v)) FROM t", -1, &s, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int64(s, 0) == 400);
  CHECK(sqlite3_column_int64(s, 1) == 400 * 3000);
  sqlite3_finalize(s);
  baton::testing::exec_sql(w.db, "ROLLBACK");
  w.insert(10, 2000);  // over the rolled-back frames
  Peek r(tmp.db());
  CHECK(r.count("SELECT count(*) FROM t") == 10);
  CHECK(r.count("SELECT sum(length(v)) FROM t") == 20000);
  CHECK(r.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a process that dies after its commits has every one of them in the file") {
  TempDir tmp;
  { Blobs init(tmp.db(), "NORMAL"); }
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No sync after a NORMAL commit: only what was written before COMMIT returned survives.
    sqlite3* db = nullptr;
    if (sqlite3_open(tmp.db().c_str(), &db) != SQLITE_OK ||
        exec_rc(db, "PRAGMA synchronous=NORMAL") != SQLITE_OK) {
      ::_exit(2);
    }
    for (int i = 0; i < 50; ++i) {
      if (exec_rc(db, "INSERT INTO t (v) VALUES (randomblob(1500))") != SQLITE_OK) {
        ::_exit(3);
      }
    }
    ::_exit(0);  // without closing: nothing is written on the way out
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Peek r(tmp.db(), /*writable=*/true);
  CHECK(r.count("SELECT count(*) FROM t") == 50);
  CHECK(r.text("PRAGMA integrity_check") == "ok");
}
