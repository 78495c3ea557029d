#include "baton/storage/history.h"

#include <charconv>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "json_text.h"
#include "rows.h"
#include "schema.h"
#include "sqlite.h"

namespace baton::storage {

using namespace engine;

namespace {

// A read connection with its statements, prepared on first use and kept: the queries
// are a small fixed family (one per combination of list filters).
struct Conn {
  Db db;
  std::unordered_map<std::string, Stmt> stmts;

  Result<Stmt*> prepared(const std::string& sql) {
    auto it = stmts.find(sql);
    if (it == stmts.end()) {
      auto s = Stmt::prepare(db.get(), sql);
      if (!s) {
        return s.error();
      }
      it = stmts.emplace(sql, std::move(s).value()).first;
    }
    return &it->second;
  }
};

Error bad_cursor() {
  return Error(ErrorCode::InvalidArgument, "cursor was not made by this server",
               {FieldError{"cursor", "was not made by this server"}});
}

// Cursors are "<at>.<id>" or "<id>", checked on the way back in.
std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

using Arg = std::variant<std::int64_t, std::string>;

// A list query: SELECT <cols> FROM <table> WHERE workspace_id = ? AND <conds> ORDER BY
// <order> LIMIT n+1; the extra row says whether another page follows.
struct Query {
  std::string sql;
  std::vector<Arg> args;

  void where(const std::string& cond, Arg a) {
    sql += " AND " + cond;
    args.push_back(std::move(a));
  }
};

template <class T, class Read, class CursorOf>
Result<Page<T>> run_page(Conn& c, const Query& q, std::size_t limit, Read read,
                         CursorOf cursor_of) {
  auto st = c.prepared(q.sql);
  if (!st) {
    return st.error();
  }
  Stmt& s = *st.value();
  int i = 1;
  for (const auto& a : q.args) {
    std::visit([&](const auto& v) { s.bind(i, v); }, a);
    ++i;
  }
  s.bind(i, static_cast<std::int64_t>(limit + 1));
  Page<T> page;
  for (;;) {
    auto row = s.step();
    if (!row) {
      return row.error();
    }
    if (!row.value()) {
      break;
    }
    if (page.items.size() == limit) {
      page.next_cursor = cursor_of(page.items.back());
      s.reset();
      break;
    }
    auto item = read(s);
    if (!item) {
      s.reset();
      return item.error();
    }
    page.items.push_back(std::move(item).value());
  }
  return page;
}

// The first item of a one-row page, if any.
template <class T>
Result<std::optional<T>> first_of(Result<Page<T>> page) {
  if (!page) {
    return page.error();
  }
  if (page->items.empty()) {
    return std::optional<T>();
  }
  return std::optional<T>(std::move(page->items.front()));
}

template <class T>
std::string id_cursor(const T& item) {
  return std::to_string(item.id.value());
}

// Newest-first lists page by id: the cursor is the last id shown.
Status after_cursor(Query& q, const std::string& cursor) {
  if (cursor.empty()) {
    return {};
  }
  auto v = parse_int(cursor);
  if (!v) {
    return bad_cursor();
  }
  q.where("id < ?", *v);
  return {};
}

}  // namespace

struct History::Impl {
  std::string path;
  std::string workspace;
  std::mutex mu;
  std::condition_variable freed;
  std::vector<std::unique_ptr<Conn>> idle;  // GUARDED_BY(mu)

  // Borrows a connection for the duration of `f`.
  template <class F>
  auto with_conn(F&& f) -> decltype(f(std::declval<Conn&>())) {
    std::unique_ptr<Conn> c;
    {
      std::unique_lock lock(mu);
      freed.wait(lock, [&] { return !idle.empty(); });
      c = std::move(idle.back());
      idle.pop_back();
    }
    auto result = f(*c);
    {
      std::lock_guard lock(mu);
      idle.push_back(std::move(c));
    }
    freed.notify_one();
    return result;
  }

  Query select(const std::string& columns, const char* table) const {
    Query q;
    q.sql = "SELECT " + columns + " FROM " + table + " WHERE workspace_id = ?";
    q.args.push_back(workspace);
    return q;
  }

  // Whether `sql` (with `args`) finds a row.
  Result<bool> exists(const std::string& sql, const std::vector<Arg>& args) {
    return with_conn([&](Conn& c) -> Result<bool> {
      auto st = c.prepared(sql);
      if (!st) {
        return st.error();
      }
      Stmt& s = *st.value();
      int i = 1;
      for (const auto& a : args) {
        std::visit([&](const auto& v) { s.bind(i, v); }, a);
        ++i;
      }
      auto row = s.step();
      s.reset();
      if (!row) {
        return row.error();
      }
      return row.value();
    });
  }

