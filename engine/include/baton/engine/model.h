#pragma once

// The domain model (DESIGN.md §4): agents, customers, accounts, cases, offers, handoffs
// and the append-only case events. Plain values; the Engine owns and changes them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/base/types.h"
#include "baton/engine/ids.h"

namespace baton::engine {

enum class Role { Agent, Sales, Supervisor };
enum class Presence { Available, Away, Offline, WrapUp };
enum class CaseStatus { Queued, Offered, Assigned, Pending, Resolved, Closed, Abandoned };
enum class OfferStatus { Pending, Accepted, Declined, TimedOut, Revoked };
enum class HandoffStatus { Open, Accepted, Completed };
enum class HandoffOutcome { None, Won, Lost, Resolved, NoAction };
enum class HandoffReason { Upsell, Renewal, Technical, Billing, Onboarding, Escalation, Other };

enum class EventType {
  Created,
  MessageIn,
  MessageOut,
  Routed,
  Offered,
  Accepted,
  Declined,
  OfferTimedOut,
  OfferRevoked,
  Assigned,
  Transferred,
  HandedOff,
  PriorityChanged,
  Escalated,
  SlaBreached,
  StatusChanged,
  Note,
  Csat,
  HandoffAccepted,
  HandoffCompleted,
  CustomerMerged,  // on the customer's timeline (case id 0): another customer joined it
};

std::string_view to_string(Role r);
std::string_view to_string(Presence p);
std::string_view to_string(CaseStatus s);
std::string_view to_string(OfferStatus s);
std::string_view to_string(HandoffStatus s);
std::string_view to_string(HandoffOutcome o);
std::string_view to_string(HandoffReason r);
std::string_view to_string(EventType t);
std::optional<Role> parse_role(std::string_view s);
std::optional<Presence> parse_presence(std::string_view s);
std::optional<CaseStatus> parse_case_status(std::string_view s);
std::optional<HandoffOutcome> parse_handoff_outcome(std::string_view s);
std::optional<OfferStatus> parse_offer_status(std::string_view s);
std::optional<HandoffStatus> parse_handoff_status(std::string_view s);
std::optional<HandoffReason> parse_handoff_reason(std::string_view s);
// Open: the case still needs work (queued, offered, assigned, pending).
bool is_open(CaseStatus s);
// Sales reasons create a lead; the way back creates onboarding or support work.
bool is_sales_reason(HandoffReason r);

struct Workspace {
  WorkspaceId id;
  std::string name;
};

struct Agent {
  AgentId id;
  std::string name;
  Role role = Role::Agent;
  std::vector<std::string> teams;
  SkillLevels skills;
  std::vector<std::string> languages;
  ChannelCounts capacity{};
  ChannelCounts load{};  // offered + assigned cases per channel
  Presence presence = Presence::Offline;
  TimePoint presence_since{};
  int missed_offers = 0;  // consecutive offers that lapsed
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct Identity {
  Channel channel = Channel::Email;
  std::string address;
};

struct Customer {
  CustomerId id;
  std::string name;
  std::optional<AccountId> account;
  std::vector<Identity> identities;
  std::optional<AgentId> last_agent;  // who last helped them (sticky routing)
  TimePoint created_at{};
  // Set when this customer was merged into another: its cases and identities are there.
  std::optional<CustomerId> merged_into;
};

// One customer merged into another: every case (open or in history) moves with it.
struct CustomerMerge {
  CustomerId from;
  CustomerId into;
  TimePoint at{};
};

struct Account {
  AccountId id;
  std::string name;
  std::string tier;
  std::string segment;
  std::optional<AgentId> sales_owner;
  TimePoint created_at{};
};

struct Case {
  CaseId id;
  Channel channel = Channel::Chat;
  std::string type = "support";
  std::string subject;
  CaseStatus status = CaseStatus::Queued;
  int priority = kDefaultPriority;
  std::string queue;
  CustomerId customer;
  std::optional<AccountId> account;
  std::optional<AgentId> assignee;  // the agent working it (assigned or pending)
  std::optional<OfferId> offer;     // the pending offer, while offered
  SkillLevels required_skills;
  std::vector<std::string> tags;
  std::vector<std::string> suggested_handoffs;
  Attributes attributes;
  std::string external_ref;
  std::string created_by;                 // the actor that posted it (a gateway sees its own)
  std::optional<HandoffId> from_handoff;  // the handoff that created this case
  std::optional<TimePoint> first_response_due;
  std::optional<TimePoint> resolution_due;
  std::optional<TimePoint> first_response_at;
  std::optional<TimePoint> resolved_at;
  // The first and the latest acceptance by an agent (reports: wait and handle time).
  std::optional<TimePoint> first_accepted_at;
  std::optional<TimePoint> accepted_at;
  // When its first agent let it go (resolved, pending, transferred, closed): with
  // first_accepted_at, the handle time a replay gives it.
  std::optional<TimePoint> first_released_at;
  // Priority and skills as the gateway posted them, before the rules added theirs: what a
  // replay posts again under other rules (0: none given).
  int posted_priority = 0;
  SkillLevels posted_skills;
  // The resolution clock stops while the case is pending on the customer; on resuming,
  // resolution_due moves out by the business time spent pending.
  std::optional<TimePoint> sla_paused_at;
  std::uint8_t sla_breached = 0;  // kFirstResponseBreached | kResolutionBreached
  int escalation_step = 0;        // escalation steps of its queue applied while it waited
  TimePoint created_at{};
  TimePoint updated_at{};
  TimePoint queued_at{};      // last time it entered the queue
  std::uint64_t arrival = 0;  // routing order among equal priorities
};

constexpr std::uint8_t kFirstResponseBreached = 1;
constexpr std::uint8_t kResolutionBreached = 2;

struct Offer {
  OfferId id;
  CaseId case_id;
  AgentId agent;
  OfferStatus status = OfferStatus::Pending;
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<TimePoint> decided_at;
  std::string reason;
};

struct Handoff {
  HandoffId id;
  CaseId from_case;
  CaseId to_case;
  std::optional<AgentId> from_agent;
  std::string to;  // as sent: "sales_owner", "agt_…", "team:NAME"
  std::optional<AgentId> to_agent;
  HandoffReason reason = HandoffReason::Other;
  std::string note;
  HandoffStatus status = HandoffStatus::Open;
  HandoffOutcome outcome = HandoffOutcome::None;
  TimePoint created_at{};
  std::optional<TimePoint> accepted_at;
  std::optional<TimePoint> completed_at;
};

// An agent's routing state from `at` on: one line of its history (presence intervals,
// capacity, teams and skills as they were), which a replay puts its agents through.
// Wrap-up, which the engine itself starts and ends, is not recorded.
struct AgentChange {
  AgentId agent;
  TimePoint at{};
  Presence presence = Presence::Offline;
  ChannelCounts capacity{};
  std::vector<std::string> teams;
  SkillLevels skills;
};

// A webhook subscription (admin): the events it wants, where, and the signing secret.
struct Webhook {
  WebhookId id;
  std::string url;                  // http://host[:port]/path
  std::vector<std::string> events;  // "case.created", "case.status_changed", …; "*" = all
  std::string secret;               // HMAC-SHA256 key of the Baton-Signature header
  bool active = true;
  TimePoint created_at{};
};

// One event owed to one webhook: a row of the outbox, written in the same transaction as
// the event. The body is made at the first attempt and kept, so every retry of a
// delivery is the same bytes under the same id.
struct Delivery {
  DeliveryId id;
  WebhookId webhook;
  std::string event_type;  // the webhook event name ("case.status_changed")
  EventId event;
  CaseId case_id;
  TimePoint created_at{};
};

// A version of the routing rules; every change is kept.
struct RuleVersion {
  int version = 0;
  std::string source;  // the TOML text
  TimePoint created_at{};
};

// The first answer to a request that carried an Idempotency-Key, kept in the same
// transaction as the command it answered, so a retry after a crash gets the same answer
// and never applies the command twice.
struct StoredResponse {
  std::string key;           // scoped to the caller: "<token id>:<Idempotency-Key>"
  std::string request_hash;  // of method, path and body; a different request is refused
  int status = 0;
  std::string body;
  TimePoint created_at{};
  // Answers created before this may be forgotten in the same transaction (their keys
  // have outlived the time they are kept); the epoch means none.
  TimePoint forget_before{};
};

// One line of a case's timeline. `data` holds the event's details as flat key/values
// (e.g. {"from": "queued", "to": "offered"}).
struct CaseEvent {
  EventId id;
  CaseId case_id;
  CustomerId customer;  // the case's customer: one timeline across channels and teams
  EventType type = EventType::Created;
  TimePoint at{};
  std::string actor;  // "system", an agent id, "gateway", "supervisor"
  std::vector<std::pair<std::string, Value>> data;

