#include "baton/storage/journal.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

#include "json_text.h"
#include "schema.h"
#include "sqlite.h"

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

// The JSON columns of one mutation (each case's four, then each event's data), one after
// another in one buffer. They are written by the thread that appends the mutation (the
// engine's, which has room to spare) so that the writer, the one serial stage, only binds.
struct MutationText {
  static constexpr std::size_t kCaseColumns = 4;
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
  }
  for (const engine::CaseEvent& e : m.events) {
    append_json_values(t.all, e.data);
    t.close();
  }
  return t;
}

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

constexpr int kCaseRowColumns = 32;
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

// The prepared statements of the writer connection.
struct Writer {
  Stmt agent, account, customer, identity, offer, handoff, rules, response, forget;
  Stmt merge_events, merge_cases, webhook, delivery;
  // A batch's cases and events go in with as few statements as possible.
  Stmt kase;
  Chunked new_cases, events;

  static Result<Writer> prepare(sqlite3* db) {
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
    };
    // New cases go in many to a statement; a case already written is updated in place, one
    // statement a row (an upsert of many rows would need a statement journal: see Chunked).
    constexpr std::string_view kCases =
        "INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
        "customer_id, account_id, assignee, offer_id, required_skills, tags, "
        "suggested_handoffs, attributes, external_ref, from_handoff, first_response_due, "
        "resolution_due, first_response_at, resolved_at, created_at, updated_at, queued_at, "
        "arrival, created_by, sla_paused_at, sla_breached, escalation_step, first_accepted_at, "
        "accepted_at) VALUES ";
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
    // A merge moves the history too: through the merged customer's cases (cases_customer,
    // then case_events_case), never a scan of all events.
    auto me = Stmt::prepare(db,
                            "UPDATE case_events SET customer_id = ?1 WHERE case_id IN "
                            "(SELECT id FROM cases WHERE customer_id = ?2)");
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

  Status write(const std::string& ws, const engine::Mutation& m) {
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

  // A batch's case rows, in the order their mutations were appended. Those with ids past
  // `newest` (the largest the table holds) are new cases: they go in first, many to a
  // statement; each other row then updates its case in place, in order, so that a case
  // created and changed in one batch ends as its last mutation has it. Returns the
  // largest id the table then holds.
  Result<std::uint64_t> write_cases(const std::string& ws, const std::vector<CaseRow>& all,
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
    BATON_RETURN_IF_ERROR(new_cases.write(fresh.size(), [&](Stmt& s, int base, std::size_t i) {
      bind_case(s, base, ws, *fresh[i]);
    }));
    for (const CaseRow* r : changed) {
      bind_case(kase, 0, ws, *r);
      BATON_RETURN_IF_ERROR(kase.run());
    }
    return newest;
  }
  Status write_events(const std::string& ws, const std::vector<EventRow>& all) {
    return events.write(all.size(),
                        [&](Stmt& s, int base, std::size_t i) { bind_event(s, base, ws, all[i]); });
  }

  Status write_merges(const engine::Mutation& m) {
    for (const auto& mg : m.merges) {
      auto into = static_cast<std::int64_t>(mg.into.value());
      auto from = static_cast<std::int64_t>(mg.from.value());
      BATON_RETURN_IF_ERROR(merge_events.bind(1, into).bind(2, from).run());
      BATON_RETURN_IF_ERROR(merge_cases.bind(1, into).bind(2, from).run());
    }
    return {};
  }

  static void bind_case(Stmt& s, int b, const std::string& ws, const CaseRow& row) {
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
        .bind(b + 32, ms(c.accepted_at));
  }

  static void bind_event(Stmt& s, int base, const std::string& ws, const EventRow& row) {
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
};

// The checkpoint thread copies the WAL into the database every checkpoint_pages / 32 pages.
constexpr int kCheckpointSteps = 32;

struct Pending {
  std::shared_ptr<const engine::Mutation> mutation;
  std::function<void(Status)> done;
  MutationText text;
};

}  // namespace

struct SqliteJournal::Impl {
  JournalOptions options;
  Db db;
  Writer writer;
  std::uint64_t newest_case = 0;  // the largest case id committed; the writer's own