  // The one row with this id, if any.
  template <class T, class Read>
  Result<std::optional<T>> find(const std::string& columns, const char* table, std::int64_t id,
                                Read read) {
    Query q = select(columns, table);
    q.where("id = ?", id);
    q.sql += " LIMIT ?";
    return first_of(with_conn([&](Conn& c) { return run_page<T>(c, q, 1, read, id_cursor<T>); }));
  }
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::~History() = default;

Result<std::unique_ptr<History>> History::open(const std::string& path, std::string workspace,
                                               std::size_t connections) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->workspace = std::move(workspace);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, connections); ++i) {
    auto db = Db::open(path, false, "NORMAL", 5000, /*read_only=*/true);
    if (!db) {
      return db.error();
    }
    impl->idle.push_back(std::make_unique<Conn>(Conn{std::move(db).value(), {}}));
  }
  return std::unique_ptr<History>(new History(std::move(impl)));
}

Result<std::optional<Case>> History::find_case(CaseId id) {
  return impl_->find<Case>(case_columns(), "cases", static_cast<std::int64_t>(id.value()),
                           read_case);
}

Result<Page<Case>> History::cases(const CaseFilter& f, const std::string& cursor,
                                  std::size_t limit) {
  Query q = impl_->select(case_columns(), "cases");
  if (f.status) {
    q.where("status = ?", std::string(to_string(*f.status)));
  }
  if (!f.queue.empty()) {
    q.where("queue = ?", f.queue);
  }
  if (f.assignee) {
    q.where("assignee = ?", f.assignee->value());
  }
  if (f.customer) {
    q.where("customer_id = ?", static_cast<std::int64_t>(f.customer->value()));
  }
  if (!f.created_by.empty()) {
    q.where("created_by = ?", f.created_by);
  }
  BATON_RETURN_IF_ERROR(after_cursor(q, cursor));
  q.sql += " ORDER BY id DESC LIMIT ?";
  return impl_->with_conn(
      [&](Conn& c) { return run_page<Case>(c, q, limit, read_case, id_cursor<Case>); });
}

Result<Page<Offer>> History::offers(const OfferFilter& f, const std::string& cursor,
                                    std::size_t limit) {
  Query q = impl_->select(offer_columns(), "offers");
  if (f.agent) {
    q.where("agent_id = ?", f.agent->value());
  }
  if (f.status) {
    q.where("status = ?", std::string(to_string(*f.status)));
  }
  if (f.case_id) {
    q.where("case_id = ?", static_cast<std::int64_t>(f.case_id->value()));
  }
  BATON_RETURN_IF_ERROR(after_cursor(q, cursor));
  q.sql += " ORDER BY id DESC LIMIT ?";
  return impl_->with_conn(
      [&](Conn& c) { return run_page<Offer>(c, q, limit, read_offer, id_cursor<Offer>); });
}

Result<std::optional<Offer>> History::find_offer(OfferId id) {
  return impl_->find<Offer>(offer_columns(), "offers", static_cast<std::int64_t>(id.value()),
                            read_offer);
}

Result<Page<Handoff>> History::handoffs(const HandoffFilter& f, const std::string& cursor,
                                        std::size_t limit) {
  Query q = impl_->select(handoff_columns(), "handoffs");
  if (f.status) {
    q.where("status = ?", std::string(to_string(*f.status)));
  }
  if (f.reason) {
    q.where("reason = ?", std::string(to_string(*f.reason)));
  }
  if (f.from_agent) {
    q.where("from_agent = ?", f.from_agent->value());
  }
  if (f.to_agent) {
    q.where("to_agent = ?", f.to_agent->value());
  }
  BATON_RETURN_IF_ERROR(after_cursor(q, cursor));
  q.sql += " ORDER BY id DESC LIMIT ?";
  return impl_->with_conn(
      [&](Conn& c) { return run_page<Handoff>(c, q, limit, read_handoff, id_cursor<Handoff>); });
}

Result<std::optional<Handoff>> History::find_handoff(HandoffId id) {
  return impl_->find<Handoff>(handoff_columns(), "handoffs", static_cast<std::int64_t>(id.value()),
                              read_handoff);
}

Result<Page<CaseEvent>> History::case_events(CaseId id, const std::string& cursor,
                                             std::size_t limit) {
  Query q = impl_->select(kEventColumns, "case_events");
  q.where("case_id = ?", static_cast<std::int64_t>(id.value()));
  if (!cursor.empty()) {
    auto v = parse_int(cursor);
    if (!v) {
      return bad_cursor();
    }
    q.where("id > ?", *v);
  }
  q.sql += " ORDER BY id LIMIT ?";
  return impl_->with_conn(
      [&](Conn& c) { return run_page<CaseEvent>(c, q, limit, read_event, id_cursor<CaseEvent>); });
}