  const Value* find(std::string_view key) const;
};

// The webhook event name of a case event, or "" when it is not one. A handoff's events
// are named once, on its source case (the linked case carries copies).
std::string webhook_event_name(const CaseEvent& e, bool source_of_handoff);
// Every name a subscription may ask for.
const std::vector<std::string>& webhook_event_names();

// An API token's record: its hash only, never the token.
struct TokenRecord {
  std::string hash;  // hex SHA-256 of the token
  std::string workspace;
  std::string role;  // gateway, agent, supervisor, admin
  std::optional<AgentId> agent;
  TimePoint created_at{};
  std::optional<TimePoint> revoked_at;
  std::optional<TimePoint> expires_at;  // a session's end (POST /v1/sessions); none for API tokens
};

// One line of the set-up audit (GET /v1/audit): who did what to the workspace.
struct AuditEntry {
  std::uint64_t id = 0;  // given when stored
  TimePoint at{};
  std::string actor;   // as case events record it
  std::string action;  // "session.opened", "webhook.created", …
  std::string target;  // what it was done to ("agt_ana", "whk_3"), or ""
  std::string data;    // a JSON object (made by the API)
};

// An agent's password as its Argon2id hash (the password itself is never kept).
struct PasswordRecord {
  AgentId agent;
  std::string hash;
  TimePoint at{};
};

}  // namespace baton::engine