  mutable std::mutex mu;
  std::condition_variable wake;       // the writer: work arrived or stop
  std::condition_variable committed;  // flush(): a batch finished
  std::deque<Pending> queue;          // GUARDED_BY(mu)
  std::uint64_t appended = 0;         // GUARDED_BY(mu)
  std::uint64_t finished = 0;         // GUARDED_BY(mu)
  bool stopping = false;              // GUARDED_BY(mu)
  std::optional<Error> sticky;        // GUARDED_BY(mu): the first failed commit
  bool fail_next = false;             // GUARDED_BY(mu)
  JournalStats stats;                 // GUARDED_BY(mu)
  int wal_pages = 0;                  // GUARDED_BY(mu): the WAL's size after the last commit
  int wal_pages_at_pass = 0;          // GUARDED_BY(mu): its size when a pass was last asked for
  std::thread thread;

  // Committed (or failed) batches wait here for the completer, which runs their callbacks
  // in commit order and frees them while the writer already writes the next batch: the
  // writer is the one serial stage, so it does nothing but write.
  struct Finished {
    std::vector<Pending> batch;
    std::optional<Error> failed;
  };
  std::deque<Finished> done_queue;    // GUARDED_BY(mu)
  std::condition_variable done_wake;  // the completer: a batch finished, or the writer stopped
  bool writer_stopped = false;        // GUARDED_BY(mu)
  std::thread completer;

  // Checkpoints run on a connection and thread of their own, so the writer never stalls
  // while the WAL is copied into the database (tens of ms for a large WAL).
  std::optional<Db> checkpoint_db;
  std::thread checkpointer;
  std::condition_variable checkpoint_wake;  // the WAL passed checkpoint_pages, or stop
  bool checkpoint_due = false;              // GUARDED_BY(mu)

  Impl(JournalOptions o, Db d, Writer w)
      : options(std::move(o)), db(std::move(d)), writer(std::move(w)) {}

  // SQLite's WAL hook: on the writer's thread after each commit, with the WAL's size.
  static int on_wal(void* self, sqlite3*, const char*, int pages) {
    auto* impl = static_cast<Impl*>(self);
    int limit = impl->options.checkpoint_pages;
    std::lock_guard lock(impl->mu);
    // Pages this commit appended (the WAL starts again from 0 after a checkpoint).
    int added = pages >= impl->wal_pages ? pages - impl->wal_pages : pages;
    impl->wal_pages = pages;
    impl->stats.wal_frames += static_cast<std::uint64_t>(added);
    // Small passes all along, each once the WAL has grown by a step since the last, so that
    // when it reaches the mark little is left to copy and no pass is a burst. From the mark
    // on the writer copies the rest (finish_checkpoint_pass) and this thread stays out of
    // its way.
    if (pages < impl->wal_pages_at_pass) {
      impl->wal_pages_at_pass = 0;  // the WAL started again from the top
    }
    if (pages < limit && pages - impl->wal_pages_at_pass >= std::max(1, limit / kCheckpointSteps)) {
      impl->wal_pages_at_pass = pages;
      impl->checkpoint_due = true;
      impl->checkpoint_wake.notify_one();
    }
    return SQLITE_OK;
  }

