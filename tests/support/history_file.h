#pragma once

// A contact center's history written straight into the real schema, fast (no engine, no
// journal): agents in three shifts with their presence as agent_changes, chats answered
// after a wait by an agent of their team who accepted after its own delay and held them
// for an exponential handle time, or abandoned. What replay_bench replays, and what the
// what-if tests need when a replay must take a while. The file must hold the schema
// already (made by the journal or a server), and no agents, customers or cases.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

namespace baton::testing::history_file {

inline constexpr std::int64_t kHourMs = 3'600'000;
inline constexpr std::int64_t kDayMs = 24 * kHourMs;
inline constexpr std::int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
inline constexpr int kDays = 28;
inline constexpr int kAgents = 600;  // 480 support, 120 billing, a third of each per shift

inline const char* kRules = R"(
[queues.support]
teams = ["support"]
sla = { answer_within = "30s" }
[queues.billing]
teams = ["billing"]
sla = { answer_within = "30s" }
[[rules]]
name = "billing"
when = 'type == "billing"'
queue = "billing"
)";

inline void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "history_file: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

inline void exec(sqlite3* db, const char* sql) {
  check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql);
}

inline sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  check(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), db, sql);
  return s;
}

inline void run(sqlite3* db, sqlite3_stmt* s) {
  check(sqlite3_step(s), db, "insert");
  sqlite3_reset(s);
}

inline std::string agent_name(int i) { return "a" + std::to_string(i); }
inline bool billing_agent(int i) { return i % 5 == 0; }
inline int shift_of(int i) { return (i / 5) % 3; }  // 0: 00–08, 1: 08–16, 2: 16–24

