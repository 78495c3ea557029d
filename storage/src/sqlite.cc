#include "sqlite.h"

#include "wal_writes.h"

namespace baton::storage {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ErrorCode code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? ErrorCode::Unavailable
                   : rc == SQLITE_CONSTRAINT                  ? ErrorCode::Conflict
                                                              : ErrorCode::Internal;
  return Error(code, std::move(msg));
}

Result<Db> Db::open(const std::string& path, bool create, std::string_view synchronous,
                    int busy_timeout_ms, bool read_only) {
  install_wal_writes();  // and the page cache before it
  sqlite3* raw = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY
                        : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0));
  flags |= SQLITE_OPEN_NOMUTEX;  // each connection is used by one thread at a time
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, rc, "cannot open " + path);
  }
  sqlite3_extended_result_codes(raw, 1);
  Db d(std::move(db));
  sqlite3_busy_timeout(d.get(), busy_timeout_ms);
  if (!read_only) {
    BATON_RETURN_IF_ERROR(d.exec("PRAGMA journal_mode=WAL"));
  }
  BATON_RETURN_IF_ERROR(d.exec("PRAGMA foreign_keys=ON"));
  BATON_RETURN_IF_ERROR(d.exec("PRAGMA synchronous=" + std::string(synchronous)));
  // 64 MiB of page cache: the hot index pages of a busy workspace stay in memory.
  BATON_RETURN_IF_ERROR(d.exec("PRAGMA cache_size=-65536"));
  return d;
}

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Error(rc == SQLITE_BUSY ? ErrorCode::Unavailable : ErrorCode::Internal,
                 "sql failed: " + msg + " [" + s.substr(0, 80) + "]");
  }
  return {};
}

Result<std::int64_t> Db::query_int(std::string_view sql) {
  auto st = Stmt::prepare(db_.get(), sql);
  if (!st) {
    return st.error();
  }
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  if (!row.value()) {
    return Error(ErrorCode::NotFound, "no row: " + std::string(sql));
  }
  std::int64_t v = st->int64(0);
  st->reset();
  return v;
}

Result<Stmt> Stmt::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_error(db, rc, "prepare failed for [" + std::string(sql.substr(0, 80)) + "]");
  }
  return Stmt(db, s);
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(s_.get(), i, v);
  bind_rc_ = bind_rc_ == SQLITE_OK ? rc : bind_rc_;
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  int rc = sqlite3_bind_double(s_.get(), i, v);
  bind_rc_ = bind_rc_ == SQLITE_OK ? rc : bind_rc_;
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  bind_rc_ = bind_rc_ == SQLITE_OK ? rc : bind_rc_;
  return *this;
}

Stmt& Stmt::bind_ref(int i, std::string_view v) {
  int rc = sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  bind_rc_ = bind_rc_ == SQLITE_OK ? rc : bind_rc_;
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  int rc = sqlite3_bind_null(s_.get(), i);
  bind_rc_ = bind_rc_ == SQLITE_OK ? rc : bind_rc_;
  return *this;
}

void Stmt::reset() {
  sqlite3_reset(s_.get());
  sqlite3_clear_bindings(s_.get());
  bind_rc_ = SQLITE_OK;
}

Status Stmt::run() {
  auto r = step();
  if (!r) {
    return r.error();
  }
  if (r.value()) {
    reset();
  }
  return {};
}

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) {
    int rc = bind_rc_;
    reset();
    return sqlite_error(db_, rc, "bind failed");
  }
  int rc = sqlite3_step(s_.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  Error e = sqlite_error(db_, rc, "step failed");
  reset();
  return e;
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(s_.get(), col);
  if (p == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col)));
}

Result<Transaction> Transaction::begin(sqlite3* db) {
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_error(db, rc, "BEGIN IMMEDIATE");
  }
  return Transaction(db);
}

Transaction::~Transaction() {
  if (open_) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::commit() {
  int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_error(db_, rc, "COMMIT");
  }
  open_ = false;
  return {};
}

}  // namespace baton::storage
