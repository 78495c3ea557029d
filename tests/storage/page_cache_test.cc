#include "page_cache.h"

#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "sqlite_peek.h"
#include "temp_dir.h"

using namespace baton::storage;
using baton::testing::Peek;
using baton::testing::TempDir;

namespace {

constexpr unsigned kParkingKey = 0x40000000u / 4096 + 1;  // SQLite's, with 4 KiB pages

// A cache of 4 KiB pages driven as SQLite's pager drives it.
struct DirectCache {
  const sqlite3_pcache_methods2& m = page_cache_methods();
  sqlite3_pcache* c = nullptr;
  // Holding pages 1 to `pages`, unpinned.
  explicit DirectCache(unsigned pages) {
    REQUIRE(sqlite3_initialize() == SQLITE_OK);
    c = m.xCreate(4096, 64, 1);
    REQUIRE(c != nullptr);
    m.xCachesize(c, 100);
    for (unsigned k = 1; k <= pages; ++k) {
      add(k);
    }
  }
  ~DirectCache() { m.xDestroy(c); }
  DirectCache(const DirectCache&) = delete;
  DirectCache& operator=(const DirectCache&) = delete;
  void add(unsigned key) {
    sqlite3_pcache_page* p = m.xFetch(c, key, 2);
    REQUIRE(p != nullptr);
    m.xUnpin(c, p, 0);
  }
  bool holds(unsigned key) {
    sqlite3_pcache_page* p = m.xFetch(c, key, 0);
    if (p != nullptr) {
      m.xUnpin(c, p, 0);
    }
    return p != nullptr;
  }
  void rekey(unsigned from, unsigned to) {
    sqlite3_pcache_page* p = m.xFetch(c, from, 0);
    REQUIRE(p != nullptr);
    m.xRekey(c, p, from, to);
    m.xUnpin(c, p, 0);
  }
};

std::uint64_t skipped() { return page_cache_stats().truncations_skipped; }
std::uint64_t run() { return page_cache_stats().truncations_run; }

}  // namespace

TEST_CASE("the page cache is SQLite's for every connection of the process") {
  REQUIRE(install_page_cache());
  REQUIRE(page_cache_methods().xFetch != nullptr);
}

TEST_CASE(
    "a truncation past every page held is answered without a walk, one below drops what it must") {
  DirectCache cache(5);
  auto s0 = skipped(), r0 = run();
  cache.m.xTruncate(cache.c, 6);  // the end of a transaction: nothing past page 5
  CHECK(skipped() == s0 + 1);
  CHECK(run() == r0);
  for (unsigned k = 1; k <= 5; ++k) {
    CHECK(cache.holds(k));
  }

  cache.m.xTruncate(cache.c, 4);  // a rollback shrinking the database to 3 pages
  CHECK(run() == r0 + 1);
  CHECK(cache.holds(3));
  CHECK_FALSE(cache.holds(4));
  CHECK_FALSE(cache.holds(5));

  cache.m.xTruncate(cache.c, 4);  // again: nothing left to drop
  CHECK(skipped() == s0 + 2);
  cache.m.xTruncate(cache.c, 0);  // a reset drops everything
  CHECK_FALSE(cache.holds(1));
}

TEST_CASE("a page split's swap through the parking page leaves nothing to walk for") {
  DirectCache cache(11);
  // What balance_nonroot does to put two new pages in order: A -> parking, B -> A, A -> B.
  cache.rekey(10, kParkingKey);
  cache.rekey(11, 10);
  cache.rekey(kParkingKey, 11);
  CHECK_FALSE(cache.holds(kParkingKey));
  auto s0 = skipped();
  cache.m.xTruncate(cache.c, 12);
  CHECK(skipped() == s0 + 1);
  CHECK(cache.holds(10));
  CHECK(cache.holds(11));
}

TEST_CASE("a page left at the parking key is dropped by the truncation that must drop it") {
  DirectCache cache(11);
  cache.rekey(11, kParkingKey);
  REQUIRE(cache.holds(kParkingKey));
  auto r0 = run();
  cache.m.xTruncate(cache.c, 12);  // below the parking key: the parked page must go
  CHECK(run() == r0 + 1);
  CHECK_FALSE(cache.holds(kParkingKey));
  CHECK(cache.holds(10));

  // A page at the parking key that reached it by a fetch (a database past 1 GiB) counts
  // like any other page.
  cache.add(kParkingKey);
  auto r1 = run();
  cache.m.xTruncate(cache.c, 12);
  CHECK(run() == r1 + 1);
  CHECK_FALSE(cache.holds(kParkingKey));
}

TEST_CASE("a database written through many page splits and a rollback reads back whole") {
  TempDir tmp;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(tmp.db().c_str(), &db) == SQLITE_OK);
  baton::testing::exec_sql(db, "PRAGMA journal_mode=WAL");
  baton::testing::exec_sql(db, "PRAGMA cache_size=-16384");
  baton::testing::exec_sql(db,
                           "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v TEXT);"
                           "CREATE INDEX t_k ON t (k, id); CREATE INDEX t_v ON t (v)");
  auto s0 = skipped();
  // Appends at the right edge and inserts at scattered places, as the journal's rows and
  // indexes get them, 40 rows a transaction.
  for (int batch = 0; batch < 500; ++batch) {
    std::string sql = "BEGIN;";
    for (int i = 0; i < 40; ++i) {
      int n = batch * 40 + i;
      sql += "INSERT INTO t (k, v) VALUES (" + std::to_string((n * 7919) % 997) + ", 'row " +
             std::to_string(n) + std::string(40, 'x') + "');";
    }
    baton::testing::exec_sql(db, sql + "COMMIT");
  }
  CHECK(skipped() > s0);  // transactions ended without a walk

  // A transaction that grows the file and is rolled back: the pages past the old end leave
  // the cache, and what is read next is what was committed.
  auto r0 = run();
  baton::testing::exec_sql(
      db, "BEGIN; INSERT INTO t (k, v) SELECT k + 1000, v || 'y' FROM t; ROLLBACK");
  CHECK(run() > r0);
  baton::testing::exec_sql(db, "INSERT INTO t (k, v) VALUES (5, 'after')");
  sqlite3_close(db);

  Peek peek(tmp.db());
  CHECK(peek.text("PRAGMA integrity_check") == "ok");
  CHECK(peek.count("SELECT count(*) FROM t") == 20001);
  CHECK(peek.count("SELECT count(*) FROM t WHERE k >= 1000") == 0);
}