  void run_checkpoints() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        checkpoint_wake.wait(lock, [&] { return stopping || checkpoint_due; });
        if (stopping) {
          return;
        }
        checkpoint_due = false;
      }
      int log = 0, done = 0;
      int rc = sqlite3_wal_checkpoint_v2(checkpoint_db->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                         &log, &done);
      std::lock_guard lock(mu);
      ++stats.checkpoints;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        ++stats.checkpoint_failures;  // the next one tries again; the WAL keeps the data
      }
    }
  }

  // Past the mark, before each batch. The checkpoint thread copies the WAL as it grows, but
  // the WAL starts again from the top only if all of it is copied when the writer begins a
  // transaction, and the writer begins the next one as soon as a commit ends: that thread,
  // always a commit or more behind, would seldom win (the WAL grew to twice the mark and
  // more, with a pass and two fsyncs every few commits meanwhile). So the writer copies
  // what is left itself, between its transactions: the frames since that thread's last
  // pass, about a step. If that pass is still running SQLite answers busy at once and the
  // next batch tries again; with nothing left to copy a pass does nothing (no sync).
  void finish_checkpoint_pass() {
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    std::lock_guard lock(mu);
    if (rc == SQLITE_OK) {
      ++stats.checkpoints_inline;
    } else if (rc != SQLITE_BUSY) {
      ++stats.checkpoint_failures;
    }
  }

  void run() {
    for (;;) {
      std::vector<Pending> batch;
      std::optional<Error> failed;
      bool inject = false;
      bool finish_checkpoint = false;
      {
        std::unique_lock lock(mu);
        // Stopping waits for the batches still being completed too: their callbacks may
        // append again, and what they append is committed before the journal stops. Here,
        // between batches, every command appended and not finished that is not queued is
        // being completed.
        wake.wait(lock, [&] {
          return !queue.empty() || (stopping && appended - finished == queue.size());
        });
        if (queue.empty()) {
          return;
        }
        std::size_t n = std::min(queue.size(), options.max_batch);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        failed = sticky;
        inject = fail_next;
        fail_next = false;
        finish_checkpoint = wal_pages >= options.checkpoint_pages;
      }
      if (finish_checkpoint && !failed) {
        finish_checkpoint_pass();
      }
      if (!failed) {
        failed = commit(batch, inject);
      }
      {
        std::lock_guard lock(mu);
        if (failed) {
          if (!sticky) {
            sticky = failed;
          }
          stats.failed += batch.size();
        } else {
          stats.mutations += batch.size();
          ++stats.commits;
          stats.largest_batch = std::max<std::uint64_t>(stats.largest_batch, batch.size());
        }
      }
      {
        std::lock_guard lock(mu);
        done_queue.push_back(Finished{std::move(batch), std::move(failed)});
      }
      done_wake.notify_one();
    }
  }

  void run_completions() {
    for (;;) {
      Finished f;
      {
        std::unique_lock lock(mu);
        done_wake.wait(lock, [&] { return writer_stopped || !done_queue.empty(); });
        if (done_queue.empty()) {
          return;  // the writer stopped and everything it committed is complete
        }
        f = std::move(done_queue.front());
        done_queue.pop_front();
      }
      // Outside the lock: callbacks may append again.
      for (auto& p : f.batch) {
        if (f.failed) {
          p.done(*f.failed);
        } else {
          p.done({});
        }
      }
      // Let go of the batch (callbacks and what they hold) before saying it is finished:
      // after flush() the journal holds nothing of its callers'.
      std::size_t n = f.batch.size();
      f.batch.clear();
      f.batch.shrink_to_fit();
      {
        std::lock_guard lock(mu);
        finished += n;
      }
      committed.notify_all();
      wake.notify_one();  // a stopping writer waits for this
    }
  }

  std::optional<Error> commit(const std::vector<Pending>& batch, bool inject) {
    using Ms = std::chrono::duration<double, std::milli>;
    auto t0 = std::chrono::steady_clock::now();
    auto tx = Transaction::begin(db.get());
    if (!tx) {
      return tx.error();
    }
    std::vector<CaseRow> cases;
    std::vector<EventRow> events;
    for (const auto& p : batch) {
      if (auto st = writer.write(options.workspace, *p.mutation); !st) {
        return st.error();  // the transaction rolls back
      }
      for (std::size_t i = 0; i < p.mutation->cases.size(); ++i) {
        cases.push_back(CaseRow{&p.mutation->cases[i], &p.text, i});
      }
      for (std::size_t i = 0; i < p.mutation->events.size(); ++i) {
        events.push_back(EventRow{&p.mutation->events[i], p.text.event_data(*p.mutation, i)});
      }
    }
    // Nothing written above reads a case row; the merges below do.
    auto newest = writer.write_cases(options.workspace, cases, newest_case);
    if (!newest) {
      return newest.error();
    }
    if (auto st = writer.write_events(options.workspace, events); !st) {
      return st.error();
    }
    for (const auto& p : batch) {
      if (auto st = writer.write_merges(*p.mutation); !st) {
        return st.error();
      }
    }
    if (inject) {
      return Error(ErrorCode::Unavailable, "COMMIT: disk I/O error (injected)");
    }
    auto t1 = std::chrono::steady_clock::now();
    if (auto st = tx->commit(); !st) {
      return st.error();
    }
    newest_case = newest.value();
    auto t2 = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    stats.write_ms += Ms(t1 - t0).count();
    stats.commit_ms += Ms(t2 - t1).count();
    return std::nullopt;
  }
};

