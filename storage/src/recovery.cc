#include "baton/storage/recovery.h"

#include <unordered_map>

#include "json_text.h"
#include "schema.h"
#include "sqlite.h"

namespace baton::storage {

namespace {

using namespace engine;

TimePoint tp(std::int64_t ms) { return TimePoint{Duration{ms}}; }

std::optional<TimePoint> opt_tp(const Stmt& s, int col) {
  if (s.is_null(col)) {
    return std::nullopt;
  }
  return tp(s.int64(col));
}

Error damaged(const std::string& what) {
  return Error(ErrorCode::Internal, "stored data is damaged: " + what);
}

template <class T>
Result<T> need(std::optional<T> v, const std::string& what) {
  if (!v) {
    return damaged(what);
  }
  return *v;
}

// Runs `sql` (with the workspace bound to ?1) and hands each row to `row`.
template <class F>
Status each_row(Db& db, const char* sql, const std::string& ws, F&& row) {
  auto st = Stmt::prepare(db.get(), sql);
  if (!st) {
    return st.error();
  }
  st->bind(1, ws);
  for (;;) {
    auto r = st->step();
    if (!r) {
      return r.error();
    }
    if (!r.value()) {
      return {};
    }
    BATON_RETURN_IF_ERROR(row(st.value()));
  }
}

#define BATON_ASSIGN(lhs, expr)        \
  do {                                 \
    auto baton_r_ = (expr);            \
    if (!baton_r_) {                   \
      return baton_r_.error();         \
    }                                  \
    lhs = std::move(baton_r_).value(); \
  } while (false)

}  // namespace

Result<Snapshot> load_snapshot(const std::string& path, const std::string& ws) {
  auto opened = Db::open(path, false, "FULL");
  if (!opened) {
    return opened.error();
  }
  Db& db = opened.value();
  auto version = schema_version(db);
  if (!version) {
    return version.error();
  }
  if (version.value() != latest_schema_version()) {
    return Error(ErrorCode::FailedPrecondition,
                 "database is at schema " + std::to_string(version.value()) + ", expected " +
                     std::to_string(latest_schema_version()) + "; run baton migrate");
  }
  Snapshot snap;
  BATON_RETURN_IF_ERROR(each_row(
      db,
      "SELECT id, name, role, teams, skills, languages, capacity, presence, presence_since, "
      "missed_offers, created_at, updated_at FROM agents WHERE workspace_id = ?1 ORDER BY "
      "created_at, id",
      ws, [&](Stmt& s) -> Status {
        Agent a;
        a.id = AgentId(s.text(0));
        a.name = s.text(1);
        BATON_ASSIGN(a.role, need(parse_role(s.text(2)), "agent role"));
        BATON_ASSIGN(a.teams, parse_json_strings(s.text(3)));
        BATON_ASSIGN(a.skills, parse_json_levels(s.text(4)));
        BATON_ASSIGN(a.languages, parse_json_strings(s.text(5)));
        BATON_ASSIGN(a.capacity, parse_json_counts(s.text(6)));
        BATON_ASSIGN(a.presence, need(parse_presence(s.text(7)), "agent presence"));
        a.presence_since = tp(s.int64(8));
        a.missed_offers = static_cast<int>(s.int64(9));
        a.created_at = tp(s.int64(10));
        a.updated_at = tp(s.int64(11));
        snap.agents.push_back(std::move(a));
        return {};
      }));
  BATON_RETURN_IF_ERROR(
      each_row(db,
               "SELECT id, name, tier, segment, sales_owner, created_at FROM accounts "
               "WHERE workspace_id = ?1 ORDER BY id",
               ws, [&](Stmt& s) -> Status {
                 Account a;
                 a.id = AccountId(static_cast<std::uint64_t>(s.int64(0)));
                 a.name = s.text(1);
                 a.tier = s.text(2);
                 a.segment = s.text(3);
                 if (!s.is_null(4)) {
                   a.sales_owner = AgentId(s.text(4));
                 }
                 a.created_at = tp(s.int64(5));
                 snap.max_account = std::max(snap.max_account, a.id.value());
                 snap.accounts.push_back(std::move(a));
                 return {};
               }));
  std::unordered_map<std::uint64_t, std::size_t> customer_at;
  BATON_RETURN_IF_ERROR(
      each_row(db,
               "SELECT id, name, account_id, last_agent, created_at FROM customers "
               "WHERE workspace_id = ?1 ORDER BY id",
               ws, [&](Stmt& s) -> Status {
                 Customer c;
                 c.id = CustomerId(static_cast<std::uint64_t>(s.int64(0)));
                 c.name = s.text(1);
                 if (!s.is_null(2)) {
                   c.account = AccountId(static_cast<std::uint64_t>(s.int64(2)));
                 }
                 if (!s.is_null(3)) {
                   c.last_agent = AgentId(s.text(3));
                 }
                 c.created_at = tp(s.int64(4));
                 snap.max_customer = std::max(snap.max_customer, c.id.value());
                 customer_at[c.id.value()] = snap.customers.size();
                 snap.customers.push_back(std::move(c));
                 return {};
               }));
  BATON_RETURN_IF_ERROR(
      each_row(db, "SELECT channel, address, customer_id FROM identities WHERE workspace_id = ?1",
               ws, [&](Stmt& s) -> Status {
                 Identity i;
                 BATON_ASSIGN(i.channel, need(parse_channel(s.text(0)), "identity channel"));
                 i.address = s.text(1);
                 auto it = customer_at.find(static_cast<std::uint64_t>(s.int64(2)));
                 if (it == customer_at.end()) {
                   return damaged("identity of an unknown customer");
                 }
                 snap.customers[it->second].identities.push_back(std::move(i));
                 return {};
               }));
  BATON_RETURN_IF_ERROR(each_row(
      db,
      "SELECT id, channel, type, subject, status, priority, queue, customer_id, account_id, "
      "assignee, offer_id, required_skills, tags, suggested_handoffs, attributes, external_ref, "
      "from_handoff, first_response_due, resolution_due, first_response_at, resolved_at, "
      "created_at, updated_at, queued_at, arrival FROM cases WHERE workspace_id = ?1 AND status "
      "IN ('queued', 'offered', 'assigned', 'pending', 'resolved') ORDER BY id",
      ws, [&](Stmt& s) -> Status {
        Case c;
        c.id = CaseId(static_cast<std::uint64_t>(s.int64(0)));
        BATON_ASSIGN(c.channel, need(parse_channel(s.text(1)), "case channel"));
        c.type = s.text(2);
        c.subject = s.text(3);
        BATON_ASSIGN(c.status, need(parse_case_status(s.text(4)), "case status"));
        c.priority = static_cast<int>(s.int64(5));
        c.queue = s.text(6);
        c.customer = CustomerId(static_cast<std::uint64_t>(s.int64(7)));
        if (!s.is_null(8)) {
          c.account = AccountId(static_cast<std::uint64_t>(s.int64(8)));
        }
        if (!s.is_null(9)) {
          c.assignee = AgentId(s.text(9));
        }
        if (!s.is_null(10)) {
          c.offer = OfferId(static_cast<std::uint64_t>(s.int64(10)));
        }
        BATON_ASSIGN(c.required_skills, parse_json_levels(s.text(11)));
        BATON_ASSIGN(c.tags, parse_json_strings(s.text(12)));
        BATON_ASSIGN(c.suggested_handoffs, parse_json_strings(s.text(13)));
        BATON_ASSIGN(c.attributes, parse_json_attributes(s.text(14)));
        c.external_ref = s.text(15);
        if (!s.is_null(16)) {
          c.from_handoff = HandoffId(static_cast<std::uint64_t>(s.int64(16)));
        }
        c.first_response_due = opt_tp(s, 17);
        c.resolution_due = opt_tp(s, 18);
        c.first_response_at = opt_tp(s, 19);
        c.resolved_at = opt_tp(s, 20);
        c.created_at = tp(s.int64(21));
        c.updated_at = tp(s.int64(22));
        c.queued_at = tp(s.int64(23));
        c.arrival = static_cast<std::uint64_t>(s.int64(24));
        snap.cases.push_back(std::move(c));
        return {};
      }));
  BATON_RETURN_IF_ERROR(each_row(
      db,
      "SELECT o.id, o.case_id, o.agent_id, o.status, o.created_at, o.expires_at, o.decided_at, "
      "o.reason FROM cases c JOIN offers o ON o.workspace_id = c.workspace_id AND o.id = "
      "c.offer_id WHERE c.workspace_id = ?1 AND c.status = 'offered'",
      ws, [&](Stmt& s) -> Status {
        Offer o;
        o.id = OfferId(static_cast<std::uint64_t>(s.int64(0)));
        o.case_id = CaseId(static_cast<std::uint64_t>(s.int64(1)));
        o.agent = AgentId(s.text(2));
        BATON_ASSIGN(o.status, need(parse_offer_status(s.text(3)), "offer status"));
        o.created_at = tp(s.int64(4));
        o.expires_at = tp(s.int64(5));
        o.decided_at = opt_tp(s, 6);
        o.reason = s.text(7);
        snap.offers.push_back(std::move(o));
        return {};
      }));
  BATON_RETURN_IF_ERROR(each_row(
      db,
      "SELECT id, from_case, to_case, from_agent, target, to_agent, reason, note, status, "
      "outcome, created_at, accepted_at, completed_at FROM handoffs WHERE workspace_id = ?1 AND "
      "status IN ('open', 'accepted') ORDER BY id",
      ws, [&](Stmt& s) -> Status {
        Handoff h;
        h.id = HandoffId(static_cast<std::uint64_t>(s.int64(0)));
        h.from_case = CaseId(static_cast<std::uint64_t>(s.int64(1)));
        h.to_case = CaseId(static_cast<std::uint64_t>(s.int64(2)));
        if (!s.is_null(3)) {
          h.from_agent = AgentId(s.text(3));
        }
        h.to = s.text(4);
        if (!s.is_null(5)) {
          h.to_agent = AgentId(s.text(5));
        }
        BATON_ASSIGN(h.reason, need(parse_handoff_reason(s.text(6)), "handoff reason"));
        h.note = s.text(7);
        BATON_ASSIGN(h.status, need(parse_handoff_status(s.text(8)), "handoff status"));
        auto outcome = s.text(9);
        h.outcome = outcome == "none"
                        ? HandoffOutcome::None
                        : parse_handoff_outcome(outcome).value_or(HandoffOutcome::None);
        h.created_at = tp(s.int64(10));
        h.accepted_at = opt_tp(s, 11);
        h.completed_at = opt_tp(s, 12);
        snap.handoffs.push_back(std::move(h));
        return {};
      }));
  BATON_RETURN_IF_ERROR(
      each_row(db,
               "SELECT version, source, created_at FROM routing_rules WHERE workspace_id = ?1 "
               "ORDER BY version DESC LIMIT 1",
               ws, [&](Stmt& s) -> Status {
                 snap.rules = RuleVersion{static_cast<int>(s.int64(0)), s.text(1), tp(s.int64(2))};
                 return {};
               }));
  struct Max {
    const char* sql;
    std::uint64_t* into;
  };
  for (auto [sql, into] : {
           Max{"SELECT coalesce(max(id), 0) FROM cases WHERE workspace_id = ?1", &snap.max_case},
           Max{"SELECT coalesce(max(id), 0) FROM offers WHERE workspace_id = ?1", &snap.max_offer},
           Max{"SELECT coalesce(max(id), 0) FROM handoffs WHERE workspace_id = ?1",
               &snap.max_handoff},
           Max{"SELECT coalesce(max(id), 0) FROM case_events WHERE workspace_id = ?1",
               &snap.max_event},
           // Arrival order follows case creation, so the newest case holds the largest.
           Max{"SELECT coalesce((SELECT arrival FROM cases WHERE workspace_id = ?1 ORDER BY id "
               "DESC LIMIT 1), 0)",
               &snap.max_arrival},
       }) {
    BATON_RETURN_IF_ERROR(each_row(db, sql, ws, [&](Stmt& s) -> Status {
      *into = static_cast<std::uint64_t>(s.int64(0));
      return {};
    }));
  }
  return snap;
}

}  // namespace baton::storage
