#pragma once

// Row codecs shared by recovery and the read pool: each kind's column list (in the order
// its reader expects) and a reader that turns the current row of a statement into the
// domain value, refusing damaged data instead of guessing.

#include <cstdint>
#include <optional>
#include <string>

#include "baton/base/result.h"
#include "baton/engine/model.h"

#include "sqlite.h"

namespace baton::storage {

inline TimePoint time_at(std::int64_t ms) { return TimePoint{Duration{ms}}; }
std::optional<TimePoint> opt_time_at(const Stmt& s, int col);
std::optional<engine::AgentId> opt_agent(const Stmt& s, int col);
// A nullable integer id column as the id type `IdT`.
template <class IdT>
std::optional<IdT> opt_id(const Stmt& s, int col) {
  if (s.is_null(col)) {
    return std::nullopt;
  }
  return IdT(static_cast<std::uint64_t>(s.int64(col)));
}
Error damaged(const std::string& what);

// Columns of `agents`, `accounts` and `customers` (without identities) for their readers.
extern const char* const kAgentColumns;
Result<engine::Agent> read_agent(const Stmt& s);
extern const char* const kAccountColumns;
Result<engine::Account> read_account(const Stmt& s);
extern const char* const kCustomerColumns;
Result<engine::Customer> read_customer(const Stmt& s);

// Columns of `cases` for read_case, prefixed with `alias` ("" or "c.").
std::string case_columns(std::string_view alias = "");
Result<engine::Case> read_case(const Stmt& s);

std::string offer_columns(std::string_view alias = "");
Result<engine::Offer> read_offer(const Stmt& s);

std::string handoff_columns(std::string_view alias = "");
Result<engine::Handoff> read_handoff(const Stmt& s);

// Columns of `case_events` for read_event.
extern const char* const kEventColumns;
Result<engine::CaseEvent> read_event(const Stmt& s);

}  // namespace baton::storage