Result<std::vector<CaseEvent>> History::recent_messages(CaseId id, std::size_t limit) {
  Query q = impl_->select(kEventColumns, "case_events");
  q.where("case_id = ?", static_cast<std::int64_t>(id.value()));
  q.sql += " AND type IN ('message_in', 'message_out') ORDER BY id DESC LIMIT ?";
  auto page = impl_->with_conn([&](Conn& c) {
    return run_page<CaseEvent>(c, q, limit, read_event,
                               [](const CaseEvent& e) { return std::to_string(e.id.value()); });
  });
  if (!page) {
    return page.error();
  }
  return std::move(page->items);
}

namespace {

// The condition that the viewer may read the cases row `k`; its arguments go to `args`.
std::string visible_case(const Viewer& v, std::vector<Arg>& args) {
  if (v.agent) {
    for (int i = 0; i < 3; ++i) {
      args.emplace_back(v.agent->value());
    }
    return "(k.assignee = ? OR EXISTS (SELECT 1 FROM offers o WHERE o.case_id = k.id AND "
           "o.agent_id = ?) OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = k.account_id AND "
           "a.sales_owner = ?))";
  }
  args.emplace_back(v.created_by);
  return "k.created_by = ?";
}

}  // namespace

Result<Page<CaseEvent>> History::customer_timeline(CustomerId id, const std::string& cursor,
                                                   std::size_t limit, const Viewer* viewer) {
  std::int64_t at = std::numeric_limits<std::int64_t>::max();
  std::int64_t before_id = std::numeric_limits<std::int64_t>::max();
  if (!cursor.empty()) {
    auto dot = cursor.find('.');
    if (dot == std::string::npos) {
      return bad_cursor();
    }
    auto a = parse_int(std::string_view(cursor).substr(0, dot));
    auto b = parse_int(std::string_view(cursor).substr(dot + 1));
    if (!a || !b) {
      return bad_cursor();
    }
    at = *a;
    before_id = *b;
  }
  // A page is a walk down the customer's index (case_events_customer) from the cursor:
  // no sort, however long the customer's history. Staff see the customer's own events
  // (merges, case_id 0) too; an agent sees the events of the cases it may read.
  Query q = impl_->select(kEventColumns, "case_events");
  q.where("customer_id = ?", static_cast<std::int64_t>(id.value()));
  if (viewer != nullptr) {
    q.where("case_id IN (SELECT k.id FROM cases k WHERE k.customer_id = ?",
            static_cast<std::int64_t>(id.value()));
    q.sql += " AND " + visible_case(*viewer, q.args) + ")";
  }
  q.sql += " AND (at, id) < (?, ?)";
  q.args.push_back(at);
  q.args.push_back(before_id);
  q.sql += " ORDER BY at DESC, id DESC LIMIT ?";
  return impl_->with_conn([&](Conn& c) {
    return run_page<CaseEvent>(c, q, limit, read_event, [](const CaseEvent& e) {
      return std::to_string(e.at.time_since_epoch().count()) + "." + std::to_string(e.id.value());
    });
  });
}

Result<bool> History::sees_customer(CustomerId id, const Viewer& viewer) {
  std::vector<Arg> args{impl_->workspace, static_cast<std::int64_t>(id.value())};
  std::string sql = "SELECT 1 FROM cases k WHERE k.workspace_id = ? AND k.customer_id = ? AND " +
                    visible_case(viewer, args) + " LIMIT 1";
  return impl_->exists(sql, args);
}

Result<bool> History::sees_account(AccountId id, const Viewer& viewer) {
  std::vector<Arg> args{impl_->workspace, static_cast<std::int64_t>(id.value()),
                        static_cast<std::int64_t>(id.value())};
  std::string sql =
      "SELECT 1 FROM cases k WHERE k.workspace_id = ? AND (k.account_id = ? OR k.customer_id IN "
      "(SELECT id FROM "
      "customers WHERE account_id = ?)) AND " +
      visible_case(viewer, args) + " LIMIT 1";
  return impl_->exists(sql, args);
}

Result<std::optional<TokenRecord>> History::find_token(const std::string& hash) {
  Query q;
  q.sql =
      "SELECT hash, workspace_id, role, agent_id, created_at, revoked_at, expires_at FROM tokens "
      "WHERE hash = ? LIMIT ?";
  q.args.push_back(hash);
  auto page = impl_->with_conn([&](Conn& c) {
    return run_page<TokenRecord>(
        c, q, 1,
        [](const Stmt& s) -> Result<TokenRecord> {
          TokenRecord t;
          t.hash = s.text(0);
          t.workspace = s.text(1);
          t.role = s.text(2);
          t.agent = opt_agent(s, 3);
          t.created_at = time_at(s.int64(4));
          t.revoked_at = opt_time_at(s, 5);
          t.expires_at = opt_time_at(s, 6);
          return t;
        },
        [](const TokenRecord& t) { return t.hash; });
  });
  return first_of(std::move(page));
}

