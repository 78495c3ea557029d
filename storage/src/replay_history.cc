// What a replay reads of a window: arrivals as posted, agents as they were and what they
// did, on a read-only connection in one read transaction.

#include "baton/storage/replay_history.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/core.h>

#include "json_text.h"
#include "rows.h"
#include "schema.h"
#include "sqlite.h"

namespace baton::storage {

namespace {

using namespace engine;

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }

Result<Stmt> prepare(Db& db, std::string_view sql) { return Stmt::prepare(db.get(), sql); }

// The smallest id from which `table`'s rows were created at or after `t`, by bisection over
// the rowid (ids are given in creation order, so created_at rises with them).
Result<std::int64_t> first_id_at(Db& db, const std::string& table, TimePoint t) {
  auto max_id = db.query_int("SELECT coalesce(max(id), 0) FROM " + table);
  if (!max_id) {
    return max_id.error();
  }
  auto probe =
      prepare(db, "SELECT created_at FROM " + table + " WHERE id >= ?1 ORDER BY id LIMIT 1");
  if (!probe) {
    return probe.error();
  }
  // at_or_after(id): the first row from `id` on was created at or after t (or there is none).
  std::int64_t lo = 1, hi = max_id.value() + 1;
  while (lo < hi) {
    std::int64_t mid = lo + (hi - lo) / 2;
    probe->bind(1, mid);
    auto row = probe->step();
    if (!row) {
      return row.error();
    }
    bool at_or_after = !row.value() || probe->int64(0) >= ms(t);
    probe->reset();
    if (at_or_after) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

Result<AgentChange> read_change(const Stmt& s) {
  AgentChange c;
  c.agent = AgentId(s.text(0));
  c.at = time_at(s.int64(1));
  auto p = parse_presence(s.text(2));
  if (!p) {
    return damaged("agent change presence");
  }
  c.presence = *p;
  BATON_ASSIGN(c.capacity, parse_json_counts(s.text(3)));
  BATON_ASSIGN(c.teams, parse_json_strings(s.text(4)));
  BATON_ASSIGN(c.skills, parse_json_levels(s.text(5)));
  return c;
}

constexpr const char* kChangeColumns = "agent_id, at, presence, capacity, teams, skills";

Duration median(std::vector<Duration> v) {
  if (v.empty()) {
    return Duration{0};
  }
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

std::string seconds_text(Duration d) {
  return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

class Reader {
 public:
  Reader(Db& db, std::string ws, TimePoint from, TimePoint to, std::size_t max_cases)
      : db_(db), ws_(std::move(ws)), from_(from), to_(to), max_cases_(max_cases) {
    h_.from = from;
    h_.to = to;
  }

  Result<ReplayHistory> read() {
    BATON_RETURN_IF_ERROR(window());
    BATON_RETURN_IF_ERROR(agents());
    BATON_RETURN_IF_ERROR(customers());
    BATON_RETURN_IF_ERROR(cases());
    BATON_RETURN_IF_ERROR(accept_delays());
    return std::move(h_);
  }

 private:
  // The window's cases by id, refused when more than the limit.
  Status window() {
    auto first = first_id_at(db_, "cases", from_);
    if (!first) {
      return first.error();
    }
    auto end = first_id_at(db_, "cases", to_);
    if (!end) {
      return end.error();
    }
    first_case_ = first.value();
    end_case_ = end.value();
    auto n = static_cast<std::size_t>(std::max<std::int64_t>(0, end_case_ - first_case_));
    if (n > max_cases_) {
      std::string why = fmt::format(
          "the window holds {} cases, more than limits.replay_cases ({}): choose a shorter one", n,
          max_cases_);
      return Error(ErrorCode::InvalidArgument, why, {FieldError{"to", why}});
    }
    return {};
  }

  // Every agent made before the window ends, in the state of its last change before the
  // window; the changes within it, in order.
  Status agents() {
    std::map<std::string, AgentChange, std::less<>> before;
    auto last = prepare(db_, std::string("SELECT ") + kChangeColumns +
                                 " FROM agent_changes WHERE id IN (SELECT max(id) FROM "
                                 "agent_changes WHERE at < ?1 GROUP BY agent_id)");
    if (!last) {
      return last.error();
    }
    last->bind(1, ms(from_));
    BATON_RETURN_IF_ERROR(each_row(last.value(), [&](Stmt& s) -> Status {
      AgentChange c;
      BATON_ASSIGN(c, read_change(s));
      before[c.agent.value()] = std::move(c);
      return {};
    }));
    auto in = prepare(db_, std::string("SELECT ") + kChangeColumns +
                               " FROM agent_changes WHERE at >= ?1 AND at < ?2 ORDER BY at, id");
    if (!in) {
      return in.error();
    }
    in->bind(1, ms(from_)).bind(2, ms(to_));
    std::set<std::string, std::less<>> changed;
    BATON_RETURN_IF_ERROR(each_row(in.value(), [&](Stmt& s) -> Status {
      AgentChange c;
      BATON_ASSIGN(c, read_change(s));
      changed.insert(c.agent.value());
      h_.changes.push_back(std::move(c));
      return {};
    }));
    auto all = prepare(db_, std::string("SELECT ") + kAgentColumns +
                                " FROM agents WHERE workspace_id = ?1 AND created_at < ?2 "
                                "ORDER BY created_at, id");
    if (!all) {
      return all.error();
    }
    all->bind(1, ws_).bind(2, ms(to_));
    std::vector<std::string> unknown;
    BATON_RETURN_IF_ERROR(each_row(all.value(), [&](Stmt& s) -> Status {
      Agent a;
      BATON_ASSIGN(a, read_agent(s));
      if (auto b = before.find(a.id.value()); b != before.end()) {
        a.presence = b->second.presence;
        a.capacity = b->second.capacity;
        a.teams = b->second.teams;
        a.skills = b->second.skills;
      } else if (changed.count(a.id.value()) != 0 || a.created_at >= from_) {
        a.presence = Presence::Offline;  // until its first change in the window
      } else {
        a.presence = Presence::Available;
        unknown.push_back(a.id.value());
      }
      h_.agents.push_back(std::move(a));
      return {};
    }));
    if (!unknown.empty()) {
      std::string names;
      for (std::size_t i = 0; i < unknown.size() && i < 10; ++i) {
        names += (i == 0 ? "" : ", ") + unknown[i];
      }
      if (unknown.size() > 10) {
        names += fmt::format(" and {} more", unknown.size() - 10);
      }
      h_.assumptions.push_back(
          "no presence recorded for " + names +
          " before or in the window (history from before schema 12): taken as available "
          "throughout with their current capacity");
    }
    return {};
  }

  Status customers() {
    auto acc = prepare(
        db_, std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE workspace_id = ?1");
    if (!acc) {
      return acc.error();
    }
    acc->bind(1, ws_);
    BATON_RETURN_IF_ERROR(each_row(acc.value(), [&](Stmt& s) -> Status {
      Account a;
      BATON_ASSIGN(a, read_account(s));
      h_.accounts.push_back(std::move(a));
      return {};
    }));
    auto cu = prepare(
        db_, std::string("SELECT ") + kCustomerColumns + " FROM customers WHERE workspace_id = ?1");
    if (!cu) {
      return cu.error();
    }
    cu->bind(1, ws_);
    return each_row(cu.value(), [&](Stmt& s) -> Status {
      Customer c;
      BATON_ASSIGN(c, read_customer(s));
      c.last_agent.reset();  // who helped them last is what the replay itself decides
      h_.customers.push_back(std::move(c));
      return {};
    });
  }

  Status cases() {
    // The case's first message as posted is the message_in of its creating command.
    auto st = prepare(
        db_,
        "SELECT c.id, c.channel, c.type, c.subject, c.customer_id, c.attributes, c.created_at, "
        "c.status, c.updated_at, c.first_accepted_at, c.first_released_at, c.resolved_at, "
        "c.queue, c.posted_priority, c.posted_skills, c.from_handoff, c.created_by, "
        "(SELECT json_extract(e.data, '$.body') FROM case_events e WHERE e.case_id = c.id "
        " AND e.type = 'message_in' AND e.at = c.created_at ORDER BY e.id LIMIT 1) "
        "FROM cases c WHERE c.id >= ?1 AND c.id < ?2 ORDER BY c.id");
    if (!st) {
      return st.error();
    }
    st->bind(1, first_case_).bind(2, end_case_);
    std::size_t unposted = 0, estimated_handle = 0, from_handoffs = 0;
    std::vector<std::size_t> unhandled;
    std::vector<Duration> handles;
    Status walked = each_row(st.value(), [&](Stmt& s) -> Status {
      TimePoint at = time_at(s.int64(6));
      if (at < from_ || at >= to_) {  // a clock that stepped back
        return {};
      }
      if (!s.is_null(15)) {
        ++from_handoffs;  // made by an agent's handoff, not an arrival
        return {};
      }
      ReplayCase rc;
      rc.recorded_id = CaseId(static_cast<std::uint64_t>(s.int64(0)));
      rc.at = at;
      auto ch = parse_channel(s.text(1));
      if (!ch) {
        return damaged("case channel");
      }
      rc.posted.channel = *ch;
      rc.posted.type = s.text(2);
      rc.posted.subject = s.text(3);
      rc.posted.customer.id = CustomerId(static_cast<std::uint64_t>(s.int64(4)));
      BATON_ASSIGN(rc.posted.attributes, parse_json_attributes(s.text(5)));
      std::string status = s.text(7);
      auto first_accepted = opt_time_at(s, 9);
      auto released = opt_time_at(s, 10);
      auto resolved = opt_time_at(s, 11);
      rc.recorded_queue = s.text(12);
      bool recorded = !s.is_null(14);  // schema 12 keeps what was posted
      if (recorded) {
        rc.posted.priority = static_cast<int>(s.int64(13));
        BATON_ASSIGN(rc.posted.required_skills, parse_json_levels(s.text(14)));
      } else {
        ++unposted;
      }
      rc.posted.actor = s.text(16);
      if (!s.is_null(17)) {
        rc.posted.body = s.text(17);
      }
      if (first_accepted && released) {
        rc.handle = *released - *first_accepted;
      } else if (first_accepted && resolved && !recorded) {
        rc.handle = *resolved - *first_accepted;
        ++estimated_handle;
      }
      if (rc.handle) {
        handles.push_back(*rc.handle);
      } else {
        unhandled.push_back(h_.cases.size());
      }
      if (status == "abandoned") {
        rc.abandoned_after = time_at(s.int64(8)) - at;
      }
      h_.cases.push_back(std::move(rc));
      return {};
    });
    BATON_RETURN_IF_ERROR(walked);
    h_.default_handle = median(handles);
    std::size_t guessed = 0;
    for (std::size_t i : unhandled) {
      // A case that left before anyone took it needs no handle time.
      guessed += h_.cases[i].abandoned_after ? 0 : 1;
    }
    if (unposted > 0) {
      h_.assumptions.push_back(fmt::format(
          "{} cases from before schema 12: priority and skills as the rules give them (what "
          "the gateway posted was not recorded)",
          unposted));
    }
    if (estimated_handle > 0) {
      h_.assumptions.push_back(
          fmt::format("{} cases from before schema 12: handle time taken as first acceptance "
                      "to resolution",
                      estimated_handle));
    }
    if (guessed > 0) {
      h_.assumptions.push_back(fmt::format(
          "{} cases never handled in history: handle time taken as the window's median, {}",
          guessed, seconds_text(h_.default_handle)));
    }
    if (from_handoffs > 0) {
      h_.assumptions.push_back(fmt::format(
          "{} cases made by handoffs are an agent's decision, not an arrival: not replayed",
          from_handoffs));
    }
    return {};
  }

  Status accept_delays() {
    auto first = first_id_at(db_, "offers", from_);
    if (!first) {
      return first.error();
    }
    auto end = first_id_at(db_, "offers", to_);
    if (!end) {
      return end.error();
    }
    auto st = prepare(db_,
                      "SELECT agent_id, created_at, decided_at FROM offers WHERE id >= ?1 AND "
                      "id < ?2 AND status = 'accepted' ORDER BY id");
    if (!st) {
      return st.error();
    }
    st->bind(1, first.value()).bind(2, end.value());
    std::vector<Duration> all;
    Status walked = each_row(st.value(), [&](Stmt& s) -> Status {
      TimePoint made = time_at(s.int64(1));
      if (made < from_ || made >= to_ || s.is_null(2)) {
        return {};
      }
      Duration d = time_at(s.int64(2)) - made;
      all.push_back(d);
      h_.accept_delays[AgentId(s.text(0))].push_back(d);
      return {};
    });
    BATON_RETURN_IF_ERROR(walked);
    h_.default_accept_delay = median(all);
    return {};
  }

  Db& db_;
  std::string ws_;
  TimePoint from_, to_;
  std::size_t max_cases_;
  std::int64_t first_case_ = 0, end_case_ = 0;  // the window's cases: [first, end)
  ReplayHistory h_;
};

Result<Db> open_current(const std::string& path) {
  auto db = Db::open(path, false, "NORMAL", 5000, /*read_only=*/true);
  if (!db) {
    return db.error();
  }
  BATON_RETURN_IF_ERROR(require_latest_schema(db.value()));
  return db;
}

}  // namespace

Result<ReplayHistory> load_replay_history(const std::string& path, const std::string& workspace,
                                          TimePoint from, TimePoint to, std::size_t max_cases) {
  auto opened = open_current(path);
  if (!opened) {
    return opened.error();
  }
  Db& db = opened.value();
  // One read transaction: every table as of one commit.
  BATON_RETURN_IF_ERROR(db.exec("BEGIN"));
  auto h = Reader(db, workspace, from, to, max_cases).read();
  BATON_RETURN_IF_ERROR(db.exec("COMMIT"));
  return h;
}

Result<std::optional<TimePoint>> last_arrival(const std::string& path,
                                              const std::string& workspace) {
  auto opened = open_current(path);
  if (!opened) {
    return opened.error();
  }
  Db& db = opened.value();
  auto st = prepare(db,
                    "SELECT created_at FROM cases WHERE workspace_id = ?1 ORDER BY id DESC "
                    "LIMIT 1");
  if (!st) {
    return st.error();
  }
  st->bind(1, workspace);
  auto row = st->step();
  if (!row) {
    return row.error();
  }
  if (!row.value()) {
    return std::optional<TimePoint>{};
  }
  TimePoint at = time_at(st->int64(0));
  st->reset();
  return std::optional<TimePoint>{at};
}

}  // namespace baton::storage
