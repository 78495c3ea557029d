#pragma once

// A VFS over SQLite's default one that gathers the writes of a WAL transaction into one.
//
// SQLite writes each WAL frame as two system calls: its 24-byte header, then the page at
// the offset just after. A frame is 4,120 bytes, so the page straddles two pages of the
// OS's cache, and the header a third: every frame costs the kernel two writes and three
// page walks (lookup, lock, dirty). With ~40 frames a commit, that was 15 % of the
// journal writer's CPU under load.
//
// Here a WAL file keeps the frames of the transaction being written in memory, in order,
// and hands them to the file in one write when the commit frame's page arrives (frame
// headers name the commit frame). So the frames are in the file before SQLite, which
// writes them first, publishes them to readers in the WAL index; in every synchronous
// mode, also NORMAL and OFF where no sync follows. Anything but the next frame in order
// (a header rewrite, a read, a size, a truncation, a sync, a close, a file control)
// first writes out what is held, so SQLite never sees the file differ from what it wrote.
// Other files, and reads, go straight to the default VFS.

#include <cstdint>

namespace baton::storage {

// Registers the VFS as the process's default, after installing the page cache (SQLite
// takes a page cache only before it starts, and registering a VFS starts it). Runs from a
// static initializer and from Db::open. Returns false if registering failed: the
// default VFS then stays, which is correct, only slower.
bool install_wal_writes();

struct WalWriteStats {
  std::uint64_t frames_gathered = 0;  // frames held and written out together
  std::uint64_t writes = 0;           // writes handed to the file for them
  // Statement journals SQLite spilled to a temporary file (a statement that writes many
  // rows keeps a copy of each page it changes until it ends; the journal's never do).
  std::uint64_t statement_journal_files = 0;
};
WalWriteStats wal_write_stats();

}  // namespace baton::storage