Result<std::optional<std::string>> History::find_password(const AgentId& agent) {
  std::vector<Arg> args{impl_->workspace, agent.value()};
  return impl_->with_conn([&](Conn& c) -> Result<std::optional<std::string>> {
    auto st =
        c.prepared("SELECT hash FROM agent_passwords WHERE workspace_id = ? AND agent_id = ?");
    if (!st) {
      return st.error();
    }
    Stmt& s = *st.value();
    s.bind(1, impl_->workspace).bind(2, agent.value());
    std::optional<std::string> hash;
    BATON_RETURN_IF_ERROR(each_row(s, [&](Stmt& row) -> Status {
      hash = row.text(0);
      return {};
    }));
    return hash;
  });
}

Result<Page<AuditEntry>> History::audit(const std::string& cursor, std::size_t limit) {
  Query q = impl_->select("id, at, actor, action, target, data", "audit");
  BATON_RETURN_IF_ERROR(after_cursor(q, cursor));
  q.sql += " ORDER BY id DESC LIMIT ?";
  return impl_->with_conn([&](Conn& c) {
    return run_page<AuditEntry>(
        c, q, limit,
        [](const Stmt& s) -> Result<AuditEntry> {
          AuditEntry a;
          a.id = static_cast<std::uint64_t>(s.int64(0));
          a.at = time_at(s.int64(1));
          a.actor = s.text(2);
          a.action = s.text(3);
          a.target = s.text(4);
          a.data = s.text(5);
          return a;
        },
        [](const AuditEntry& a) { return std::to_string(a.id); });
  });
}

Result<std::vector<StoredResponse>> History::responses_since(TimePoint since) {
  // "+workspace_id": every row shares it, so the time index must lead, not the key.
  Query q;
  q.sql =
      "SELECT key, request_hash, status, response, created_at FROM idempotency_keys WHERE "
      "+workspace_id = ? AND created_at >= ? LIMIT ?";
  q.args.push_back(impl_->workspace);
  q.args.push_back(since.time_since_epoch().count());
  auto page = impl_->with_conn([&](Conn& c) {
    return run_page<StoredResponse>(
        c, q, std::numeric_limits<std::int32_t>::max(),
        [](const Stmt& s) -> Result<StoredResponse> {
          StoredResponse r;
          r.key = s.text(0);
          r.request_hash = s.text(1);
          r.status = static_cast<int>(s.int64(2));
          r.body = s.text(3);
          r.created_at = time_at(s.int64(4));
          return r;
        },
        [](const StoredResponse& r) { return r.key; });
  });
  if (!page) {
    return page.error();
  }
  return std::move(page->items);
}

namespace {
// The file at `path` on this binary's schema, for the one-off writes of the commands.
Result<Db> open_migrated(const std::string& path) {
  auto db = Db::open(path, true, "FULL");
  if (!db) {
    return db.error();
  }
  if (auto v = migrate(db.value()); !v) {
    return v.error();
  }
  return db;
}
}  // namespace

namespace {

// A line of the set-up audit by the command line, in the caller's transaction.
Status audit_command_line(sqlite3* db, const std::string& workspace, TimePoint at,
                          const char* action, const std::string& target,
                          const std::vector<std::pair<std::string, Value>>& data) {
  auto a = Stmt::prepare(db,
                         "INSERT INTO audit (workspace_id, at, actor, action, target, data) "
                         "VALUES (?, ?, 'command line', ?, ?, ?)");
  if (!a) {
    return a.error();
  }
  return a->bind(1, workspace)
      .bind(2, at.time_since_epoch().count())
      .bind(3, std::string(action))
      .bind(4, target)
      .bind(5, json_values(data))
      .run();
}

}  // namespace

Status insert_token(const std::string& path, const TokenRecord& token) {
  auto db = open_migrated(path);
  if (!db) {
    return db.error();
  }
  // The token and its audit line in one transaction.
  BATON_RETURN_IF_ERROR(db->exec("BEGIN IMMEDIATE"));
  auto s = Stmt::prepare(db->get(),
                         "INSERT INTO tokens (hash, workspace_id, role, agent_id, created_at) "
                         "VALUES (?,?,?,?,?)");
  if (!s) {
    return s.error();
  }
  std::optional<std::string> agent;
  if (token.agent) {
    agent = token.agent->value();
  }
  BATON_RETURN_IF_ERROR(s->bind(1, token.hash)
                            .bind(2, token.workspace)
                            .bind(3, token.role)
                            .bind(4, agent)
                            .bind(5, token.created_at.time_since_epoch().count())
                            .run());
  std::vector<std::pair<std::string, Value>> fields{{"role", token.role}};
  if (agent) {
    fields.emplace_back("agent", *agent);
  }
  BATON_RETURN_IF_ERROR(audit_command_line(db->get(), token.workspace, token.created_at,
                                           "token.created", token.hash.substr(0, 12), fields));
  return db->exec("COMMIT");
}

}  // namespace baton::storage

