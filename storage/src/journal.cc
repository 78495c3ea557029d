#include "baton/storage/journal.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

#include "mutation_rows.h"
#include "schema.h"
#include "sqlite.h"

namespace baton::storage {

namespace {

// The checkpoint thread copies the WAL into the database every checkpoint_pages / 32 pages.
constexpr int kCheckpointSteps = 32;

struct Pending {
  std::shared_ptr<const engine::Mutation> mutation;
  std::function<void(Status)> done;
  MutationText text;
};

}  // namespace

struct SqliteJournal::Impl {
  JournalOptions options;
  Db db;
  Writer writer;
  std::uint64_t newest_case = 0;  // the largest case id committed; the writer's own

  mutable std::mutex mu;
  std::condition_variable wake;       // the writer: work arrived or stop
  std::condition_variable committed;  // flush(): a batch finished
  std::deque<Pending> queue;          // GUARDED_BY(mu)
  std::uint64_t appended = 0;         // GUARDED_BY(mu)
  std::uint64_t finished = 0;         // GUARDED_BY(mu)
  bool stopping = false;              // GUARDED_BY(mu)
  std::optional<Error> sticky;        // GUARDED_BY(mu): the first failed commit
  bool fail_next = false;             // GUARDED_BY(mu)
  JournalStats stats;                 // GUARDED_BY(mu)
  int wal_pages = 0;                  // GUARDED_BY(mu): the WAL's size after the last commit
  int wal_pages_at_pass = 0;          // GUARDED_BY(mu): its size when a pass was last asked for
  std::thread thread;

  // Committed (or failed) batches wait here for the completer, which runs their callbacks
  // in commit order and frees them while the writer already writes the next batch: the
  // writer is the one serial stage, so it does nothing but write.
  struct Finished {
    std::vector<Pending> batch;
    std::optional<Error> failed;
  };
  std::deque<Finished> done_queue;    // GUARDED_BY(mu)
  std::condition_variable done_wake;  // the completer: a batch finished, or the writer stopped
  bool writer_stopped = false;        // GUARDED_BY(mu)
  std::thread completer;

  // Checkpoints run on a connection and thread of their own, so the writer never stalls
  // while the WAL is copied into the database (tens of ms for a large WAL).
  std::optional<Db> checkpoint_db;
  std::thread checkpointer;
  std::condition_variable checkpoint_wake;  // the WAL passed checkpoint_pages, or stop
  bool checkpoint_due = false;              // GUARDED_BY(mu)

  Impl(JournalOptions o, Db d, Writer w)
      : options(std::move(o)), db(std::move(d)), writer(std::move(w)) {}

  // SQLite's WAL hook: on the writer's thread after each commit, with the WAL's size.
  static int on_wal(void* self, sqlite3*, const char*, int pages) {
    auto* impl = static_cast<Impl*>(self);
    int limit = impl->options.checkpoint_pages;
    std::lock_guard lock(impl->mu);
    // Pages this commit appended (the WAL starts again from 0 after a checkpoint).
    int added = pages >= impl->wal_pages ? pages - impl->wal_pages : pages;
    impl->wal_pages = pages;
    impl->stats.wal_frames += static_cast<std::uint64_t>(added);
    // Small passes all along, each once the WAL has grown by a step since the last, so that
    // when it reaches the mark little is left to copy and no pass is a burst. From the mark
    // on the writer copies the rest (finish_checkpoint_pass) and this thread stays out of
    // its way.
    if (pages < impl->wal_pages_at_pass) {
      impl->wal_pages_at_pass = 0;  // the WAL started again from the top
    }
    if (pages < limit && pages - impl->wal_pages_at_pass >= std::max(1, limit / kCheckpointSteps)) {
      impl->wal_pages_at_pass = pages;
      impl->checkpoint_due = true;
      impl->checkpoint_wake.notify_one();
    }
    return SQLITE_OK;
  }