inline void generate(const std::string& path, std::int64_t cases) {
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA synchronous = OFF");
  exec(db, "PRAGMA cache_size = -262144");
  exec(db, "BEGIN");
  exec(db, "DELETE FROM routing_rules");
  {
    sqlite3_stmt* r = prepare(db,
                              "INSERT INTO routing_rules (workspace_id, version, source, "
                              "created_at) VALUES ('default', 1, ?1, ?2)");
    sqlite3_bind_text(r, 1, kRules, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 2, kStart);
    run(db, r);
    sqlite3_finalize(r);
  }
  sqlite3_stmt* agent = prepare(
      db,
      "INSERT INTO agents (workspace_id, id, name, role, teams, skills, languages, capacity, "
      "presence, presence_since, missed_offers, created_at, updated_at) VALUES ('default', ?1, "
      "?1, 'agent', ?2, '{}', '[]', '{\"chat\":1}', 'offline', ?3, 0, ?3, ?3)");
  sqlite3_stmt* change = prepare(db,
                                 "INSERT INTO agent_changes (workspace_id, agent_id, at, "
                                 "presence, capacity, teams, skills) VALUES ('default', ?1, ?2, "
                                 "?3, '{\"chat\":1}', ?4, '{}')");
  for (int i = 0; i < kAgents; ++i) {
    std::string name = agent_name(i);
    const char* teams = billing_agent(i) ? "[\"billing\"]" : "[\"support\"]";
    sqlite3_bind_text(agent, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(agent, 2, teams, -1, SQLITE_STATIC);
    sqlite3_bind_int64(agent, 3, kStart - kDayMs);
    run(db, agent);
  }
  // Presence, in time order: each shift signs in, takes a half-hour break, signs out.
  struct Change {
    std::int64_t at;
    int agent;
    const char* presence;
  };
  std::vector<Change> changes;
  for (int d = 0; d < kDays; ++d) {
    for (int i = 0; i < kAgents; ++i) {
      std::int64_t start = kStart + d * kDayMs + shift_of(i) * 8 * kHourMs + (i % 7) * 60'000;
      std::int64_t pause = start + 4 * kHourMs + (i % 11) * 120'000;
      changes.push_back({start, i, "available"});
      changes.push_back({pause, i, "away"});
      changes.push_back({pause + kHourMs / 2, i, "available"});
      changes.push_back({start + 8 * kHourMs, i, "offline"});
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.at < b.at; });
  for (const auto& c : changes) {
    std::string name = agent_name(c.agent);
    sqlite3_bind_text(change, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(change, 2, c.at);
    sqlite3_bind_text(change, 3, c.presence, -1, SQLITE_STATIC);
    sqlite3_bind_text(change, 4, billing_agent(c.agent) ? "[\"billing\"]" : "[\"support\"]", -1,
                      SQLITE_STATIC);
    run(db, change);
  }
  sqlite3_stmt* cust =
      prepare(db,
              "INSERT INTO customers (workspace_id, id, name, account_id, "
              "last_agent, created_at) VALUES ('default', ?1, 'c', NULL, NULL, ?2)");
  // One customer for every five cases (at least 100): 200,000 for a million.
  const int customers = static_cast<int>(std::max<std::int64_t>(100, cases / 5));
  for (int c = 1; c <= customers; ++c) {
    sqlite3_bind_int64(cust, 1, c);
    sqlite3_bind_int64(cust, 2, kStart - kDayMs);
    run(db, cust);
  }
  sqlite3_stmt* kase = prepare(
      db,
      "INSERT INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
      "customer_id, account_id, assignee, offer_id, required_skills, tags, suggested_handoffs, "
      "attributes, external_ref, from_handoff, first_response_due, resolution_due, "
      "first_response_at, resolved_at, created_at, updated_at, queued_at, arrival, "
      "created_by, first_accepted_at, accepted_at, first_released_at, posted_priority, "
      "posted_skills) VALUES ('default', ?1, 'chat', ?2, 'need help', ?3, 3, ?4, ?5, NULL, ?6, "
      "NULL, '{}', '[]', '[]', '{}', '', NULL, NULL, NULL, ?7, ?8, ?9, ?10, ?9, ?1, 'gateway', "
      "?7, ?7, ?8, 0, '{}')");
  sqlite3_stmt* offer = prepare(db,
                                "INSERT INTO offers (workspace_id, id, case_id, agent_id, status, "
                                "created_at, expires_at, decided_at, reason) VALUES ('default', "
                                "?1, ?1, ?2, 'accepted', ?3, ?4, ?5, '')");
  sqlite3_stmt* ev =
      prepare(db,
              "INSERT INTO case_events (workspace_id, id, case_id, customer_id, type, at, actor, "
              "data) VALUES ('default', ?1, ?2, ?3, ?4, ?5, 'gateway', ?6)");
  std::vector<int> on_shift[3][2];  // [shift][billing]
  for (int i = 0; i < kAgents; ++i) {
    on_shift[shift_of(i)][billing_agent(i) ? 1 : 0].push_back(i);
  }
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> handle(1.0 / 360'000.0);
  std::uniform_int_distribution<std::int64_t> wait(0, 45'000), delay(2'000, 12'000);
  const double gap = static_cast<double>(kDays * kDayMs) / static_cast<double>(cases);
  std::int64_t event_id = 1;
  for (std::int64_t i = 1; i <= cases; ++i) {
    std::int64_t created = kStart + static_cast<std::int64_t>(static_cast<double>(i - 1) * gap);
    bool billing = rng() % 5 == 0;
    bool abandoned = rng() % 33 == 0;
    std::int64_t customer = 1 + static_cast<std::int64_t>(rng() % customers);
    int hour_shift = static_cast<int>(((created - kStart) % kDayMs) / (8 * kHourMs));
    // An agent of the case's team on the shift at that hour.
    const auto& team = on_shift[hour_shift][billing ? 1 : 0];
    std::string name = agent_name(team[rng() % team.size()]);
    std::int64_t accepted = created + wait(rng);
    std::int64_t released = accepted + 1 + static_cast<std::int64_t>(handle(rng));
    sqlite3_bind_int64(kase, 1, i);
    sqlite3_bind_text(kase, 2, billing ? "billing" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_text(kase, 3, abandoned ? "abandoned" : "closed", -1, SQLITE_STATIC);
    sqlite3_bind_text(kase, 4, billing ? "billing" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_int64(kase, 5, customer);
    sqlite3_bind_int64(kase, 9, created);
    if (abandoned) {
      sqlite3_bind_null(kase, 6);
      sqlite3_bind_null(kase, 7);
      sqlite3_bind_null(kase, 8);
      sqlite3_bind_int64(kase, 10, created + 5'000 + static_cast<std::int64_t>(rng() % 60'000));
    } else {
      sqlite3_bind_text(kase, 6, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(kase, 7, accepted);
      sqlite3_bind_int64(kase, 8, released);
      sqlite3_bind_int64(kase, 10, released);
      std::int64_t offered = std::max(created, accepted - delay(rng));
      sqlite3_bind_int64(offer, 1, i);
      sqlite3_bind_text(offer, 2, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(offer, 3, offered);
      sqlite3_bind_int64(offer, 4, offered + 30'000);
      sqlite3_bind_int64(offer, 5, accepted);
      run(db, offer);
    }
    run(db, kase);
    for (auto [type, data] : {std::pair{"created", R"({"channel":"chat"})"},
                              {"message_in", R"({"body":"my order has not arrived"})"}}) {
      sqlite3_bind_int64(ev, 1, event_id++);
      sqlite3_bind_int64(ev, 2, i);
      sqlite3_bind_int64(ev, 3, customer);
      sqlite3_bind_text(ev, 4, type, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ev, 5, created);
      sqlite3_bind_text(ev, 6, data, -1, SQLITE_STATIC);
      run(db, ev);
    }
    if (i % 200'000 == 0) {
      exec(db, "COMMIT");
      exec(db, "BEGIN");
      std::fprintf(stderr, "history_file: generated %lld cases\n", static_cast<long long>(i));
    }
  }
  exec(db, "COMMIT");
  exec(db, "ANALYZE");
  for (auto* s : {agent, change, cust, kase, offer, ev}) {
    sqlite3_finalize(s);
  }
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

}  // namespace baton::testing::history_file
