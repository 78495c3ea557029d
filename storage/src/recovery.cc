#include "baton/storage/recovery.h"

#include <unordered_map>

#include "json_text.h"
#include "rows.h"
#include "schema.h"
#include "sqlite.h"

namespace baton::storage {

namespace {

using namespace engine;

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
  return storage::each_row(st.value(), std::forward<F>(row));
}

// Every row `sql` finds, read by a row codec (rows.h) and appended to `into`; the first
// row it refuses as damaged fails the whole.
template <class T, class Read>
Status read_all(Db& db, const std::string& sql, const std::string& ws, Read read,
                std::vector<T>& into) {
  return each_row(db, sql.c_str(), ws, [&](Stmt& s) -> Status {
    auto v = read(s);
    if (!v) {
      return v.error();
    }
    into.push_back(std::move(v).value());
    return {};
  });
}

}  // namespace

Result<Snapshot> load_snapshot(const std::string& path, const std::string& ws) {
  auto opened = Db::open(path, false, "FULL");
  if (!opened) {
    return opened.error();
  }
  Db& db = opened.value();
  BATON_RETURN_IF_ERROR(require_latest_schema(db));
  Snapshot snap;
  BATON_RETURN_IF_ERROR(read_all(db,
                                 std::string("SELECT ") + kAgentColumns +
                                     " FROM agents WHERE workspace_id = ?1 ORDER BY created_at, id",
                                 ws, read_agent, snap.agents));
  BATON_RETURN_IF_ERROR(read_all(db,
                                 std::string("SELECT ") + kAccountColumns +
                                     " FROM accounts WHERE workspace_id = ?1 ORDER BY id",
                                 ws, read_account, snap.accounts));
  for (const Account& a : snap.accounts) {
    snap.max_account = std::max(snap.max_account, a.id.value());
  }
  std::unordered_map<std::uint64_t, std::size_t> customer_at;
  BATON_RETURN_IF_ERROR(read_all(db,
                                 std::string("SELECT ") + kCustomerColumns +
                                     " FROM customers WHERE workspace_id = ?1 ORDER BY id",
                                 ws, read_customer, snap.customers));
  for (std::size_t i = 0; i < snap.customers.size(); ++i) {
    snap.max_customer = std::max(snap.max_customer, snap.customers[i].id.value());
    customer_at[snap.customers[i].id.value()] = i;
  }
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
  BATON_RETURN_IF_ERROR(read_all(
      db,
      "SELECT " + case_columns() +
          " FROM cases WHERE workspace_id = ?1 AND status IN ('queued', 'offered', 'assigned', "
          "'pending', 'resolved') ORDER BY id",
      ws, read_case, snap.cases));
  BATON_RETURN_IF_ERROR(read_all(
      db,
      "SELECT " + offer_columns("o.") +
          " FROM cases c JOIN offers o ON o.workspace_id = c.workspace_id AND o.id = c.offer_id "
          "WHERE c.workspace_id = ?1 AND c.status = 'offered'",
      ws, read_offer, snap.offers));
  BATON_RETURN_IF_ERROR(read_all(
      db,
      "SELECT " + handoff_columns() +
          " FROM handoffs WHERE workspace_id = ?1 AND status IN ('open', 'accepted') ORDER BY id",
      ws, read_handoff, snap.handoffs));
  BATON_RETURN_IF_ERROR(each_row(
      db,
      "SELECT version, source, created_at FROM routing_rules WHERE workspace_id = ?1 "
      "ORDER BY version DESC LIMIT 1",
      ws, [&](Stmt& s) -> Status {
        snap.rules = RuleVersion{static_cast<int>(s.int64(0)), s.text(1), time_at(s.int64(2))};
        return {};
      }));
  BATON_RETURN_IF_ERROR(each_row(db,
                                 "SELECT id, url, events, secret, active, created_at FROM webhooks "
                                 "WHERE workspace_id = ?1 ORDER BY id",
                                 ws, [&](Stmt& s) -> Status {
                                   Webhook w;
                                   w.id = WebhookId(static_cast<std::uint64_t>(s.int64(0)));
                                   w.url = s.text(1);
                                   BATON_ASSIGN(w.events, parse_json_strings(s.text(2)));
                                   w.secret = s.text(3);
                                   w.active = s.int64(4) != 0;
                                   w.created_at = time_at(s.int64(5));
                                   snap.webhooks.push_back(std::move(w));
                                   return {};
                                 }));
  struct Max {
    const char* sql;
    std::uint64_t* into;
  };
  for (const Max& max : {
           Max{"SELECT coalesce(max(id), 0) FROM cases WHERE workspace_id = ?1", &snap.max_case},
           Max{"SELECT coalesce(max(id), 0) FROM offers WHERE workspace_id = ?1", &snap.max_offer},
           Max{"SELECT coalesce(max(id), 0) FROM handoffs WHERE workspace_id = ?1",
               &snap.max_handoff},
           Max{"SELECT coalesce(max(id), 0) FROM webhooks WHERE workspace_id = ?1",
               &snap.max_webhook},
           Max{"SELECT coalesce(max(id), 0) FROM webhook_outbox WHERE workspace_id = ?1",
               &snap.max_delivery},
           Max{"SELECT coalesce(max(id), 0) FROM case_events WHERE workspace_id = ?1",
               &snap.max_event},
           // Arrival order follows case creation, so the newest case holds the largest.
           Max{"SELECT coalesce((SELECT arrival FROM cases WHERE workspace_id = ?1 ORDER BY id "
               "DESC LIMIT 1), 0)",
               &snap.max_arrival},
       }) {
    std::uint64_t* into = max.into;
    BATON_RETURN_IF_ERROR(each_row(db, max.sql, ws, [&](Stmt& s) -> Status {
      *into = static_cast<std::uint64_t>(s.int64(0));
      return {};
    }));
  }
  return snap;
}

}  // namespace baton::storage
