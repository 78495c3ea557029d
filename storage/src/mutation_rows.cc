#include "mutation_rows.h"

#include "json_text.h"
#include "schema.h"

namespace baton::storage {

namespace {

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }
std::optional<std::int64_t> ms(const std::optional<TimePoint>& t) {
  if (!t) {
    return std::nullopt;
  }
  return ms(*t);
}
std::optional<std::string_view> text(const std::optional<engine::AgentId>& a) {
  if (!a) {
    return std::nullopt;
  }
  return a->value();
}
template <class Id>
std::optional<std::int64_t> num(const std::optional<Id>& id) {
  if (!id) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(id->value());
}

// "INSERT OR REPLACE INTO t (k1, k2, c…) VALUES (…)" becomes an upsert that updates the
// row in place: REPLACE deletes and re-inserts every index entry of a row that changed.
// The key columns are the leading ones named in `keys`.
std::string upsert(std::string_view sql) {
  constexpr std::string_view kReplace = "INSERT OR REPLACE INTO ";
  if (!sql.starts_with(kReplace)) {
    return std::string(sql);
  }
  auto open = sql.find('(');
  auto close = sql.find(')');
  std::string table(sql.substr(kReplace.size(), open - kReplace.size() - 1));
  std::vector<std::string> cols;
  std::string cur;
  for (char c : sql.substr(open + 1, close - open - 1)) {
    if (c == ',') {
      cols.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  cols.push_back(cur);
  // Primary keys: (workspace_id, id), identities (workspace_id, channel, address).
  std::size_t nkeys = table == "identities" ? 3 : 2;
  std::string out = "INSERT INTO " + std::string(sql.substr(kReplace.size()));
  out += " ON CONFLICT DO UPDATE SET ";
  for (std::size_t i = nkeys; i < cols.size(); ++i) {
    out += (i == nkeys ? "" : ", ") + cols[i] + " = excluded." + cols[i];
  }
  return out;
}

}  // namespace

MutationText text_of(const engine::Mutation& m) {
  MutationText t;
  t.ends.reserve(m.cases.size() * MutationText::kCaseColumns + m.events.size());
  t.all.reserve(16 * m.cases.size() + 128 * m.events.size());  // one allocation, mostly
  for (const engine::Case& c : m.cases) {
    append_json_levels(t.all, c.required_skills);
    t.close();
    append_json_strings(t.all, c.tags);
    t.close();
    append_json_strings(t.all, c.suggested_handoffs);
    t.close();
    append_json_attributes(t.all, c.attributes);
    t.close();
    append_json_levels(t.all, c.posted_skills);
    t.close();
  }
  for (const engine::CaseEvent& e : m.events) {
    append_json_values(t.all, e.data);
    t.close();
  }
  return t;
}

Result<Writer> Writer::prepare(sqlite3* db) {
  Writer w;
  struct Item {
    Stmt* s;
    const char* sql;
  };
  Item items[] = {
      {&w.agent,
       "INSERT OR REPLACE INTO agents (workspace_id, id, name, role, teams, skills, languages, "
       "capacity, presence, presence_since, missed_offers, created_at, updated_at) "
       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&w.agent_change,
       "INSERT INTO agent_changes (workspace_id, agent_id, at, presence, capacity, teams, "
       "skills) VALUES (?,?,?,?,?,?,?)"},
      {&w.account,
       "INSERT OR REPLACE INTO accounts (workspace_id, id, name, tier, segment, sales_owner, "
       "created_at) VALUES (?,?,?,?,?,?,?)"},
      {&w.customer,
       "INSERT OR REPLACE INTO customers (workspace_id, id, name, account_id, last_agent, "
       "created_at, merged_into) VALUES (?,?,?,?,?,?,?)"},
      {&w.identity,
       "INSERT OR REPLACE INTO identities (workspace_id, channel, address, customer_id) "
       "VALUES (?,?,?,?)"},
      {&w.offer,
       "INSERT OR REPLACE INTO offers (workspace_id, id, case_id, agent_id, status, "
       "created_at, expires_at, decided_at, reason) VALUES (?,?,?,?,?,?,?,?,?)"},
      {&w.handoff,
       "INSERT OR REPLACE INTO handoffs (workspace_id, id, from_case, to_case, from_agent, "
       "target, to_agent, reason, note, status, outcome, created_at, accepted_at, "
       "completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&w.webhook,
       "INSERT OR REPLACE INTO webhooks (workspace_id, id, url, events, secret, active, "
       "created_at) VALUES (?,?,?,?,?,?,?)"},
      {&w.delivery,
       "INSERT INTO webhook_outbox (workspace_id, id, subscription_id, event_type, "
       "payload, status, attempts, next_attempt_at, created_at, event_id, case_id) "
       "VALUES (?,?,?,?,'','pending',0,?,?,?,?)"},
      {&w.rules,
       "INSERT INTO routing_rules (workspace_id, version, source, created_at) "
       "VALUES (?,?,?,?)"},
      {&w.response,
       "INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, response, "
       "created_at) VALUES (?,?,?,?,?,?)"},
      {&w.forget, "DELETE FROM idempotency_keys WHERE +workspace_id = ? AND created_at < ?"},
      {&w.token,
       "INSERT INTO tokens (hash, workspace_id, role, agent_id, created_at, revoked_at, "
       "expires_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (hash) DO UPDATE SET revoked_at = "
       "excluded.revoked_at"},
      {&w.password,
       "INSERT OR REPLACE INTO agent_passwords (workspace_id, agent_id, hash, updated_at) "
       "VALUES (?,?,?,?)"},
      {&w.audit,
       "INSERT INTO audit (workspace_id, at, actor, action, target, data) VALUES (?,?,?,?,?,?)"},
  };
  // New cases go in many to a statement; a case already written is updated in place, one
  // statement a row (an upsert of many rows would need a statement journal: see Chunked).
  constexpr std::string_view kCases =
      "INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
      "customer_id, account_id, assignee, offer_id, required_skills, tags, "
      "suggested_handoffs, attributes, external_ref, from_handoff, first_response_due, "
      "resolution_due, first_response_at, resolved_at, created_at, updated_at, queued_at, "
      "arrival, created_by, sla_paused_at, sla_breached, escalation_step, first_accepted_at, "
      "accepted_at, first_released_at, posted_priority, posted_skills) VALUES ";
  auto cs = Chunked::prepare(db, kCaseRowColumns, "INSERT OR FAIL " + std::string(kCases));
  if (!cs) {
    return cs.error();
  }
  w.new_cases = std::move(cs).value();
  auto ks = Stmt::prepare(
      db, upsert("INSERT OR REPLACE " + std::string(kCases) + Chunked::row(kCaseRowColumns)));
  if (!ks) {
    return ks.error();
  }
  w.kase = std::move(ks).value();
  auto es = Chunked::prepare(db, kEventRowColumns,
                             "INSERT OR FAIL INTO case_events (workspace_id, id, case_id, "
                             "customer_id, type, at, actor, data) VALUES ");
  if (!es) {
    return es.error();
  }
  w.events = std::move(es).value();
  // A merge moves the merged customer's whole timeline (its cases' events and its own)
  // along its index, case_events_customer; never a scan of all events. Keyed by the
  // events' customer, not the cases', whose rows this commit may have moved already.
  auto me = Stmt::prepare(db, "UPDATE case_events SET customer_id = ?1 WHERE customer_id = ?2");
  if (!me) {
    return me.error();
  }
  w.merge_events = std::move(me).value();
  auto mc = Stmt::prepare(db, "UPDATE cases SET customer_id = ?1 WHERE customer_id = ?2");
  if (!mc) {
    return mc.error();
  }
  w.merge_cases = std::move(mc).value();
  for (auto& it : items) {
    auto s = Stmt::prepare(db, upsert(it.sql));
    if (!s) {
      return s.error();
    }
    *it.s = std::move(s).value();
  }
  return w;
}

Status Writer::write(const std::string& ws, const engine::Mutation& m) {
  using namespace engine;
  for (const Agent& a : m.agents) {
    BATON_RETURN_IF_ERROR(agent.bind(1, ws)
                              .bind(2, a.id.value())
                              .bind(3, a.name)
                              .bind(4, std::string(to_string(a.role)))
                              .bind(5, json_strings(a.teams))
                              .bind(6, json_levels(a.skills))
                              .bind(7, json_strings(a.languages))
                              .bind(8, json_counts(a.capacity))
                              .bind(9, std::string(to_string(a.presence)))
                              .bind(10, ms(a.presence_since))
                              .bind(11, a.missed_offers)
                              .bind(12, ms(a.created_at))
                              .bind(13, ms(a.updated_at))
                              .run());
  }
  for (const AgentChange& a : m.agent_changes) {
    BATON_RETURN_IF_ERROR(agent_change.bind(1, ws)
                              .bind(2, a.agent.value())
                              .bind(3, ms(a.at))
                              .bind(4, std::string(to_string(a.presence)))
                              .bind(5, json_counts(a.capacity))
                              .bind(6, json_strings(a.teams))
                              .bind(7, json_levels(a.skills))
                              .run());
  }
  for (const Account& a : m.accounts) {
    BATON_RETURN_IF_ERROR(account.bind(1, ws)
                              .bind(2, static_cast<std::int64_t>(a.id.value()))
                              .bind(3, a.name)
                              .bind(4, a.tier)
                              .bind(5, a.segment)
                              .bind(6, text(a.sales_owner))
                              .bind(7, ms(a.created_at))
                              .run());
  }
  // The mutation and its text are held until its batch is done, so text is bound in place.
  for (const Customer& c : m.customers) {
    BATON_RETURN_IF_ERROR(customer.bind_ref(1, ws)
                              .bind(2, static_cast<std::int64_t>(c.id.value()))
                              .bind_ref(3, c.name)
                              .bind(4, num(c.account))
                              .bind_ref(5, text(c.last_agent))
                              .bind(6, ms(c.created_at))
                              .bind(7, num(c.merged_into))
                              .run());
    for (const Identity& i : c.identities) {
      BATON_RETURN_IF_ERROR(identity.bind_ref(1, ws)
                                .bind_ref(2, to_string(i.channel))
                                .bind_ref(3, i.address)
                                .bind(4, static_cast<std::int64_t>(c.id.value()))
                                .run());
    }
  }
  for (const Offer& o : m.offers) {
    BATON_RETURN_IF_ERROR(offer.bind(1, ws)
                              .bind(2, static_cast<std::int64_t>(o.id.value()))
                              .bind(3, static_cast<std::int64_t>(o.case_id.value()))
                              .bind(4, o.agent.value())
                              .bind(5, std::string(to_string(o.status)))
                              .bind(6, ms(o.created_at))
                              .bind(7, ms(o.expires_at))
                              .bind(8, ms(o.decided_at))
                              .bind(9, o.reason)
                              .run());
  }
  for (const Handoff& h : m.handoffs) {
    BATON_RETURN_IF_ERROR(handoff.bind(1, ws)
                              .bind(2, static_cast<std::int64_t>(h.id.value()))
                              .bind(3, static_cast<std::int64_t>(h.from_case.value()))
                              .bind(4, static_cast<std::int64_t>(h.to_case.value()))
                              .bind(5, text(h.from_agent))
                              .bind(6, h.to)
                              .bind(7, text(h.to_agent))
                              .bind(8, std::string(to_string(h.reason)))
                              .bind(9, h.note)
                              .bind(10, std::string(to_string(h.status)))
                              .bind(11, std::string(to_string(h.outcome)))
                              .bind(12, ms(h.created_at))
                              .bind(13, ms(h.accepted_at))
                              .bind(14, ms(h.completed_at))
                              .run());
  }
  for (const Webhook& h : m.webhooks) {
    BATON_RETURN_IF_ERROR(webhook.bind(1, ws)
                              .bind(2, static_cast<std::int64_t>(h.id.value()))
                              .bind(3, h.url)
                              .bind(4, json_strings(h.events))
                              .bind(5, h.secret)
                              .bind(6, h.active ? 1 : 0)
                              .bind(7, ms(h.created_at))
                              .run());
  }
  for (const Delivery& d : m.deliveries) {
    BATON_RETURN_IF_ERROR(delivery.bind(1, ws)
                              .bind(2, static_cast<std::int64_t>(d.id.value()))
                              .bind(3, static_cast<std::int64_t>(d.webhook.value()))
                              .bind(4, d.event_type)
                              .bind(5, ms(d.created_at))
                              .bind(6, ms(d.created_at))
                              .bind(7, static_cast<std::int64_t>(d.event.value()))
                              .bind(8, static_cast<std::int64_t>(d.case_id.value()))
                              .run());
  }
  for (const TokenRecord& t : m.tokens) {
    BATON_RETURN_IF_ERROR(token.bind(1, t.hash)
                              .bind(2, ws)
                              .bind(3, t.role)
                              .bind(4, text(t.agent))
                              .bind(5, ms(t.created_at))
                              .bind(6, ms(t.revoked_at))
                              .bind(7, ms(t.expires_at))
                              .run());
  }
  for (const PasswordRecord& p : m.passwords) {
    BATON_RETURN_IF_ERROR(
        password.bind(1, ws).bind(2, p.agent.value()).bind(3, p.hash).bind(4, ms(p.at)).run());
  }
  for (const AuditEntry& a : m.audit) {
    BATON_RETURN_IF_ERROR(audit.bind(1, ws)
                              .bind(2, ms(a.at))
                              .bind(3, a.actor)
                              .bind(4, a.action)
                              .bind(5, a.target)
                              .bind(6, a.data)
                              .run());
  }
  if (m.rules) {
    BATON_RETURN_IF_ERROR(rules.bind(1, ws)
                              .bind(2, m.rules->version)
                              .bind(3, m.rules->source)
                              .bind(4, ms(m.rules->created_at))
                              .run());
  }
  if (m.response) {
    BATON_RETURN_IF_ERROR(response.bind(1, ws)
                              .bind(2, m.response->key)
                              .bind(3, m.response->request_hash)
                              .bind(4, m.response->status)
                              .bind(5, m.response->body)
                              .bind(6, ms(m.response->created_at))
                              .run());
    if (m.response->forget_before > TimePoint{}) {
      BATON_RETURN_IF_ERROR(forget.bind(1, ws).bind(2, ms(m.response->forget_before)).run());
    }
  }
  return {};
}

Result<std::uint64_t> Writer::write_cases(const std::string& ws, const std::vector<CaseRow>& all,
                                          std::uint64_t newest) {
  std::vector<const CaseRow*> fresh;
  std::vector<const CaseRow*> changed;
  for (const CaseRow& r : all) {
    if (r.kase->id.value() > newest) {
      newest = r.kase->id.value();
      fresh.push_back(&r);
    } else {
      changed.push_back(&r);
    }
  }
  BATON_RETURN_IF_ERROR(new_cases.write(
      fresh.size(), [&](Stmt& s, int base, std::size_t i) { bind_case(s, base, ws, *fresh[i]); }));
  for (const CaseRow* r : changed) {
    bind_case(kase, 0, ws, *r);
    BATON_RETURN_IF_ERROR(kase.run());
  }
  return newest;
}

Status Writer::write_events(const std::string& ws, const std::vector<EventRow>& all) {
  return events.write(all.size(),
                      [&](Stmt& s, int base, std::size_t i) { bind_event(s, base, ws, all[i]); });
}

Status Writer::write_merges(const engine::Mutation& m) {
  for (const auto& mg : m.merges) {
    auto into = static_cast<std::int64_t>(mg.into.value());
    auto from = static_cast<std::int64_t>(mg.from.value());
    BATON_RETURN_IF_ERROR(merge_events.bind(1, into).bind(2, from).run());
    BATON_RETURN_IF_ERROR(merge_cases.bind(1, into).bind(2, from).run());
  }
  return {};
}

void Writer::bind_case(Stmt& s, int b, const std::string& ws, const CaseRow& row) {
  const engine::Case& c = *row.kase;
  const MutationText& json = *row.text;
  std::size_t k = row.index;
  s.bind_ref(b + 1, ws)
      .bind(b + 2, static_cast<std::int64_t>(c.id.value()))
      .bind_ref(b + 3, to_string(c.channel))
      .bind_ref(b + 4, c.type)
      .bind_ref(b + 5, c.subject)
      .bind_ref(b + 6, to_string(c.status))
      .bind(b + 7, c.priority)
      .bind_ref(b + 8, c.queue)
      .bind(b + 9, static_cast<std::int64_t>(c.customer.value()))
      .bind(b + 10, num(c.account))
      .bind_ref(b + 11, text(c.assignee))
      .bind(b + 12, num(c.offer))
      .bind_ref(b + 13, json.case_column(k, 0))
      .bind_ref(b + 14, json.case_column(k, 1))
      .bind_ref(b + 15, json.case_column(k, 2))
      .bind_ref(b + 16, json.case_column(k, 3))
      .bind_ref(b + 17, c.external_ref)
      .bind(b + 18, num(c.from_handoff))
      .bind(b + 19, ms(c.first_response_due))
      .bind(b + 20, ms(c.resolution_due))
      .bind(b + 21, ms(c.first_response_at))
      .bind(b + 22, ms(c.resolved_at))
      .bind(b + 23, ms(c.created_at))
      .bind(b + 24, ms(c.updated_at))
      .bind(b + 25, ms(c.queued_at))
      .bind(b + 26, static_cast<std::int64_t>(c.arrival))
      .bind_ref(b + 27, c.created_by)
      .bind(b + 28, ms(c.sla_paused_at))
      .bind(b + 29, static_cast<std::int64_t>(c.sla_breached))
      .bind(b + 30, c.escalation_step)
      .bind(b + 31, ms(c.first_accepted_at))
      .bind(b + 32, ms(c.accepted_at))
      .bind(b + 33, ms(c.first_released_at))
      .bind(b + 34, c.posted_priority)
      .bind_ref(b + 35, json.case_column(k, 4));
}

void Writer::bind_event(Stmt& s, int base, const std::string& ws, const EventRow& row) {
  const engine::CaseEvent& e = *row.event;
  s.bind_ref(base + 1, ws)
      .bind(base + 2, static_cast<std::int64_t>(e.id.value()))
      .bind(base + 3, static_cast<std::int64_t>(e.case_id.value()))
      .bind(base + 4, static_cast<std::int64_t>(e.customer.value()))
      .bind_ref(base + 5, to_string(e.type))
      .bind(base + 6, ms(e.at))
      .bind_ref(base + 7, e.actor)
      .bind_ref(base + 8, row.data);
}

}  // namespace baton::storage
