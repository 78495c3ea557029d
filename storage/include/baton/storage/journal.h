#pragma once

// The engine's Journal on SQLite, with group commit: a thread of its own drains
// everything queued since its last commit into one BEGIN IMMEDIATE … COMMIT, then
// completes those commands together (commit, then publish). The fsync is shared by every
// command in the batch.
//
// A failed commit is sticky: the disk's state is unknown, so every later append fails
// too and health() reports it (the server stops saying it is ready).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "baton/base/result.h"
#include "baton/engine/ports.h"

namespace baton::storage {

struct JournalOptions {
  std::string path;                  // the SQLite file (created when missing)
  std::string synchronous = "FULL";  // FULL or NORMAL
  std::string workspace = "default";
  std::size_t max_batch = 20'000;  // mutations in one transaction at most
  // Mutations waiting for their commit or its completion at most; past it the journal is
  // saturated and the engine refuses new commands until it drains (backpressure, not
  // unbounded latency).
  std::size_t max_queue = 50'000;
  int busy_timeout_ms = 5000;
  // The WAL's size in pages (4 KiB) at which it starts again from the top (SQLite's default
  // mark is 1000: 4 MB). A thread of the journal's own copies it into the database in
  // passes of 1/32 of that as it grows, so commits do not wait for it and no pass is large.
  int checkpoint_pages = 10'000;
};

struct JournalStats {
  std::uint64_t mutations = 0;  // committed
  std::uint64_t commits = 0;    // transactions
  std::uint64_t largest_batch = 0;
  std::uint64_t failed = 0;       // mutations refused or lost to a failed commit
  double write_ms = 0;            // time spent writing rows inside transactions
  double commit_ms = 0;           // time spent in COMMIT (the fsync)
  std::uint64_t wal_frames = 0;   // pages the commits appended to the WAL
  std::uint64_t checkpoints = 0;  // run by the checkpoint thread
  // Run by the writer between transactions once the WAL has reached the mark.
  std::uint64_t checkpoints_inline = 0;
  std::uint64_t checkpoint_failures = 0;
};

class SqliteJournal final : public engine::Journal {
 public:
  // Opens the file, applies migrations, starts the writer, completion and checkpoint
  // threads.
  static Result<std::unique_ptr<SqliteJournal>> open(const JournalOptions& options);
  ~SqliteJournal() override;  // commits what is queued, then stops

  // Thread-safe. `done` runs on the journal's completion thread once the batch holding `m`
  // has committed (ok) or failed; callbacks run in the order of their commits.
  void append(std::shared_ptr<const engine::Mutation> m, std::function<void(Status)> done) override;
  void append(engine::Mutation m, std::function<void(Status)> done) {
    append(std::make_shared<const engine::Mutation>(std::move(m)), std::move(done));
  }
  // Blocks until everything appended before the call is committed or failed.
  Status flush();
  bool saturated() const override;
  Status health() const;
  JournalStats stats() const;

  // Tests: the next commit fails as if the disk had.
  void fail_next_commit_for_test();

 private:
  struct Impl;
  explicit SqliteJournal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Brings the file at `path` to the latest schema (what `baton migrate` does). Returns the
// version. Refuses a database newer than this binary. `up_to` stops at an earlier
// version (tests of the upgrade from each one).
int latest_schema_version();
Result<int> migrate_file(const std::string& path, int up_to = latest_schema_version());

// Copies a live database to `to` with SQLite's online backup API.
Status backup_file(const std::string& from, const std::string& to);

}  // namespace baton::storage
