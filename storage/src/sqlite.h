#pragma once

// RAII over the SQLite C API. Only storage/src sees sqlite3.h. Every return code that is
// not success becomes an Error carrying sqlite3_errmsg.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "baton/base/result.h"

namespace baton::storage {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

Error sqlite_error(sqlite3* db, int rc, std::string_view what);

class Db {
 public:
  // Opens (creating when asked) with WAL, foreign keys, busy_timeout and the given
  // synchronous mode ("FULL" or "NORMAL").
  static Result<Db> open(const std::string& path, bool create, std::string_view synchronous,
                         int busy_timeout_ms = 5000, bool read_only = false);
  sqlite3* get() const { return db_.get(); }
  Status exec(std::string_view sql);
  Result<std::int64_t> query_int(std::string_view sql);

 private:
  explicit Db(DbHandle db) : db_(std::move(db)) {}
  DbHandle db_;
};

// A prepared statement, reset (and its bindings cleared) after each use.
class Stmt {
 public:
  Stmt() = default;
  static Result<Stmt> prepare(sqlite3* db, std::string_view sql);

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i);
  // Text that stays alive and unchanged until the statement has run: SQLite reads it in
  // place instead of copying it (the journal's rows, from a mutation it holds).
  Stmt& bind_ref(int i, std::string_view v);
  Stmt& bind_ref(int i, const std::string& v) { return bind_ref(i, std::string_view(v)); }
  Stmt& bind_ref(int i, const std::optional<std::string_view>& v) {
    return v ? bind_ref(i, *v) : bind_null(i);
  }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // Runs a statement that returns no rows. Resets afterwards.
  Status run();
  // Steps once: true when a row is ready, false when done (then resets).
  Result<bool> step();
  void reset();

  std::int64_t int64(int col) const { return sqlite3_column_int64(s_.get(), col); }
  double real(int col) const { return sqlite3_column_double(s_.get(), col); }
  std::string text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }

 private:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, FinalizeStmt> s_;
  int bind_rc_ = SQLITE_OK;
};

// Steps `s` to its last row, handing each row to `row` (returning Status). A row's error
// stops the walk, resets the statement and is returned.
template <class F>
Status each_row(Stmt& s, F&& row) {
  for (;;) {
    auto more = s.step();
    if (!more) {
      return more.error();
    }
    if (!more.value()) {
      return {};
    }
    if (Status st = row(s); !st) {
      s.reset();
      return st;
    }
  }
}

// BEGIN IMMEDIATE … COMMIT; rolls back in its destructor unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db);
  Transaction(Transaction&& o) noexcept : db_(o.db_), open_(o.open_) { o.open_ = false; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db), open_(true) {}
  sqlite3* db_;
  bool open_;
};

}  // namespace baton::storage
