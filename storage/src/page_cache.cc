#include "page_cache.h"

#include <algorithm>
#include <atomic>
#include <new>

namespace baton::storage {

namespace {

// SQLite's lock byte sits at 1 GiB (PENDING_BYTE); the page after the one holding it is
// where a split parks a page while it renumbers its siblings (balance_nonroot).
constexpr unsigned kLockByte = 0x40000000u;

// One cache: SQLite's own, and what it holds, bounded from above.
// Invariant: every page held has a key <= max_key, or the parking key with parked > 0.
struct Cache {
  sqlite3_pcache* inner = nullptr;
  unsigned parking_key = 0;
  unsigned max_key = 0;
  unsigned parked = 0;
};

sqlite3_pcache_methods2 g_default{};  // SQLite's cache, which does the work
sqlite3_pcache_methods2 g_methods{};  // ours, forwarding to it
std::atomic<std::uint64_t> g_skipped{0};
std::atomic<std::uint64_t> g_run{0};

Cache* of(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

sqlite3_pcache* create(int page_size, int extra_size, int purgeable) {
  sqlite3_pcache* inner = g_default.xCreate(page_size, extra_size, purgeable);
  if (inner == nullptr) {
    return nullptr;
  }
  auto* c = new (std::nothrow) Cache;
  if (c == nullptr) {
    g_default.xDestroy(inner);
    return nullptr;
  }
  c->inner = inner;
  c->parking_key = kLockByte / static_cast<unsigned>(page_size) + 1;
  return reinterpret_cast<sqlite3_pcache*>(c);
}

void cachesize(sqlite3_pcache* p, int pages) { g_default.xCachesize(of(p)->inner, pages); }

int pagecount(sqlite3_pcache* p) { return g_default.xPagecount(of(p)->inner); }

sqlite3_pcache_page* fetch(sqlite3_pcache* p, unsigned key, int create_flag) {
  Cache* c = of(p);
  sqlite3_pcache_page* page = g_default.xFetch(c->inner, key, create_flag);
  // A page found under the parking key while one is parked is that page: it is covered.
  if (page != nullptr && !(key == c->parking_key && c->parked > 0)) {
    c->max_key = std::max(c->max_key, key);
  }
  return page;
}

void unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  g_default.xUnpin(of(p)->inner, page, discard);
}

void rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Cache* c = of(p);
  g_default.xRekey(c->inner, page, old_key, new_key);
  if (old_key == c->parking_key && c->parked > 0) {
    --c->parked;  // the one page held under that key has left it
  }
  if (new_key == c->parking_key) {
    ++c->parked;
  } else {
    c->max_key = std::max(c->max_key, new_key);
  }
}

// Drop every page whose key is `limit` or more.
void truncate(sqlite3_pcache* p, unsigned limit) {
  Cache* c = of(p);
  if (c->parked == 0 && limit > c->max_key) {
    g_skipped.fetch_add(1, std::memory_order_relaxed);
    return;  // every page held is below the limit
  }
  g_run.fetch_add(1, std::memory_order_relaxed);
  g_default.xTruncate(c->inner, limit);
  c->max_key = limit > 0 ? std::min(c->max_key, limit - 1) : 0;
  if (limit <= c->parking_key) {
    c->parked = 0;
  }
}

void destroy(sqlite3_pcache* p) {
  Cache* c = of(p);
  g_default.xDestroy(c->inner);
  delete c;
}

void shrink(sqlite3_pcache* p) { g_default.xShrink(of(p)->inner); }

}  // namespace

bool install_page_cache() {
  static const bool installed = [] {
    // SQLite counts every allocation under one global mutex unless told not to; nothing
    // here reads those counts, and the journal's writer allocates ~70 times a case.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_default) != SQLITE_OK) {
      return false;  // SQLite has started: its default cache stays
    }
    g_methods =
        sqlite3_pcache_methods2{1,      g_default.pArg, g_default.xInit, g_default.xShutdown,
                                create, cachesize,      pagecount,       fetch,
                                unpin,  rekey,          truncate,        destroy,
                                shrink};
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &g_methods) == SQLITE_OK;
  }();
  return installed;
}

PageCacheStats page_cache_stats() {
  return {g_skipped.load(std::memory_order_relaxed), g_run.load(std::memory_order_relaxed)};
}

const sqlite3_pcache_methods2& page_cache_methods() { return g_methods; }

}  // namespace baton::storage
