#include "wal_writes.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <string>

#include <sqlite3.h>

#include "page_cache.h"

namespace baton::storage {

namespace {

constexpr int kFrameHeader = 24;              // SQLite's WAL frame header (WAL_FRAME_HDRSIZE)
constexpr std::size_t kHoldAtMost = 1 << 20;  // a larger transaction goes out 1 MiB at a time
// The default VFS writes at most 128 KiB - 1 a call (it masks the count with 0x1ffff).
constexpr std::size_t kWriteAtMost = 31 * 4096;

sqlite3_vfs* g_base = nullptr;  // the default VFS, which does the work
sqlite3_vfs g_vfs{};            // ours
std::atomic<std::uint64_t> g_frames{0};
std::atomic<std::uint64_t> g_writes{0};
std::atomic<std::uint64_t> g_statement_journals{0};

// What a WAL file holds back: bytes for the file from `start` on, in order.
struct Held {
  std::string bytes;
  sqlite3_int64 start = 0;
  bool page_next = false;     // a frame header was the last thing held; its page comes next
  bool commit_frame = false;  // ... and that header marks the commit frame
  int frames = 0;
  sqlite3_int64 end() const { return start + static_cast<sqlite3_int64>(bytes.size()); }
};

// Our file: the default VFS's file lies right after it, in the same allocation.
struct File {
  sqlite3_file base;
  Held* held;  // WAL files only
};
constexpr std::size_t kRealAt = (sizeof(File) + 15) / 16 * 16;

sqlite3_file* real(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealAt);
}
Held* held(sqlite3_file* f) { return reinterpret_cast<File*>(f)->held; }

// Writes out what the file holds. On failure the held bytes are dropped: they are frames
// of a transaction SQLite will now roll back, which nobody was told of.
int write_out(sqlite3_file* f) {
  Held* h = held(f);
  if (h == nullptr || h->bytes.empty()) {
    return SQLITE_OK;
  }
  sqlite3_file* r = real(f);
  int rc = SQLITE_OK;
  for (std::size_t at = 0; at < h->bytes.size() && rc == SQLITE_OK; at += kWriteAtMost) {
    std::size_t n = std::min(kWriteAtMost, h->bytes.size() - at);
    rc = r->pMethods->xWrite(r, h->bytes.data() + at, static_cast<int>(n),
                             h->start + static_cast<sqlite3_int64>(at));
    g_writes.fetch_add(1, std::memory_order_relaxed);
  }
  g_frames.fetch_add(static_cast<std::uint64_t>(h->frames), std::memory_order_relaxed);
  h->bytes.clear();
  h->page_next = false;
  h->commit_frame = false;
  h->frames = 0;
  return rc;
}

std::uint32_t big_endian32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

int x_close(sqlite3_file* f) {
  int rc = write_out(f);
  sqlite3_file* r = real(f);
  int rc2 = r->pMethods != nullptr ? r->pMethods->xClose(r) : SQLITE_OK;
  delete held(f);
  reinterpret_cast<File*>(f)->held = nullptr;
  return rc != SQLITE_OK ? rc : rc2;
}

int x_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return real(f)->pMethods->xRead(real(f), out, amount, offset);
}

int x_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  Held* h = held(f);
  if (h != nullptr) {
    bool in_order = h->bytes.empty() || offset == h->end();
    if (in_order && !h->page_next && amount == kFrameHeader) {
      if (h->bytes.empty()) {
        h->start = offset;
        // Once, at the first write: connections that only read never hold anything.
        h->bytes.reserve(kHoldAtMost + 65536);
      }
      h->bytes.append(static_cast<const char*>(data), kFrameHeader);
      h->page_next = true;
      // Bytes 4-7 of a frame header: the database size after a commit, 0 for other frames.
      h->commit_frame = big_endian32(static_cast<const char*>(data) + 4) != 0;
      return SQLITE_OK;
    }
    if (in_order && h->page_next && !h->bytes.empty()) {
      h->bytes.append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
      h->page_next = false;
      ++h->frames;
      // The commit frame goes to the file before SQLite publishes it in the WAL index.
      if (h->commit_frame || h->bytes.size() >= kHoldAtMost) {
        return write_out(f);
      }
      return SQLITE_OK;
    }
    if (int rc = write_out(f); rc != SQLITE_OK) {
      return rc;
    }
  }
  return real(f)->pMethods->xWrite(real(f), data, amount, offset);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return real(f)->pMethods->xTruncate(real(f), size);
}

int x_sync(sqlite3_file* f, int flags) {
  if (int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return real(f)->pMethods->xSync(real(f), flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return real(f)->pMethods->xFileSize(real(f), size);
}

int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  if (int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}

int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }

int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 2) {
    return SQLITE_IOERR_SHMMAP;
  }
  return r->pMethods->xShmMap(r, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion < 2 ? SQLITE_IOERR_SHMLOCK
                                   : r->pMethods->xShmLock(r, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion >= 2) {
    r->pMethods->xShmBarrier(r);
  }
}
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion < 2 ? SQLITE_OK : r->pMethods->xShmUnmap(r, delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return r->pMethods->xFetch(r, offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  sqlite3_file* r = real(f);
  return r->pMethods->iVersion < 3 ? SQLITE_OK : r->pMethods->xUnfetch(r, offset, p);
}

const sqlite3_io_methods kMethods = {3,           x_close,          x_read,         x_write,
                                     x_truncate,  x_sync,           x_file_size,    x_lock,
                                     x_unlock,    x_check_reserved, x_file_control, x_sector_size,
                                     x_device,    x_shm_map,        x_shm_lock,     x_shm_barrier,
                                     x_shm_unmap, x_fetch,          x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<File*>(f);
  file->base.pMethods = nullptr;
  file->held = nullptr;
  sqlite3_file* r = real(f);
  int rc = g_base->xOpen(g_base, name, r, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (r->pMethods != nullptr) {
      r->pMethods->xClose(r);
    }
    return rc;
  }
  if ((flags & SQLITE_OPEN_SUBJOURNAL) != 0) {
    g_statement_journals.fetch_add(1, std::memory_order_relaxed);
  }
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    file->held = new (std::nothrow) Held;
    if (file->held == nullptr) {
      r->pMethods->xClose(r);
      return SQLITE_NOMEM;
    }
  }
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}

// Before main, while one thread runs and before any connection can start SQLite. The page
// cache is installed first by this call, whatever order static initializers run in.
const bool kInstalledAtStart = install_wal_writes();

}  // namespace

bool install_wal_writes() {
  static const bool installed = [] {
    install_page_cache();
    g_base = sqlite3_vfs_find(nullptr);
    if (g_base == nullptr) {
      return false;
    }
    g_vfs = *g_base;  // every other method, and what they read (pAppData, mxPathname)
    g_vfs.zName = "baton-wal";
    g_vfs.szOsFile = static_cast<int>(kRealAt) + g_base->szOsFile;
    g_vfs.xOpen = x_open;
    g_vfs.pNext = nullptr;
    return sqlite3_vfs_register(&g_vfs, 1) == SQLITE_OK;
  }();
  return installed;
}

WalWriteStats wal_write_stats() {
  return {g_frames.load(std::memory_order_relaxed), g_writes.load(std::memory_order_relaxed),
          g_statement_journals.load(std::memory_order_relaxed)};
}

}  // namespace baton::storage
