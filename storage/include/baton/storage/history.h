#pragma once

// The engine's ReadModel on a small pool of read-only SQLite connections: lists, closed
// cases, timelines, tokens and stored answers. In WAL mode a reader sees the last
// committed state and never blocks the journal's writer, nor is blocked by it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/model.h"
#include "baton/engine/queries.h"

namespace baton::storage {

class History final : public engine::ReadModel {
 public:
  // REQUIRES: the database exists at the latest schema (the journal made it).
  static Result<std::unique_ptr<History>> open(const std::string& path, std::string workspace,
                                               std::size_t connections = 4);
  ~History() override;

  Result<std::optional<engine::Case>> find_case(engine::CaseId id) override;
  Result<engine::Page<engine::Case>> cases(const engine::CaseFilter& f, const std::string& cursor,
                                           std::size_t limit) override;
  Result<engine::Page<engine::Offer>> offers(const engine::OfferFilter& f,
                                             const std::string& cursor, std::size_t limit) override;
  Result<std::optional<engine::Offer>> find_offer(engine::OfferId id) override;
  Result<engine::Page<engine::Handoff>> handoffs(const engine::HandoffFilter& f,
                                                 const std::string& cursor,
                                                 std::size_t limit) override;
  Result<std::optional<engine::Handoff>> find_handoff(engine::HandoffId id) override;
  Result<engine::Page<engine::CaseEvent>> case_events(engine::CaseId id, const std::string& cursor,
                                                      std::size_t limit) override;
  Result<std::vector<engine::CaseEvent>> recent_messages(engine::CaseId id,
                                                         std::size_t limit) override;
  Result<engine::Page<engine::CaseEvent>> customer_timeline(
      engine::CustomerId id, const std::string& cursor, std::size_t limit,
      const engine::Viewer* viewer = nullptr) override;
  Result<bool> sees_customer(engine::CustomerId id, const engine::Viewer& viewer) override;
  Result<bool> sees_account(engine::AccountId id, const engine::Viewer& viewer) override;
  Result<engine::Summary> summary(const engine::ReportRequest& r) override;
  Result<engine::AccountFigures> account_figures(engine::AccountId id,
                                                 TimePoint csat_since) override;
  // The latest saved routing rules, if any were saved.
  Result<std::optional<engine::RuleVersion>> active_rules();
  Result<engine::Page<engine::DeliveryRecord>> deliveries(engine::WebhookId id,
                                                          const std::string& cursor,
                                                          std::size_t limit) override;
  Result<std::optional<engine::TokenRecord>> find_token(const std::string& hash) override;
  Result<std::optional<std::string>> find_password(const engine::AgentId& agent) override;
  Result<engine::Page<engine::AuditEntry>> audit(const std::string& cursor,
                                                 std::size_t limit) override;
  Result<std::vector<engine::StoredResponse>> responses_since(TimePoint since) override;

 private:
  struct Impl;
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The webhook outbox on a read-write connection of its own, for the webhook sender.
class Outbox final : public engine::WebhookOutbox {
 public:
  static Result<std::unique_ptr<Outbox>> open(const std::string& path, std::string workspace);
  ~Outbox() override;
  Result<std::vector<engine::DueDelivery>> due(TimePoint now, std::size_t limit,
                                               const std::vector<engine::WebhookId>& skip) override;
  Status record(const engine::DeliveryAttempt& attempt) override;
  Result<std::size_t> prune(TimePoint before, std::size_t limit) override;

 private:
  struct Impl;
  explicit Outbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Stores a new API token's record (its hash only). Used by `baton token create`, also
// while the server runs: the server finds tokens it has not seen in the database.
Status insert_token(const std::string& path, const engine::TokenRecord& token);
// Marks the tokens of `workspace` whose hash starts with `hash_prefix` (at least 12 hex
// characters: the token id logs show) revoked at `at`; returns how many. A running
// server stops taking them within [auth] token_recheck.
Result<int> revoke_tokens(const std::string& path, const std::string& workspace,
                          const std::string& hash_prefix, TimePoint at);

}  // namespace baton::storage
