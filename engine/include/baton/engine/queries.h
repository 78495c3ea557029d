#pragma once

// The read side: what clients look up in the recorded history (lists, closed cases,
// timelines, tokens, stored answers). The engine holds what is in play; history lives in
// the database, so storage/ implements this port and api/ reads through it. Every method
// is thread-safe and sees the last committed state.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/model.h"
#include "baton/routing/rules.h"

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

// A caller who is not staff, as the history tells what it may read of a customer and an
// account: an agent the cases it holds or was ever offered (a case it accepted or was
// transferred is an offer too), and every case of the accounts it is the sales owner of;
// a gateway the cases it posted.
struct Viewer {
  std::optional<AgentId> agent;
  std::string created_by;  // a gateway's actor (cases.created_by), when there is no agent
};

// Durations measured for a report, in seconds; the figures come from these.
struct Samples {
  std::vector<double> seconds;
  void add(Duration d) { seconds.push_back(static_cast<double>(d.count()) / 1000.0); }
  // The q-quantile (0..1, nearest rank) or nullopt without samples. Sorts.
  std::optional<double> quantile(double q);
  std::optional<double> mean() const;
};

// The share of cases answered within their queue's answer_within, of those answered or
// abandoned: the service level as reports, live stats and what-ifs count it; nullopt when
// none were either.
std::optional<double> service_level_of(std::uint64_t answered_in_target, std::uint64_t answered,
                                       std::uint64_t abandoned);

// Figures of one queue over a report's window. Event-based, as contact centers report an
// interval: a case counts where its event falls (created, answered, resolved in the window).
struct QueueFigures {
  std::string queue;
  std::uint64_t created = 0;
  std::uint64_t answered = 0;            // first acceptance of a case
  std::uint64_t answered_in_target = 0;  // within the queue's answer_within
  std::uint64_t abandoned = 0;
  std::uint64_t resolved = 0;
  Samples wait;            // created → first accepted
  Samples first_response;  // created → first reply
  Samples handle;          // last accepted → resolved
  Samples resolution;      // created → resolved
  Samples csat;            // scores 1–5
};

struct AgentFigures {
  AgentId agent;
  std::uint64_t answered = 0;  // offers accepted
  std::uint64_t resolved = 0;
  std::uint64_t handoffs_sent = 0;
  std::uint64_t handoffs_received = 0;
  Samples first_response;
  Samples handle;
  Samples csat;
};

struct HandoffFigures {
  HandoffReason reason = HandoffReason::Other;
  std::uint64_t created = 0;
  std::uint64_t accepted = 0;
  std::uint64_t completed = 0;
  std::uint64_t won = 0, lost = 0, resolved = 0, no_action = 0;
  Samples time_to_accept;
};

struct ReportRequest {
  TimePoint from{};
  TimePoint to{};
  // Each queue's service level (the rules' sla). A queue no longer in the rules is judged
  // by the rule language's default policy.
  std::map<std::string, routing::SlaPolicy> sla;

  // A report of [from, to) judged by the service levels of `rules`: the one way the API
  // and `baton report` ask for one.
  static ReportRequest under(const routing::RuleSet& rules, TimePoint from, TimePoint to) {
    ReportRequest r;
    r.from = from;
    r.to = to;
    for (const auto& [name, q] : rules.queues()) {
      r.sla[name] = q.sla;
    }
    return r;
  }
};

struct Summary {
  TimePoint from{};
  TimePoint to{};
  std::vector<QueueFigures> queues;      // by name
  std::vector<AgentFigures> agents;      // by id
  std::vector<HandoffFigures> handoffs;  // by reason
};

// What sales sees of one account: open work, recent satisfaction, open handoffs.
struct AccountFigures {
  AccountId account;
  std::uint64_t open_cases = 0;
  std::map<std::string, std::uint64_t> open_by_status;
  TimePoint csat_since{};
  Samples csat;
  std::vector<Handoff> open_handoffs;  // newest first
};

// A delivery as the webhooks' list shows it.
struct DeliveryRecord {
  DeliveryId id;
  WebhookId webhook;
  std::string event_type;
  EventId event;
  CaseId case_id;
  std::string status;  // pending, delivered, dead
  int attempts = 0;
  TimePoint next_attempt_at{};
  std::optional<int> last_status;  // the receiver's HTTP status, if it answered
  std::string last_error;
  std::optional<TimePoint> delivered_at;
  TimePoint created_at{};
};

// A delivery whose time has come, with what its body is made of.
struct DueDelivery {
  DeliveryRecord record;
  Webhook webhook;
  std::string payload;  // "" before the first attempt
  std::optional<CaseEvent> event;
  std::optional<Case> kase;  // none for a customer's own events
};

// The outcome of one attempt.
struct DeliveryAttempt {
  DeliveryId id;
  int attempts = 0;     // including this one
  std::string payload;  // the body sent (kept for every retry)
  std::string status;   // pending (retry at next_attempt_at), delivered, dead
  std::optional<int> http_status;
  std::string error;
  TimePoint next_attempt_at{};
  TimePoint at{};
};

// The webhook outbox as the sender works it (its own connection; rows are added by the
// journal with the events they carry).
class WebhookOutbox {
 public:
  virtual ~WebhookOutbox() = default;
  // Pending deliveries due by `now`, oldest first, none of the webhooks in `skip` (those
  // with a delivery in flight: one at a time per webhook).
  virtual Result<std::vector<DueDelivery>> due(TimePoint now, std::size_t limit,
                                               const std::vector<WebhookId>& skip) = 0;
  virtual Status record(const DeliveryAttempt& attempt) = 0;
  // Deletes up to `limit` delivered and dead deliveries whose last attempt was before
  // `before`; returns how many.
  virtual Result<std::size_t> prune(TimePoint before, std::size_t limit) = 0;
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
  // Every event of every case of the customer, newest first (by time, then id), with the
  // customer's own events (merges). With a viewer: only the events of the cases it may see.
  virtual Result<Page<CaseEvent>> customer_timeline(CustomerId id, const std::string& cursor,
                                                    std::size_t limit,
                                                    const Viewer* viewer = nullptr) = 0;
  // Whether the viewer may see some case of the customer, or of a customer of the account.
  virtual Result<bool> sees_customer(CustomerId id, const Viewer& viewer) = 0;
  virtual Result<bool> sees_account(AccountId id, const Viewer& viewer) = 0;
  // Per queue, per agent and per handoff reason over [from, to).
  virtual Result<Summary> summary(const ReportRequest& r) = 0;
  // csat over [csat_since, now]; open cases and handoffs as of now.
  virtual Result<AccountFigures> account_figures(AccountId id, TimePoint csat_since) = 0;
  // A webhook's deliveries, newest first.
  virtual Result<Page<DeliveryRecord>> deliveries(WebhookId id, const std::string& cursor,
                                                  std::size_t limit) = 0;
  virtual Result<std::optional<TokenRecord>> find_token(const std::string& hash) = 0;
  // The agent's password hash, if one was set.
  virtual Result<std::optional<std::string>> find_password(const AgentId& agent) = 0;
  // The set-up audit, newest first.
  virtual Result<Page<AuditEntry>> audit(const std::string& cursor, std::size_t limit) = 0;
  // Stored answers created at or after `since`, for the idempotency cache at start.
  virtual Result<std::vector<StoredResponse>> responses_since(TimePoint since) = 0;
};

}  // namespace baton::engine
