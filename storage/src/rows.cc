#include "rows.h"

#include "json_text.h"

namespace baton::storage {

using namespace engine;

namespace {

template <class T>
Result<T> need(std::optional<T> v, const std::string& what) {
  if (!v) {
    return damaged(what);
  }
  return *v;
}

std::string prefixed(std::string_view alias, std::initializer_list<const char*> cols) {
  std::string out;
  for (const char* c : cols) {
    if (!out.empty()) {
      out += ", ";
    }
    out += alias;
    out += c;
  }
  return out;
}

std::uint64_t u64(const Stmt& s, int col) { return static_cast<std::uint64_t>(s.int64(col)); }

}  // namespace

std::optional<TimePoint> opt_time_at(const Stmt& s, int col) {
  if (s.is_null(col)) {
    return std::nullopt;
  }
  return time_at(s.int64(col));
}

std::optional<AgentId> opt_agent(const Stmt& s, int col) {
  if (s.is_null(col)) {
    return std::nullopt;
  }
  return AgentId(s.text(col));
}

Error damaged(const std::string& what) {
  return Error(ErrorCode::Internal, "stored data is damaged: " + what);
}

const char* const kAgentColumns =
    "id, name, role, teams, skills, languages, capacity, presence, presence_since, "
    "missed_offers, created_at, updated_at";

Result<Agent> read_agent(const Stmt& s) {
  Agent a;
  a.id = AgentId(s.text(0));
  a.name = s.text(1);
  BATON_ASSIGN(a.role, need(parse_role(s.text(2)), "agent role"));
  BATON_ASSIGN(a.teams, parse_json_strings(s.text(3)));
  BATON_ASSIGN(a.skills, parse_json_levels(s.text(4)));
  BATON_ASSIGN(a.languages, parse_json_strings(s.text(5)));
  BATON_ASSIGN(a.capacity, parse_json_counts(s.text(6)));
  BATON_ASSIGN(a.presence, need(parse_presence(s.text(7)), "agent presence"));
  a.presence_since = time_at(s.int64(8));
  a.missed_offers = static_cast<int>(s.int64(9));
  a.created_at = time_at(s.int64(10));
  a.updated_at = time_at(s.int64(11));
  return a;
}

const char* const kAccountColumns = "id, name, tier, segment, sales_owner, created_at";

Result<Account> read_account(const Stmt& s) {
  Account a;
  a.id = AccountId(u64(s, 0));
  a.name = s.text(1);
  a.tier = s.text(2);
  a.segment = s.text(3);
  a.sales_owner = opt_agent(s, 4);
  a.created_at = time_at(s.int64(5));
  return a;
}

const char* const kCustomerColumns = "id, name, account_id, last_agent, created_at, merged_into";

Result<Customer> read_customer(const Stmt& s) {
  Customer c;
  c.id = CustomerId(u64(s, 0));
  c.name = s.text(1);
  c.account = opt_id<AccountId>(s, 2);
  c.last_agent = opt_agent(s, 3);
  c.created_at = time_at(s.int64(4));
  c.merged_into = opt_id<CustomerId>(s, 5);
  return c;
}

std::string case_columns(std::string_view alias) {
  return prefixed(alias, {"id",
                          "channel",
                          "type",
                          "subject",
                          "status",
                          "priority",
                          "queue",
                          "customer_id",
                          "account_id",
                          "assignee",
                          "offer_id",
                          "required_skills",
                          "tags",
                          "suggested_handoffs",
                          "attributes",
                          "external_ref",
                          "from_handoff",
                          "first_response_due",
                          "resolution_due",
                          "first_response_at",
                          "resolved_at",
                          "created_at",
                          "updated_at",
                          "queued_at",
                          "arrival",
                          "created_by",
                          "sla_paused_at",
                          "sla_breached",
                          "escalation_step",
                          "first_accepted_at",
                          "accepted_at",
                          "first_released_at",
                          "posted_priority",
                          "posted_skills"});
}

Result<Case> read_case(const Stmt& s) {
  Case c;
  c.id = CaseId(u64(s, 0));
  BATON_ASSIGN(c.channel, need(parse_channel(s.text(1)), "case channel"));
  c.type = s.text(2);
  c.subject = s.text(3);
  BATON_ASSIGN(c.status, need(parse_case_status(s.text(4)), "case status"));
  c.priority = static_cast<int>(s.int64(5));
  c.queue = s.text(6);
  c.customer = CustomerId(u64(s, 7));
  c.account = opt_id<AccountId>(s, 8);
  c.assignee = opt_agent(s, 9);
  c.offer = opt_id<OfferId>(s, 10);
  BATON_ASSIGN(c.required_skills, parse_json_levels(s.text(11)));
  BATON_ASSIGN(c.tags, parse_json_strings(s.text(12)));
  BATON_ASSIGN(c.suggested_handoffs, parse_json_strings(s.text(13)));
  BATON_ASSIGN(c.attributes, parse_json_attributes(s.text(14)));
  c.external_ref = s.text(15);
  c.from_handoff = opt_id<HandoffId>(s, 16);
  c.first_response_due = opt_time_at(s, 17);
  c.resolution_due = opt_time_at(s, 18);
  c.first_response_at = opt_time_at(s, 19);
  c.resolved_at = opt_time_at(s, 20);
  c.created_at = time_at(s.int64(21));
  c.updated_at = time_at(s.int64(22));
  c.queued_at = time_at(s.int64(23));
  c.arrival = u64(s, 24);
  c.created_by = s.text(25);
  c.sla_paused_at = opt_time_at(s, 26);
  c.sla_breached = static_cast<std::uint8_t>(s.int64(27));
  c.escalation_step = static_cast<int>(s.int64(28));
  c.first_accepted_at = opt_time_at(s, 29);
  c.accepted_at = opt_time_at(s, 30);
  c.first_released_at = opt_time_at(s, 31);
  c.posted_priority = static_cast<int>(s.int64(32));
  if (!s.is_null(33)) {  // NULL on cases from before schema 12
    BATON_ASSIGN(c.posted_skills, parse_json_levels(s.text(33)));
  }
  return c;
}

std::string offer_columns(std::string_view alias) {
  return prefixed(alias, {"id", "case_id", "agent_id", "status", "created_at", "expires_at",
                          "decided_at", "reason"});
}

Result<Offer> read_offer(const Stmt& s) {
  Offer o;
  o.id = OfferId(u64(s, 0));
  o.case_id = CaseId(u64(s, 1));
  o.agent = AgentId(s.text(2));
  BATON_ASSIGN(o.status, need(parse_offer_status(s.text(3)), "offer status"));
  o.created_at = time_at(s.int64(4));
  o.expires_at = time_at(s.int64(5));
  o.decided_at = opt_time_at(s, 6);
  o.reason = s.text(7);
  return o;
}

std::string handoff_columns(std::string_view alias) {
  return prefixed(
      alias, {"id", "from_case", "to_case", "from_agent", "target", "to_agent", "reason", "note",
              "status", "outcome", "created_at", "accepted_at", "completed_at"});
}

Result<Handoff> read_handoff(const Stmt& s) {
  Handoff h;
  h.id = HandoffId(u64(s, 0));
  h.from_case = CaseId(u64(s, 1));
  h.to_case = CaseId(u64(s, 2));
  h.from_agent = opt_agent(s, 3);
  h.to = s.text(4);
  h.to_agent = opt_agent(s, 5);
  BATON_ASSIGN(h.reason, need(parse_handoff_reason(s.text(6)), "handoff reason"));
  h.note = s.text(7);
  BATON_ASSIGN(h.status, need(parse_handoff_status(s.text(8)), "handoff status"));
  auto outcome = s.text(9);
  if (outcome == "none") {
    h.outcome = HandoffOutcome::None;
  } else {
    BATON_ASSIGN(h.outcome, need(parse_handoff_outcome(outcome), "handoff outcome"));
  }
  h.created_at = time_at(s.int64(10));
  h.accepted_at = opt_time_at(s, 11);
  h.completed_at = opt_time_at(s, 12);
  return h;
}

const char* const kEventColumns = "id, case_id, customer_id, type, at, actor, data";

Result<CaseEvent> read_event(const Stmt& s) {
  CaseEvent e;
  e.id = EventId(static_cast<std::uint64_t>(s.int64(0)));
  e.case_id = CaseId(static_cast<std::uint64_t>(s.int64(1)));
  e.customer = CustomerId(static_cast<std::uint64_t>(s.int64(2)));
  auto type = s.text(3);
  e.at = time_at(s.int64(4));
  e.actor = s.text(5);
  auto data = parse_json_values(s.text(6));
  if (!data) {
    return data.error();
  }
  e.data = std::move(data).value();
  for (int t = 0; t <= static_cast<int>(EventType::CustomerMerged); ++t) {
    if (to_string(static_cast<EventType>(t)) == type) {
      e.type = static_cast<EventType>(t);
      return e;
    }
  }
  return damaged("event of unknown type '" + type + "'");
}

}  // namespace baton::storage