  void run_checkpoints() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        checkpoint_wake.wait(lock, [&] { return stopping || checkpoint_due; });
        if (stopping) {
          return;
        }
        checkpoint_due = false;
      }
      int log = 0, done = 0;
      int rc = sqlite3_wal_checkpoint_v2(checkpoint_db->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                         &log, &done);
      std::lock_guard lock(mu);
      ++stats.checkpoints;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        ++stats.checkpoint_failures;  // the next one tries again; the WAL keeps the data
      }
    }
  }

  // Past the mark, before each batch. The checkpoint thread copies the WAL as it grows, but
  // the WAL starts again from the top only if all of it is copied when the writer begins a
  // transaction, and the writer begins the next one as soon as a commit ends: that thread,
  // always a commit or more behind, would seldom win (the WAL grew to twice the mark and
  // more, with a pass and two fsyncs every few commits meanwhile). So the writer copies
  // what is left itself, between its transactions: the frames since that thread's last
  // pass, about a step. If that pass is still running SQLite answers busy at once and the
  // next batch tries again; with nothing left to copy a pass does nothing (no sync).
  void finish_checkpoint_pass() {
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    std::lock_guard lock(mu);
    if (rc == SQLITE_OK) {
      ++stats.checkpoints_inline;
    } else if (rc != SQLITE_BUSY) {
      ++stats.checkpoint_failures;
    }
  }

  void run() {
    for (;;) {
      std::vector<Pending> batch;
      std::optional<Error> failed;
      bool inject = false;
      bool finish_checkpoint = false;
      {
        std::unique_lock lock(mu);
        // Stopping waits for the batches still being completed too: their callbacks may
        // append again, and what they append is committed before the journal stops. Here,
        // between batches, every command appended and not finished that is not queued is
        // being completed.
        wake.wait(lock, [&] {
          return !queue.empty() || (stopping && appended - finished == queue.size());
        });
        if (queue.empty()) {
          return;
        }
        std::size_t n = std::min(queue.size(), options.max_batch);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        failed = sticky;
        inject = fail_next;
        fail_next = false;
        finish_checkpoint = wal_pages >= options.checkpoint_pages;
      }
      if (finish_checkpoint && !failed) {
        finish_checkpoint_pass();
      }
      if (!failed) {
        failed = commit(batch, inject);
      }
      {
        std::lock_guard lock(mu);
        if (failed) {
          if (!sticky) {
            sticky = failed;
          }
          stats.failed += batch.size();
        } else {
          stats.mutations += batch.size();
          ++stats.commits;
          stats.largest_batch = std::max<std::uint64_t>(stats.largest_batch, batch.size());
        }
      }
      {
        std::lock_guard lock(mu);
        done_queue.push_back(Finished{std::move(batch), std::move(failed)});
      }
      done_wake.notify_one();
    }
  }

  void run_completions() {
    for (;;) {
      Finished f;
      {
        std::unique_lock lock(mu);
        done_wake.wait(lock, [&] { return writer_stopped || !done_queue.empty(); });
        if (done_queue.empty()) {
          return;  // the writer stopped and everything it committed is complete
        }
        f = std::move(done_queue.front());
        done_queue.pop_front();
      }
      // Outside the lock: callbacks may append again.
      for (auto& p : f.batch) {
        if (f.failed) {
          p.done(*f.failed);
        } else {
          p.done({});
        }
      }
      // Let go of the batch (callbacks and what they hold) before saying it is finished:
      // after flush() the journal holds nothing of its callers'.
      std::size_t n = f.batch.size();
      f.batch.clear();
      f.batch.shrink_to_fit();
      {
        std::lock_guard lock(mu);
        finished += n;
      }
      committed.notify_all();
      wake.notify_one();  // a stopping writer waits for this
    }
  }

  std::optional<Error> commit(const std::vector<Pending>& batch, bool inject) {
    using Ms = std::chrono::duration<double, std::milli>;
    auto t0 = std::chrono::steady_clock::now();
    auto tx = Transaction::begin(db.get());
    if (!tx) {
      return tx.error();
    }
    std::vector<CaseRow> cases;
    std::vector<EventRow> events;
    for (const auto& p : batch) {
      if (auto st = writer.write(options.workspace, *p.mutation); !st) {
        return st.error();  // the transaction rolls back
      }
      for (std::size_t i = 0; i < p.mutation->cases.size(); ++i) {
        cases.push_back(CaseRow{&p.mutation->cases[i], &p.text, i});
      }
      for (std::size_t i = 0; i < p.mutation->events.size(); ++i) {
        events.push_back(EventRow{&p.mutation->events[i], p.text.event_data(*p.mutation, i)});
      }
    }
    // Nothing written above reads a case row; the merges below do.
    auto newest = writer.write_cases(options.workspace, cases, newest_case);
    if (!newest) {
      return newest.error();
    }
    if (auto st = writer.write_events(options.workspace, events); !st) {
      return st.error();
    }
    for (const auto& p : batch) {
      if (auto st = writer.write_merges(*p.mutation); !st) {
        return st.error();
      }
    }
    if (inject) {
      return Error(ErrorCode::Unavailable, "COMMIT: disk I/O error (injected)");
    }
    auto t1 = std::chrono::steady_clock::now();
    if (auto st = tx->commit(); !st) {
      return st.error();
    }
    newest_case = newest.value();
    auto t2 = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    stats.write_ms += Ms(t1 - t0).count();
    stats.commit_ms += Ms(t2 - t1).count();
    return std::nullopt;
  }
};

