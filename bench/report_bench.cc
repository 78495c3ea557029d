// report_bench: report and timeline latency on a large history.
//
// Generates (once, kept under --dir) a workspace of N cases with ten events each over a
// number of days, written straight into the real schema, then times through History (the
// read model the API uses):
//   - the summary of one day (GET /v1/reports/summary for a day), over several days;
//   - the first page (50) of a customer's timeline, over many customers;
// beside the ceiling on the same file in the same run: the bare index scan of that day's
// events (count(*) over case_events_at), what any per-day report must at least read.
// Prints JSON. Goals (issue #7): a day's summary ≤ 200 ms, a timeline page ≤ 5 ms, on
// 1,000,000 cases and 10,000,000 events.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "baton/storage/history.h"
#include "baton/storage/journal.h"

#include "history_file.h"

using namespace baton;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::int64_t cases = 1'000'000;
  int days = 100;
  int customers = 100'000;
  int agents = 200;
  std::string dir = "bench-data";
  int day_reports = 10;
  int timelines = 2000;
};

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// The SQLite helpers of the generated histories.
using baton::testing::history_file::check;
using baton::testing::history_file::exec;
using baton::testing::history_file::prepare;
using baton::testing::history_file::run;

// Cases spread evenly over the days, each with the ten events of a routed, answered,
// resolved and rated chat; one in a hundred hands off to sales.
void generate(const std::string& path, const Options& o) {
  {
    storage::JournalOptions jo;
    jo.path = path;
    auto j = storage::SqliteJournal::open(jo);  // the real schema, migrated
    if (!j) {
      std::fprintf(stderr, "report_bench: %s\n", j.error().message.c_str());
      std::exit(1);
    }
  }
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA synchronous = OFF");
  exec(db, "PRAGMA cache_size = -262144");
  sqlite3_stmt* cust =
      prepare(db,
              "INSERT INTO customers (workspace_id, id, name, account_id, last_agent, created_at) "
              "VALUES ('default', ?1, 'customer', ?2, NULL, ?3)");
  sqlite3_stmt* kase = prepare(
      db,
      "INSERT INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
      "customer_id, account_id, assignee, offer_id, required_skills, tags, suggested_handoffs, "
      "attributes, external_ref, from_handoff, first_response_due, resolution_due, "
      "first_response_at, resolved_at, created_at, updated_at, queued_at, arrival, "
      "first_accepted_at, accepted_at) VALUES "
      "('default', ?1, 'chat', ?2, 'subject', 'resolved', 3, ?3, ?4, ?5, ?6, NULL, '{}', '[]', "
      "'[]', '{}', '', NULL, NULL, NULL, ?7, ?8, ?9, ?8, ?9, ?1, ?10, ?10)");
  sqlite3_stmt* ev =
      prepare(db,
              "INSERT INTO case_events (workspace_id, id, case_id, customer_id, type, at, actor, "
              "data) VALUES ('default', ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  sqlite3_stmt* hof =
      prepare(db,
              "INSERT INTO handoffs (workspace_id, id, from_case, to_case, from_agent, target, "
              "to_agent, reason, note, status, outcome, created_at, accepted_at, completed_at) "
              "VALUES ('default', ?1, ?2, ?2, ?3, 'sales_owner', 'sales1', 'upsell', '', "
              "'completed', ?4, ?5, ?6, ?7)");
  std::mt19937_64 rng(7);
  exec(db, "BEGIN");
  for (int c = 1; c <= o.customers; ++c) {
    sqlite3_bind_int64(cust, 1, c);
    if (c % 10 == 0) {
      sqlite3_bind_int64(cust, 2, c / 10);
    } else {
      sqlite3_bind_null(cust, 2);
    }
    sqlite3_bind_int64(cust, 3, kStart);
    run(db, cust);
  }
  std::int64_t event_id = 1, handoff_id = 1;
  const std::int64_t per_day = o.cases / o.days;
  for (std::int64_t i = 1; i <= o.cases; ++i) {
    std::int64_t day = (i - 1) / per_day;
    std::int64_t created =
        kStart + day * kDayMs + static_cast<std::int64_t>((i - 1) % per_day) * kDayMs / per_day;
    std::int64_t customer =
        1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(o.customers));
    std::string agent = "agent" + std::to_string(rng() % static_cast<std::uint64_t>(o.agents));
    std::int64_t wait = static_cast<std::int64_t>(rng() % 60'000);
    std::int64_t accepted = created + wait;
    std::int64_t replied = accepted + 30'000 + static_cast<std::int64_t>(rng() % 120'000);
    std::int64_t resolved = replied + 60'000 + static_cast<std::int64_t>(rng() % 600'000);
    bool lead = i % 100 == 0;
    sqlite3_bind_int64(kase, 1, i);
    sqlite3_bind_text(kase, 2, lead ? "lead" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_text(kase, 3, lead ? "sales" : "support", -1, SQLITE_STATIC);
    sqlite3_bind_int64(kase, 4, customer);
    if (customer % 10 == 0) {
      sqlite3_bind_int64(kase, 5, customer / 10);
    } else {
      sqlite3_bind_null(kase, 5);
    }
    sqlite3_bind_text(kase, 6, agent.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(kase, 7, replied);
    sqlite3_bind_int64(kase, 8, resolved);
    sqlite3_bind_int64(kase, 9, created);
    sqlite3_bind_int64(kase, 10, accepted);
    run(db, kase);
    struct E {
      const char* type;
      std::int64_t at;
      const char* actor;
      std::string data;
    };
    std::string score = std::to_string(1 + rng() % 5);
    E events[] = {
        {"created", created, "gateway", R"({"channel":"chat","queue":"support"})"},
        {"message_in", created, "gateway", R"({"body":"hello, I need help with my order"})"},
        {"routed", created, "system", R"({"queue":"support","why":"longest idle"})"},
        {"offered", accepted - 2'000 > created ? accepted - 2'000 : created, "system",
         R"({"agent":")" + agent + R"("})"},
        {"accepted", accepted, agent.c_str(), R"({"offer_id":1})"},
        {"assigned", accepted, agent.c_str(), R"({"agent":")" + agent + R"("})"},
        {"message_out", replied, agent.c_str(), R"({"body":"happy to help"})"},
        {"status_changed", resolved, agent.c_str(), R"({"from":"assigned","to":"resolved"})"},
        {"note", resolved, agent.c_str(), R"({"body":"done"})"},
        {"csat", resolved + 60'000, "gateway", R"({"score":)" + score + "}"},
    };
    for (const auto& e : events) {
      sqlite3_bind_int64(ev, 1, event_id++);
      sqlite3_bind_int64(ev, 2, i);
      sqlite3_bind_int64(ev, 3, customer);
      sqlite3_bind_text(ev, 4, e.type, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ev, 5, e.at);
      sqlite3_bind_text(ev, 6, e.actor, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ev, 7, e.data.c_str(), -1, SQLITE_TRANSIENT);
      run(db, ev);
    }
    if (lead) {
      sqlite3_bind_int64(hof, 1, handoff_id++);
      sqlite3_bind_int64(hof, 2, i);
      sqlite3_bind_text(hof, 3, agent.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(hof, 4, rng() % 3 == 0 ? "won" : "lost", -1, SQLITE_STATIC);
      sqlite3_bind_int64(hof, 5, created);
      sqlite3_bind_int64(hof, 6, accepted);
      sqlite3_bind_int64(hof, 7, resolved);
      run(db, hof);
    }
    if (i % 100'000 == 0) {
      exec(db, "COMMIT");
      exec(db, "BEGIN");
      std::fprintf(stderr, "report_bench: generated %lld cases\n", static_cast<long long>(i));
    }
  }
  exec(db, "COMMIT");
  exec(db, "ANALYZE");
  for (auto* s : {cust, kase, ev, hof}) {
    sqlite3_finalize(s);
  }
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      o.cases = 20'000;
      o.days = 10;
      o.customers = 2'000;
      o.day_reports = 3;
      o.timelines = 200;
    } else if (a == "--dir" && i + 1 < argc) {
      o.dir = argv[++i];
    } else if (a == "--cases" && i + 1 < argc) {
      o.cases = std::stoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: report_bench [--quick] [--dir DIR] [--cases N]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(o.dir);
  // The file's name carries the schema it was generated at: a newer schema makes a new one.
  std::string path = o.dir + "/report-" + std::to_string(o.cases) + "-v" +
                     std::to_string(storage::latest_schema_version()) + ".db";
  double generate_s = 0;
  if (!std::filesystem::exists(path)) {
    auto t0 = Clock::now();
    generate(path, o);
    generate_s = ms_since(t0) / 1000.0;
  }
  auto history = storage::History::open(path, "default", 2);
  if (!history) {
    std::fprintf(stderr, "report_bench: %s\n", history.error().message.c_str());
    return 1;
  }
  auto& h = *history.value();

  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto count = [&](const char* sql) {
    sqlite3_stmt* s = prepare(db, sql);
    sqlite3_step(s);
    auto n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  std::int64_t cases = count("SELECT count(*) FROM cases");
  std::int64_t events = count("SELECT max(id) FROM case_events");

  std::vector<double> summary_ms, scan_ms;
  std::size_t day_events = 0, day_answered = 0;
  sqlite3_stmt* scan = prepare(db, "SELECT count(*) FROM case_events WHERE at >= ?1 AND at < ?2");
  for (int r = 0; r < o.day_reports; ++r) {
    int day = 1 + r * std::max(1, (o.days - 2) / o.day_reports);
    engine::ReportRequest req;
    req.from = TimePoint{Duration{kStart + day * kDayMs}};
    req.to = req.from + Duration{kDayMs};
    req.sla["support"].answer_within = Duration{20'000};
    req.sla["sales"].answer_within = Duration{60'000};
    auto t0 = Clock::now();
    sqlite3_bind_int64(scan, 1, kStart + day * kDayMs);
    sqlite3_bind_int64(scan, 2, kStart + (day + 1) * kDayMs);
    sqlite3_step(scan);
    day_events = static_cast<std::size_t>(sqlite3_column_int64(scan, 0));
    sqlite3_reset(scan);
    scan_ms.push_back(ms_since(t0));
    t0 = Clock::now();
    auto s = h.summary(req);
    summary_ms.push_back(ms_since(t0));
    if (!s) {
      std::fprintf(stderr, "report_bench: %s\n", s.error().message.c_str());
      return 1;
    }
    day_answered = 0;
    for (const auto& q : s->queues) {
      day_answered += q.answered;
    }
  }
  sqlite3_finalize(scan);
  sqlite3_close(db);

  std::vector<double> timeline_ms;
  std::mt19937_64 rng(11);
  std::size_t items = 0;
  for (int r = 0; r < o.timelines; ++r) {
    engine::CustomerId id(1 + rng() % static_cast<std::uint64_t>(o.customers));
    auto t0 = Clock::now();
    auto page = h.customer_timeline(id, "", 50);
    timeline_ms.push_back(ms_since(t0));
    if (!page) {
      std::fprintf(stderr, "report_bench: %s\n", page.error().message.c_str());
      return 1;
    }
    items += page->items.size();
  }
  std::printf(
      "{\"bench\":\"report\",\"cases\":%lld,\"events\":%lld,\"days\":%d,\"generate_s\":%.1f,"
      "\"day_summary\":{\"runs\":%zu,\"events_in_day\":%zu,\"answered_in_day\":%zu,"
      "\"p50_ms\":%.1f,\"max_ms\":%.1f,\"goal_ms\":200},"
      "\"ceiling_day_index_scan\":{\"p50_ms\":%.2f,\"max_ms\":%.2f},"
      "\"timeline_page\":{\"runs\":%zu,\"limit\":50,\"mean_items\":%.1f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"goal_ms\":5}}\n",
      static_cast<long long>(cases), static_cast<long long>(events), o.days, generate_s,
      summary_ms.size(), day_events, day_answered, pct(summary_ms, 0.5), pct(summary_ms, 1.0),
      pct(scan_ms, 0.5), pct(scan_ms, 1.0), timeline_ms.size(),
      static_cast<double>(items) / static_cast<double>(timeline_ms.size()), pct(timeline_ms, 0.5),
      pct(timeline_ms, 0.99), pct(timeline_ms, 1.0));
  return 0;
}
