#pragma once

// The read side: what clients look up in the recorded history (lists, closed cases,
// timelines, tokens, stored answers). The engine holds what is in play; history lives in
// the database, so storage/ implements this port and api/ reads through it. Every method
// is thread-safe and sees the last committed state.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baton/engine/model.h"
#include "baton/routing/result.h"

namespace baton::engine {

// One page of a list. `next_cursor` is opaque and absent on the last page; a cursor this
// server did not make is InvalidArgument on field "cursor".
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

// Filters of GET /v1/cases; empty means any. Newest first.
struct CaseFilter {
  std::optional<CaseStatus> status;
  std::string queue;
  std::optional<AgentId> assignee;
  std::optional<CustomerId> customer;
  std::string created_by;
};

struct OfferFilter {
  std::optional<AgentId> agent;
  std::optional<OfferStatus> status;
  std::optional<CaseId> case_id;
};

struct HandoffFilter {
  std::optional<HandoffStatus> status;
  std::optional<HandoffReason> reason;
  std::optional<AgentId> from_agent;
  std::optional<AgentId> to_agent;
};

// An API token as stored: only the SHA-256 of the secret is kept.
struct TokenRecord {
  std::string hash;  // hex SHA-256 of the token
  std::string workspace;
  std::string role;  // gateway, agent, supervisor, admin
  std::optional<AgentId> agent;
  TimePoint created_at{};
  std::optional<TimePoint> revoked_at;
};

class ReadModel {
 public:
  virtual ~ReadModel() = default;
  virtual Result<std::optional<Case>> find_case(CaseId id) = 0;
  virtual Result<Page<Case>> cases(const CaseFilter& f, const std::string& cursor,
                                   std::size_t limit) = 0;
  virtual Result<Page<Offer>> offers(const OfferFilter& f, const std::string& cursor,
                                     std::size_t limit) = 0;
  virtual Result<std::optional<Offer>> find_offer(OfferId id) = 0;
  virtual Result<Page<Handoff>> handoffs(const HandoffFilter& f, const std::string& cursor,
                                         std::size_t limit) = 0;
  virtual Result<std::optional<Handoff>> find_handoff(HandoffId id) = 0;
  // Oldest first.
  virtual Result<Page<CaseEvent>> case_events(CaseId id, const std::string& cursor,
                                              std::size_t limit) = 0;
  // The case's last `limit` message_in/message_out events, newest first.
  virtual Result<std::vector<CaseEvent>> recent_messages(CaseId id, std::size_t limit) = 0;
  // Every event of every case of the customer, newest first (by time, then id).
  virtual Result<Page<CaseEvent>> customer_timeline(CustomerId id, const std::string& cursor,
                                                    std::size_t limit) = 0;
  virtual Result<std::optional<TokenRecord>> find_token(const std::string& hash) = 0;
  // Stored answers created at or after `since`, for the idempotency cache at start.
  virtual Result<std::vector<StoredResponse>> responses_since(TimePoint since) = 0;
};

}  // namespace baton::engine