SqliteJournal::SqliteJournal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SqliteJournal>> SqliteJournal::open(const JournalOptions& options) {
  if (options.synchronous != "FULL" && options.synchronous != "NORMAL") {
    return Error(ErrorCode::InvalidArgument, "synchronous must be FULL or NORMAL",
                 {FieldError{"storage.synchronous", "must be FULL or NORMAL"}});
  }
  auto db = Db::open(options.path, true, options.synchronous, options.busy_timeout_ms);
  if (!db) {
    return db.error();
  }
  auto v = migrate(db.value());
  if (!v) {
    return v.error();
  }
  // The WAL is copied back into the database once it holds `checkpoint_pages` pages (a page
  // rewritten by many commits in between is copied once), by the checkpoint thread.
  BATON_RETURN_IF_ERROR(db->exec("PRAGMA wal_autocheckpoint=0"));
  auto checkpoint_db = Db::open(options.path, false, options.synchronous, options.busy_timeout_ms);
  if (!checkpoint_db) {
    return checkpoint_db.error();
  }
  {
    auto ins = Stmt::prepare(db->get(),
                             "INSERT OR IGNORE INTO workspaces (id, name, created_at) "
                             "VALUES (?, ?, strftime('%s','now') * 1000)");
    if (!ins) {
      return ins.error();
    }
    BATON_RETURN_IF_ERROR(ins->bind(1, options.workspace).bind(2, options.workspace).run());
  }
  auto w = Writer::prepare(db->get());
  if (!w) {
    return w.error();
  }
  auto newest = db->query_int("SELECT coalesce(max(id), 0) FROM cases");
  if (!newest) {
    return newest.error();
  }
  auto impl = std::make_unique<Impl>(options, std::move(db).value(), std::move(w).value());
  Impl* raw = impl.get();
  raw->newest_case = static_cast<std::uint64_t>(newest.value());
  raw->checkpoint_db = std::move(checkpoint_db).value();
  sqlite3_wal_hook(raw->db.get(), &Impl::on_wal, raw);
  // Named for `top -H` and profilers.
  impl->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-journal");
    raw->run();
  });
  impl->completer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-complete");
    raw->run_completions();
  });
  impl->checkpointer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-wal-ckpt");
    raw->run_checkpoints();
  });
  return std::unique_ptr<SqliteJournal>(new SqliteJournal(std::move(impl)));
}

SqliteJournal::~SqliteJournal() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->checkpoint_wake.notify_all();
  impl_->thread.join();
  {
    std::lock_guard lock(impl_->mu);
    impl_->writer_stopped = true;
  }
  impl_->done_wake.notify_all();
  impl_->completer.join();
  impl_->checkpointer.join();
}

void SqliteJournal::append(std::shared_ptr<const engine::Mutation> m,
                           std::function<void(Status)> done) {
  MutationText text = text_of(*m);  // here, on the caller's thread: see MutationText
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back(Pending{std::move(m), std::move(done), std::move(text)});
    ++impl_->appended;
  }
  impl_->wake.notify_one();
}

Status SqliteJournal::flush() {
  std::unique_lock lock(impl_->mu);
  std::uint64_t target = impl_->appended;
  impl_->committed.wait(lock, [&] { return impl_->finished >= target; });
  if (impl_->sticky) {
    return *impl_->sticky;
  }
  return {};
}

bool SqliteJournal::saturated() const {
  std::lock_guard lock(impl_->mu);
  // Every command not yet answered counts, whether it waits in the queue, is being
  // committed or waits for its completion: each holds its caller's memory.
  return impl_->appended - impl_->finished >= impl_->options.max_queue;
}

Status SqliteJournal::health() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->sticky) {
    return *impl_->sticky;
  }
  return {};
}

JournalStats SqliteJournal::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void SqliteJournal::fail_next_commit_for_test() {
  std::lock_guard lock(impl_->mu);
  impl_->fail_next = true;
}

Result<int> migrate_file(const std::string& path, int up_to) {
  auto db = Db::open(path, true, "FULL");
  if (!db) {
    return db.error();
  }
  return migrate(db.value(), up_to);
}

Status backup_file(const std::string& from, const std::string& to) {
  auto src = Db::open(from, false, "FULL");
  if (!src) {
    return src.error();
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(to.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbHandle dst(raw);
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, rc, "cannot create " + to);
  }
  sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", src->get(), "main");
  if (b == nullptr) {
    return sqlite_error(dst.get(), sqlite3_errcode(dst.get()), "backup");
  }
  // Copy in steps so a busy writer is never blocked for long.
  do {
    rc = sqlite3_backup_step(b, 256);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      sqlite3_sleep(5);
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return sqlite_error(dst.get(), rc, "backup to " + to);
  }
  return {};
}

}  // namespace baton::storage
