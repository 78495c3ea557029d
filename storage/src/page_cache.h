#pragma once

// SQLite's own page cache, with one walk it repeats for nothing taken out.
//
// When a b-tree page splits, SQLite may swap the numbers of the new pages, parking one
// for a moment under the number of the page after the lock byte (page 262,145 with 4 KiB
// pages). The default cache remembers that number as its largest key for good, so the
// end of every later write transaction asks it to drop the pages past the end of the
// database, and it walks its whole hash table (every cached page: 16,384 with the
// writer's 64 MiB) to find none. On the journal's writer that walk was 13 % of its CPU
// under load. This cache forwards every call to SQLite's default one and keeps, per
// cache, an upper bound of the keys it really holds; a truncation below none of them is
// answered without the walk.

#include <cstdint>

#include <sqlite3.h>

namespace baton::storage {

// Makes every connection this process opens from now on use the cache above. SQLite
// takes a page cache only before it starts, so this runs once, at the latest before the
// first connection (install_wal_writes calls it first, from a static initializer and from
// Db::open). Returns false when SQLite had already started: the default cache is then
// used, which is correct, only slower.
bool install_page_cache();

struct PageCacheStats {
  std::uint64_t truncations_skipped = 0;  // nothing at or past the limit: no walk
  std::uint64_t truncations_run = 0;      // forwarded to SQLite's cache
};
PageCacheStats page_cache_stats();

// The methods installed (for tests, which drive a cache directly).
const sqlite3_pcache_methods2& page_cache_methods();

}  // namespace baton::storage
