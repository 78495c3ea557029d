#pragma once

// Row encoding for the journal: a mutation's JSON columns (made by the thread that appends
// it) and the writer connection's prepared statements that put each kind of row in its
// table. The journal (journal.cc) decides when; this decides how a row is written.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/ports.h"

#include "sqlite.h"

namespace baton::storage {

// The JSON columns of one mutation (each case's five, then each event's data), one after
// another in one buffer. They are written by the thread that appends the mutation (the
// engine's, which has room to spare) so that the writer, the one serial stage, only binds.
struct MutationText {
  static constexpr std::size_t kCaseColumns = 5;
  std::string all;
  std::vector<std::size_t> ends;  // where each text ends in `all`
  void close() { ends.push_back(all.size()); }
  std::string_view get(std::size_t i) const {
    std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(all).substr(begin, ends[i] - begin);
  }
  std::string_view case_column(std::size_t case_index, std::size_t column) const {
    return get(case_index * kCaseColumns + column);
  }
  std::string_view event_data(const engine::Mutation& m, std::size_t event_index) const {
    return get(m.cases.size() * kCaseColumns + event_index);
  }
};

// An event and its data's JSON, ready to bind.
struct EventRow {
  const engine::CaseEvent* event;
  std::string_view data;
};

// A case's row, bound from the mutation that holds it and that mutation's text.
struct CaseRow {
  const engine::Case* kase;
  const MutationText* text;
  std::size_t index;  // in the mutation's cases
};

constexpr int kCaseRowColumns = 35;
constexpr int kEventRowColumns = 8;

// One INSERT of many rows, prepared for 32, 16, 8, 4, 2 and 1 rows: n rows go in with at
// most one statement of each size after the 32s. Most of what a row costs alone is its
// statement's: running it, opening a cursor on the table and each index, and seeking each
// from its root, where the rows of one statement follow each other on open cursors (a case
// row alone took ~16k instructions more than one of 16, ~47k against ~31k).
struct Chunked {
  static constexpr std::array<int, 6> kSizes{32, 16, 8, 4, 2, 1};
  std::array<Stmt, kSizes.size()> by_size;
  int columns = 0;

  static std::string row(int columns) {
    std::string r = "(?";
    for (int i = 1; i < columns; ++i) {
      r += ",?";
    }
    return r + ")";
  }

  // `head` is "INSERT OR FAIL INTO t (columns) VALUES ". OR FAIL, because SQLite gives a
  // statement that writes many rows and may abort a statement journal: before the first
  // change to a page the statement keeps a copy of it, to undo the statement alone, and
  // spills those copies to a temporary file past 64 KiB. Here a failed statement fails its
  // whole transaction, so nothing needs undoing statement by statement.
  static Result<Chunked> prepare(sqlite3* db, int columns, const std::string& head) {
    Chunked c;
    c.columns = columns;
    std::string one = row(columns);
    for (std::size_t k = 0; k < kSizes.size(); ++k) {
      std::string sql(head);
      for (int r = 0; r < kSizes[k]; ++r) {
        sql += r == 0 ? one : "," + one;
      }
      auto st = Stmt::prepare(db, sql);
      if (!st) {
        return st.error();
      }
      c.by_size[k] = std::move(st).value();
    }
    return c;
  }

  // bind(stmt, first parameter - 1, row index) binds one row's columns.
  template <class Bind>
  Status write(std::size_t n, const Bind& bind) {
    std::size_t i = 0;
    for (std::size_t k = 0; k < kSizes.size(); ++k) {
      auto size = static_cast<std::size_t>(kSizes[k]);
      for (; n - i >= size; i += size) {
        for (std::size_t r = 0; r < size; ++r) {
          bind(by_size[k], static_cast<int>(r) * columns, i + r);
        }
        BATON_RETURN_IF_ERROR(by_size[k].run());
      }
    }
    return {};
  }
};

// The JSON columns of a mutation's cases and events, made on the appending thread.
MutationText text_of(const engine::Mutation& m);

// The prepared statements of the writer connection.
struct Writer {
  Stmt agent, agent_change, account, customer, identity, offer, handoff, rules, response, forget;
  Stmt merge_events, merge_cases, webhook, delivery, token, password, audit;
  // A batch's cases and events go in with as few statements as possible.
  Stmt kase;
  Chunked new_cases, events;

  static Result<Writer> prepare(sqlite3* db);

  Status write(const std::string& ws, const engine::Mutation& m);

  // A batch's case rows, in the order their mutations were appended. Those with ids past
  // `newest` (the largest the table holds) are new cases: they go in first, many to a
  // statement; each other row then updates its case in place, in order, so that a case
  // created and changed in one batch ends as its last mutation has it. Returns the
  // largest id the table then holds.
  Result<std::uint64_t> write_cases(const std::string& ws, const std::vector<CaseRow>& all,
                                    std::uint64_t newest);
  Status write_events(const std::string& ws, const std::vector<EventRow>& all);

  Status write_merges(const engine::Mutation& m);

  static void bind_case(Stmt& s, int b, const std::string& ws, const CaseRow& row);

  static void bind_event(Stmt& s, int base, const std::string& ws, const EventRow& row);
};

}  // namespace baton::storage