SqliteJournal::SqliteJournal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SqliteJournal>> SqliteJournal::open(const JournalOptions& options) {
  if (options.synchronous != "FULL" && options.synchronous != "NORMAL") {
    return Error(ErrorCode::InvalidArgument, "synchronous must be FULL or NORMAL",
                 {FieldError{"storage.synchronous", "must be FULL or NORMAL"}});
  }
  auto db = Db::open(options.path, true, options.synchronous, options.busy_timeout_ms);
  if (!db) {
    return db.error();
  }
  auto v = migrate(db.value());
  if (!v) {
    return v.error();
  }
  // The WAL is copied back into the database once it holds `checkpoint_pages` pages (a page
  // rewritten by many commits in between is copied once), by the checkpoint thread.
  BATON_RETURN_IF_ERROR(db->exec("PRAGMA wal_autocheckpoint=0"));
  auto checkpoint_db = Db::open(options.path, false, options.synchronous, options.busy_timeout_ms);
  if (!checkpoint_db) {
    return checkpoint_db.error();
  }
  {
    auto ins = Stmt::prepare(db->get(),
                             "INSERT OR IGNORE INTO workspaces (id, name, created_at) "
                             "VALUES (?, ?, strftime('%s','now') * 1000)");
    if (!ins) {
      return ins.error();
    }
    BATON_RETURN_IF_ERROR(ins->bind(1, options.workspace).bind(2, options.workspace).run());
  }
  auto w = Writer::prepare(db->get());
  if (!w) {
    return w.error();
  }
  auto newest = db->query_int("SELECT coalesce(max(id), 0) FROM cases");
  if (!newest) {
    return newest.error();
  }
  auto impl = std::make_unique<Impl>(options, std::move(db).value(), std::move(w).value());
  Impl* raw = impl.get();
  raw->newest_case = static_cast<std::uint64_t>(newest.value());
  raw->checkpoint_db = std::move(checkpoint_db).value();
  sqlite3_wal_hook(raw->db.get(), &Impl::on_wal, raw);
  // Named for `top -H` and profilers.
  impl->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-journal");
    raw->run();
  });
  impl->completer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-complete");
    raw->run_completions();
  });
  impl->checkpointer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "baton-wal-ckpt");
    raw->run_checkpoints();
  });
  return std::unique_ptr<SqliteJournal>(new SqliteJournal(std::move(impl)));
}

SqliteJournal::~SqliteJournal() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->checkpoint_wake.notify_all();
  impl_->thread.join();
  {
    std::lock_guard lock(impl_->mu);
    impl_->writer_stopped = true;
  }
  impl_->done_wake.notify_all();
  impl_->completer.join();
  impl_->checkpointer.join();
}

void SqliteJournal::append(std::shared_ptr<const engine::Mutation> m,
                           std::function<void(Status)> done) {
  MutationText text = text_of(*m);  // here, on the caller's thread: see MutationText
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back(Pending{std::move(m), std::move(done), std::move(text)});
    ++impl_->appended;
  }
  impl_->wake.notify_one();
}

Status SqliteJournal::flush() {
  std::unique_lock lock(impl_->mu);
  std::uint64_t target = impl_->appended;
  impl_->committed.wait(lock, [&] { return impl_->finished >= target; });
  if (impl_->sticky) {
    return *impl_->sticky;
  }
  return {};
}

bool SqliteJournal::saturated() const {
  std::lock_guard lock(impl_->mu);
  // Every command not yet answered counts, whether it waits in the queue, is being
  // committed or waits for its completion: each holds its caller's memory.
  return impl_->appended - impl_->finished >= impl_->options.max_queue;
}

Status SqliteJournal::health() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->sticky) {
    return *impl_->sticky;
  }
  return {};
}

JournalStats SqliteJournal::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void SqliteJournal::fail_next_commit_for_test() {
  std::lock_guard lock(impl_->mu);
  impl_->fail_next = true;
}

Result<int> migrate_file(const std::string& path, int up_to) {
  auto db = Db::open(path, true, "FULL");
  if (!db) {
    return db.error();
  }
  return migrate(db.value(), up_to);
}

Status backup_file(const std::string& from, const std::string& to) {
  auto src = Db::open(from, false, "FULL");
  if (!src) {
    return src.error();
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(to.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbHandle dst(raw);
  if (rc != SQLITE_OK) {
    return sqlite_error(raw, rc, "cannot create " + to);
  }
  sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", src->get(), "main");
  if (b == nullptr) {
    return sqlite_error(dst.get(), sqlite3_errcode(dst.get()), "backup");
  }
  // Copy in steps so a busy writer is never blocked for long.
  do {
    rc = sqlite3_backup_step(b, 256);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      sqlite3_sleep(5);
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return sqlite_error(dst.get(), rc, "backup to " + to);
  }
  return {};
}

}  // namespace baton::storage