namespace baton::storage {

namespace {

// The events a summary reads, found through case_events_at (the window) and each case by
// its rowid; the case's row holds its first and latest acceptance.
constexpr const char* kSummaryEvents = R"sql(
SELECT e.type, e.at, e.actor,
  CASE e.type WHEN 'csat' THEN json_extract(e.data, '$.score')
    WHEN 'status_changed' THEN json_extract(e.data, '$.to') END,
  c.queue, c.created_at, c.assignee, c.first_accepted_at, c.accepted_at, e.case_id
FROM case_events e JOIN cases c ON c.id = e.case_id
WHERE e.at >= ?1 AND e.at < ?2 AND (
  e.type IN ('created', 'accepted', 'csat')
  OR (e.type = 'message_out' AND e.at = c.first_response_at)
  OR (e.type = 'status_changed' AND json_extract(e.data, '$.to') IN ('resolved', 'abandoned')))
)sql";

constexpr const char* kSummaryHandoffs = R"sql(
SELECT reason, status, outcome, created_at, accepted_at, from_agent, to_agent FROM handoffs
WHERE created_at >= ?1 AND created_at < ?2
)sql";

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }

Duration between(std::int64_t from_ms, std::int64_t to_ms) {
  return Duration{std::max<std::int64_t>(0, to_ms - from_ms)};
}

template <class Map, class Key>
auto& figures_of(Map& m, const Key& key) {
  auto it = m.find(key);
  if (it == m.end()) {
    it = m.emplace(key, typename Map::mapped_type{}).first;
  }
  return it->second;
}

}  // namespace

Result<Summary> History::summary(const ReportRequest& r) {
  std::map<std::string, QueueFigures> queues;
  std::map<std::string, AgentFigures> agents;
  std::map<HandoffReason, HandoffFigures> handoffs;
  auto agent = [&](const std::string& id) -> AgentFigures& {
    auto& a = figures_of(agents, id);
    a.agent = AgentId(id);
    return a;
  };
  std::unordered_set<std::int64_t> answered_cases;
  auto st = impl_->with_conn([&](Conn& c) -> Status {
    auto events = c.prepared(kSummaryEvents);
    if (!events) {
      return events.error();
    }
    Stmt& s = *events.value();
    s.bind(1, ms(r.from)).bind(2, ms(r.to));
    BATON_RETURN_IF_ERROR(each_row(s, [&](Stmt&) -> Status {
      std::string type = s.text(0);
      std::int64_t at = s.int64(1);
      std::string actor = s.text(2);
      std::string queue = s.text(4);
      std::int64_t created = s.int64(5);
      std::string assignee = s.is_null(6) ? "" : s.text(6);
      auto& q = figures_of(queues, queue);
      q.queue = queue;
      if (type == "created") {
        ++q.created;
      } else if (type == "accepted") {
        ++agent(actor).answered;
        // The case's first acceptance (once, though a re-acceptance may share its ms).
        if (!s.is_null(7) && s.int64(7) == at && answered_cases.insert(s.int64(9)).second) {
          Duration wait = between(created, at);
          ++q.answered;
          q.wait.add(wait);
          auto policy = r.sla.find(queue);
          if ((policy != r.sla.end() ? policy->second : routing::SlaPolicy{})
                  .answered_in_target(TimePoint{Duration{created}}, TimePoint{Duration{at}})) {
            ++q.answered_in_target;
          }
        }
      } else if (type == "message_out") {
        q.first_response.add(between(created, at));
        agent(actor).first_response.add(between(created, at));
      } else if (type == "csat") {
        if (!s.is_null(3)) {
          double score = s.real(3);
          q.csat.seconds.push_back(score);
          if (!assignee.empty()) {
            agent(assignee).csat.seconds.push_back(score);
          }
        }
      } else if (type == "status_changed") {
        if (s.text(3) == "abandoned") {
          ++q.abandoned;
          return {};
        }
        ++q.resolved;
        q.resolution.add(between(created, at));
        std::optional<Duration> handle;
        if (!s.is_null(8) && s.int64(8) <= at) {
          handle = between(s.int64(8), at);
          q.handle.add(*handle);
        }
        if (!assignee.empty()) {
          auto& a = agent(assignee);
          ++a.resolved;
          if (handle) {
            a.handle.add(*handle);
          }
        }
      }
      return {};
    }));
    auto hs = c.prepared(kSummaryHandoffs);
    if (!hs) {
      return hs.error();
    }
    Stmt& h = *hs.value();
    h.bind(1, ms(r.from)).bind(2, ms(r.to));
    BATON_RETURN_IF_ERROR(each_row(h, [&](Stmt&) -> Status {
      auto reason = parse_handoff_reason(h.text(0));
      auto status = parse_handoff_status(h.text(1));
      auto outcome = parse_handoff_outcome(h.text(2));
      if (!reason || !status || !outcome) {
        return damaged("handoff of unknown reason, status or outcome");
      }
      auto& f = figures_of(handoffs, *reason);
      f.reason = *reason;
      ++f.created;
      if (!h.is_null(4)) {
        ++f.accepted;
        f.time_to_accept.add(between(h.int64(3), h.int64(4)));
      }
      if (*status == HandoffStatus::Completed) {
        ++f.completed;
      }
      switch (*outcome) {
        case HandoffOutcome::Won:
          ++f.won;
          break;
        case HandoffOutcome::Lost:
          ++f.lost;
          break;
        case HandoffOutcome::Resolved:
          ++f.resolved;
          break;
        case HandoffOutcome::NoAction:
          ++f.no_action;
          break;
        case HandoffOutcome::None:
          break;
      }
      if (!h.is_null(5)) {
        ++agent(h.text(5)).handoffs_sent;
      }
      if (!h.is_null(6)) {
        ++agent(h.text(6)).handoffs_received;
      }
      return {};
    }));
    return {};
  });
  if (!st) {
    return st.error();
  }
  Summary out;
  out.from = r.from;
  out.to = r.to;
  for (auto& [name, q] : queues) {
    out.queues.push_back(std::move(q));
  }
  for (auto& [id, a] : agents) {
    out.agents.push_back(std::move(a));
  }
  for (auto& [reason, f] : handoffs) {
    out.handoffs.push_back(std::move(f));
  }
  return out;
}

Result<AccountFigures> History::account_figures(AccountId id, TimePoint csat_since) {
  AccountFigures out;
  out.account = id;
  out.csat_since = csat_since;
  auto acc = static_cast<std::int64_t>(id.value());
  auto st = impl_->with_conn([&](Conn& c) -> Status {
    auto open = c.prepared(
        "SELECT status, count(*) FROM cases WHERE account_id = ?1 AND status IN "
        "('queued', 'offered', 'assigned', 'pending') GROUP BY status");
    if (!open) {
      return open.error();
    }
    Stmt& s = *open.value();
    s.bind(1, acc);
    BATON_RETURN_IF_ERROR(each_row(s, [&](Stmt&) -> Status {
      auto n = static_cast<std::uint64_t>(s.int64(1));
      out.open_by_status[s.text(0)] = n;
      out.open_cases += n;
      return {};
    }));
    // Recent satisfaction through the account's recent cases: a case rated since then was
    // created before it, but not long before; a year of cases bounds the search.
    auto csat = c.prepared(
        "SELECT json_extract(e.data, '$.score') FROM cases k JOIN case_events e ON e.case_id = "
        "k.id "
        "WHERE k.account_id = ?1 AND k.created_at >= ?2 AND e.type = 'csat' AND e.at >= ?3");
    if (!csat) {
      return csat.error();
    }
    Stmt& q = *csat.value();
    q.bind(1, acc)
        .bind(2, ms(csat_since) - std::int64_t{365} * 24 * 3600 * 1000)
        .bind(3, ms(csat_since));
    BATON_RETURN_IF_ERROR(each_row(q, [&](Stmt&) -> Status {
      if (!q.is_null(0)) {
        out.csat.seconds.push_back(q.real(0));
      }
      return {};
    }));
    return {};
  });
  if (!st) {
    return st.error();
  }
  // Open handoffs of the account's cases, newest first.
  Query hq = impl_->select(handoff_columns(), "handoffs");
  hq.where("status != 'completed' AND to_case IN (SELECT id FROM cases WHERE account_id = ?)", acc);
  hq.sql += " ORDER BY id DESC LIMIT ?";
  auto page = impl_->with_conn(
      [&](Conn& c) { return run_page<Handoff>(c, hq, 100, read_handoff, id_cursor<Handoff>); });
  if (!page) {
    return page.error();
  }
  out.open_handoffs = std::move(page->items);
  return out;
}

}  // namespace baton::storage

namespace baton::storage {

Result<std::optional<RuleVersion>> History::active_rules() {
  Query q = impl_->select("version, source, created_at", "routing_rules");
  q.sql += " ORDER BY version DESC LIMIT ?";
  return first_of(impl_->with_conn([&](Conn& c) {
    return run_page<RuleVersion>(
        c, q, 1,
        [](const Stmt& s) -> Result<RuleVersion> {
          return RuleVersion{static_cast<int>(s.int64(0)), s.text(1), time_at(s.int64(2))};
        },
        [](const RuleVersion&) { return std::string(); });
  }));
}

}  // namespace baton::storage

namespace baton::storage {

namespace {

constexpr const char* kDeliveryColumns =
    "id, subscription_id, event_type, event_id, case_id, status, attempts, next_attempt_at, "
    "last_status, last_error, delivered_at, created_at";

Result<DeliveryRecord> read_delivery(const Stmt& s, int base = 0) {
  DeliveryRecord d;
  d.id = DeliveryId(static_cast<std::uint64_t>(s.int64(base + 0)));
  d.webhook = WebhookId(static_cast<std::uint64_t>(s.int64(base + 1)));
  d.event_type = s.text(base + 2);
  d.event = EventId(static_cast<std::uint64_t>(s.int64(base + 3)));
  d.case_id = CaseId(static_cast<std::uint64_t>(s.int64(base + 4)));
  d.status = s.text(base + 5);
  d.attempts = static_cast<int>(s.int64(base + 6));
  d.next_attempt_at = time_at(s.int64(base + 7));
  if (!s.is_null(base + 8)) {
    d.last_status = static_cast<int>(s.int64(base + 8));
  }
  d.last_error = s.text(base + 9);
  d.delivered_at = opt_time_at(s, base + 10);
  d.created_at = time_at(s.int64(base + 11));
  return d;
}

}  // namespace

Result<Page<DeliveryRecord>> History::deliveries(WebhookId id, const std::string& cursor,
                                                 std::size_t limit) {
  Query q = impl_->select(kDeliveryColumns, "webhook_outbox");
  q.where("subscription_id = ?", static_cast<std::int64_t>(id.value()));
  BATON_RETURN_IF_ERROR(after_cursor(q, cursor));
  q.sql += " ORDER BY id DESC LIMIT ?";
  return impl_->with_conn([&](Conn& c) {
    return run_page<DeliveryRecord>(
        c, q, limit, [](const Stmt& s) { return read_delivery(s); },
        [](const DeliveryRecord& d) { return std::to_string(d.id.value()); });
  });
}

struct Outbox::Impl {
  std::string workspace;
  Conn conn;
};

Outbox::Outbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::open(const std::string& path, std::string workspace) {
  auto db = Db::open(path, false, "FULL", 5000);
  if (!db) {
    return db.error();
  }
  auto impl = std::make_unique<Impl>(Impl{std::move(workspace), Conn{std::move(db).value(), {}}});
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl)));
}

Result<std::vector<DueDelivery>> Outbox::due(TimePoint now, std::size_t limit,
                                             const std::vector<WebhookId>& skip) {
  Conn& c = impl_->conn;
  // The webhooks to skip are a JSON array bound as one value: one statement for any list.
  std::string skipped = "[";
  for (const auto& id : skip) {
    skipped += (skipped.size() > 1 ? "," : "") + std::to_string(id.value());
  }
  skipped += "]";
  auto rows = c.prepared(std::string("SELECT o.") +
                         "id, o.subscription_id, o.event_type, o.event_id, "
                         "o.case_id, o.status, o.attempts, o.next_attempt_at, o.last_status, "
                         "o.last_error, o.delivered_at, o.created_at, o.payload, w.url, w.events, "
                         "w.secret, w.active, w.created_at FROM webhook_outbox o JOIN webhooks w "
                         "ON w.id = o.subscription_id WHERE o.status = 'pending' AND "
                         "o.next_attempt_at <= ?1 AND o.workspace_id = ?2 AND o.subscription_id "
                         "NOT IN (SELECT value FROM json_each(?4)) "
                         "ORDER BY o.next_attempt_at, o.id LIMIT ?3");
  if (!rows) {
    return rows.error();
  }
  Stmt& s = *rows.value();
  s.bind(1, now.time_since_epoch().count())
      .bind(2, impl_->workspace)
      .bind(3, static_cast<std::int64_t>(limit))
      .bind(4, skipped);
  std::vector<DueDelivery> out;
  BATON_RETURN_IF_ERROR(each_row(s, [&](Stmt&) -> Status {
    DueDelivery d;
    BATON_ASSIGN(d.record, read_delivery(s));
    d.payload = s.text(12);
    d.webhook.id = d.record.webhook;
    d.webhook.url = s.text(13);
    auto events = parse_json_strings(s.text(14));
    if (!events) {
      return events.error();
    }
    d.webhook.events = std::move(events).value();
    d.webhook.secret = s.text(15);
    d.webhook.active = s.int64(16) != 0;
    d.webhook.created_at = time_at(s.int64(17));
    out.push_back(std::move(d));
    return {};
  }));
  // The body is made from the event (and its case) the first time only.
  for (auto& d : out) {
    if (!d.payload.empty()) {
      continue;
    }
    auto by_id = [&](const std::string& columns, const char* table, std::uint64_t id) {
      Query q;
      q.sql = "SELECT " + columns + " FROM " + table + " WHERE id = ? LIMIT ?";
      q.args.push_back(static_cast<std::int64_t>(id));
      return q;
    };
    auto event =
        first_of(run_page<CaseEvent>(c, by_id(kEventColumns, "case_events", d.record.event.value()),
                                     1, read_event, id_cursor<CaseEvent>));
    if (!event) {
      return event.error();
    }
    d.event = std::move(event).value();
    if (d.record.case_id.value() == 0) {
      continue;  // a customer's own event
    }
    auto kase = first_of(run_page<Case>(c, by_id(case_columns(), "cases", d.record.case_id.value()),
                                        1, read_case, id_cursor<Case>));
    if (!kase) {
      return kase.error();
    }
    d.kase = std::move(kase).value();
  }
  return out;
}

Status Outbox::record(const DeliveryAttempt& a) {
  auto st = impl_->conn.prepared(
      "UPDATE webhook_outbox SET attempts = ?2, payload = ?3, status = ?4, last_status = ?5, "
      "last_error = ?6, next_attempt_at = ?7, delivered_at = ?8 WHERE id = ?1");
  if (!st) {
    return st.error();
  }
  Stmt& s = *st.value();
  s.bind(1, static_cast<std::int64_t>(a.id.value()))
      .bind(2, a.attempts)
      .bind(3, a.payload)
      .bind(4, a.status)
      .bind(6, a.error)
      .bind(7, a.next_attempt_at.time_since_epoch().count());
  if (a.http_status) {
    s.bind(5, *a.http_status);
  } else {
    s.bind_null(5);
  }
  if (a.status == "delivered") {
    s.bind(8, a.at.time_since_epoch().count());
  } else {
    s.bind_null(8);
  }
  return s.run();
}

Result<std::size_t> Outbox::prune(TimePoint before, std::size_t limit) {
  // Finished rows' next_attempt_at is their last attempt (webhook_outbox_due's order).
  auto st = impl_->conn.prepared(
      "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox WHERE status IN "
      "('delivered', 'dead') AND next_attempt_at < ?1 AND workspace_id = ?2 LIMIT ?3)");
  if (!st) {
    return st.error();
  }
  Stmt& s = *st.value();
  s.bind(1, before.time_since_epoch().count())
      .bind(2, impl_->workspace)
      .bind(3, static_cast<std::int64_t>(limit));
  BATON_RETURN_IF_ERROR(s.run());
  return static_cast<std::size_t>(sqlite3_changes(impl_->conn.db.get()));
}

Result<int> revoke_tokens(const std::string& path, const std::string& workspace,
                          const std::string& hash_prefix, TimePoint at) {
  if (hash_prefix.size() < 12 || hash_prefix.size() > 64 ||
      hash_prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Error(ErrorCode::InvalidArgument, "a token id is 12 to 64 lower-case hex characters");
  }
  auto db = open_migrated(path);
  if (!db) {
    return db.error();
  }
  // The revocation and its audit line in one transaction.
  BATON_RETURN_IF_ERROR(db->exec("BEGIN IMMEDIATE"));
  // substr, not LIKE: a prefix of hex characters needs no escaping and no collation.
  auto s = Stmt::prepare(db->get(),
                         "UPDATE tokens SET revoked_at = ?1 WHERE workspace_id = ?2 AND "
                         "revoked_at IS NULL AND substr(hash, 1, length(?3)) = ?3");
  if (!s) {
    return s.error();
  }
  BATON_RETURN_IF_ERROR(
      s->bind(1, at.time_since_epoch().count()).bind(2, workspace).bind(3, hash_prefix).run());
  int revoked = sqlite3_changes(db->get());
  if (revoked > 0) {
    BATON_RETURN_IF_ERROR(audit_command_line(db->get(), workspace, at, "token.revoked",
                                             hash_prefix.substr(0, 12),
                                             {{"tokens", static_cast<double>(revoked)}}));
  }
  BATON_RETURN_IF_ERROR(db->exec("COMMIT"));
  return revoked;
}

}  // namespace baton::storage
