#include "baton/storage/journal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "engine_fixture.h"
#include "sqlite_peek.h"
#include "temp_dir.h"
#include "wal_writes.h"

using namespace baton;
using namespace baton::engine;
using baton::storage::JournalOptions;
using baton::storage::SqliteJournal;
using baton::testing::Peek;

namespace {

Mutation one_event(std::uint64_t id) {
  Mutation m;
  CaseEvent e;
  e.id = EventId(id);
  e.case_id = CaseId(1);
  e.type = EventType::Note;
  e.actor = "test";
  e.data = {{"body", std::string("note ") + std::to_string(id)}, {"n", static_cast<double>(id)}};
  m.events.push_back(e);
  return m;
}

// A mutation that writes case `id` as it stands, with one event (ids from 1'000'000 on).
Mutation case_row(std::uint64_t id, std::uint64_t customer, CaseStatus status,
                  const std::string& subject) {
  static std::uint64_t next_event = 1'000'000;
  Mutation m;
  Case c;
  c.id = CaseId(id);
  c.customer = CustomerId(customer);
  c.status = status;
  c.subject = subject;
  c.queue = "general";
  c.tags = {"t" + std::to_string(id)};
  m.cases.push_back(c);
  CaseEvent e;
  e.id = EventId(next_event++);
  e.case_id = c.id;
  e.customer = c.customer;
  e.type = EventType::Created;
  e.actor = "test";
  m.events.push_back(e);
  return m;
}

}  // namespace

TEST_CASE("migrations bring an empty database to the latest schema", "[storage][schema]") {
  baton::testing::TempDir t;
  auto v = storage::migrate_file(t.db());
  REQUIRE(v.has_value());
  CHECK(v.value() == storage::latest_schema_version());
  Peek p(t.db());
  CHECK(p.count("PRAGMA user_version") == storage::latest_schema_version());
  for (const char* table : {"workspaces", "agents", "accounts", "customers", "identities", "cases",
                            "offers", "handoffs", "case_events", "routing_rules", "tokens",
                            "idempotency_keys", "webhook_outbox"}) {
    INFO(table);
    CHECK(p.count(std::string("SELECT count(*) FROM sqlite_master WHERE name='") + table + "'") ==
          1);
  }
  // Running them again changes nothing.
  CHECK(storage::migrate_file(t.db()).value() == storage::latest_schema_version());
}

TEST_CASE("a database at every earlier schema version upgrades and keeps its rows",
          "[storage][schema]") {
  for (int from = 1; from < storage::latest_schema_version(); ++from) {
    INFO("from version " << from);
    baton::testing::TempDir t;
    REQUIRE(storage::migrate_file(t.db(), from).value() == from);
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(t.db().c_str(), &db) == SQLITE_OK);
      const char* row =
          "INSERT INTO cases (workspace_id, id, channel, type, subject, status, priority, queue, "
          "customer_id, required_skills, tags, suggested_handoffs, attributes, external_ref, "
          "created_at, updated_at, queued_at, arrival) VALUES ('default', 7, 'chat', 'support', "
          "'old', 'queued', 3, 'support', 1, '{}', '[]', '[]', '{}', '', 1, 1, 1, 1)";
      REQUIRE(sqlite3_exec(db, row, nullptr, nullptr, nullptr) == SQLITE_OK);
      sqlite3_close(db);
    }
    REQUIRE(storage::migrate_file(t.db()).value() == storage::latest_schema_version());
    Peek p(t.db());
    CHECK(p.count("SELECT count(*) FROM cases WHERE id = 7 AND subject = 'old'") == 1);
    // Columns added later have their defaults on old rows.
    CHECK(p.count("SELECT count(*) FROM cases WHERE id = 7 AND created_by = ''") == 1);
  }
}

TEST_CASE("a database newer than the binary is refused and left alone", "[storage][schema]") {
  baton::testing::TempDir t;
  REQUIRE(storage::migrate_file(t.db()).has_value());
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(t.db().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto v = storage::migrate_file(t.db());
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().code == ErrorCode::FailedPrecondition);
  CHECK_THAT(v.error().message, Catch::Contains("newer than this baton"));
  CHECK(Peek(t.db()).count("PRAGMA user_version") == 99);
  JournalOptions o;
  o.path = t.db();
  CHECK_FALSE(SqliteJournal::open(o).has_value());
}

TEST_CASE("the API's queries use indexes, not full scans", "[storage][schema]") {
  baton::testing::TempDir t;
  REQUIRE(storage::migrate_file(t.db()).has_value());
  Peek p(t.db());
  const char* queries[] = {
      "SELECT * FROM case_events WHERE workspace_id = 'w' AND case_id = 9 AND id > 0 ORDER BY id "
      "LIMIT 50",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND status = 'queued' AND id > 0 ORDER BY id "
      "LIMIT 50",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND queue = 'support' AND status = 'queued' "
      "ORDER BY id LIMIT 50",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND assignee = 'ana' AND status = 'assigned' "
      "ORDER BY id LIMIT 50",
      "SELECT * FROM offers WHERE workspace_id = 'w' AND agent_id = 'ana' AND status = 'pending'",
      "SELECT * FROM handoffs WHERE workspace_id = 'w' AND reason = 'upsell' AND outcome = 'won'",
      "SELECT * FROM handoffs WHERE workspace_id = 'w' AND from_agent = 'ana' ORDER BY id",
      "SELECT * FROM handoffs WHERE workspace_id = 'w' AND to_agent = 'sam' ORDER BY id",
      "SELECT customer_id FROM identities WHERE workspace_id = 'w' AND channel = 'email' AND "
      "address = 'a@b.c'",
      "SELECT * FROM case_events WHERE workspace_id = 'w' AND at BETWEEN 0 AND 100",
      // the lists of the API, newest first, as the read pool pages them
      "SELECT * FROM cases WHERE workspace_id = 'w' AND status = 'queued' AND id < 90 ORDER BY "
      "id DESC LIMIT 51",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND assignee = 'ana' AND status = 'assigned' "
      "ORDER BY id DESC LIMIT 51",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND customer_id = 3 ORDER BY id DESC LIMIT 51",
      "SELECT * FROM cases WHERE workspace_id = 'w' AND created_by = 'gateway:t1' AND id < 9 "
      "ORDER BY id DESC LIMIT 51",
      "SELECT * FROM offers WHERE workspace_id = 'w' AND agent_id = 'ana' AND status = 'pending' "
      "ORDER BY id DESC LIMIT 51",
      "SELECT * FROM offers WHERE workspace_id = 'w' AND status = 'pending' ORDER BY id DESC "
      "LIMIT 51",
      "SELECT * FROM handoffs WHERE workspace_id = 'w' AND status = 'open' ORDER BY id DESC "
      "LIMIT 51",
      "SELECT * FROM idempotency_keys WHERE +workspace_id = 'w' AND created_at >= 5",
      "DELETE FROM idempotency_keys WHERE +workspace_id = 'w' AND created_at < 5",
      "SELECT * FROM tokens WHERE hash = 'ab'",
  };
  for (const char* q : queries) {
    for (const auto& line : p.plan(q)) {
      INFO(q << "\n  plan: " << line);
      bool full_scan = line.rfind("SCAN ", 0) == 0 && line.find("USING") == std::string::npos;
      // An index used on workspace_id alone walks the whole workspace: a scan in disguise.
      bool workspace_walk = line.find("(workspace_id=?)") != std::string::npos;
      bool sorts = line.find("USE TEMP B-TREE") != std::string::npos;
      CHECK_FALSE(full_scan);
      CHECK_FALSE(workspace_walk);
      CHECK_FALSE(sorts);
    }
  }
  // The assignee index holds only cases with an agent (a new case writes no entry there),
  // and an agent's lists still read through it.
  CHECK(p.text("SELECT sql FROM sqlite_schema WHERE name = 'cases_assignee'")
            .find("WHERE assignee IS NOT NULL") != std::string::npos);
  auto mine = p.plan(
      "SELECT * FROM cases WHERE workspace_id = 'w' AND assignee = 'ana' AND status = 'assigned' "
      "ORDER BY id DESC LIMIT 51");
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].find("USING INDEX cases_assignee") != std::string::npos);
  // A customer timeline page walks the customer's index from the cursor: no sort.
  auto timeline = p.plan(
      "SELECT * FROM case_events WHERE workspace_id = 'w' AND customer_id = 7 AND (at, id) < "
      "(100, 5) ORDER BY at DESC, id DESC LIMIT 50");
  REQUIRE_FALSE(timeline.empty());
  for (const auto& line : timeline) {
    INFO(line);
    CHECK(line.find("TEMP B-TREE") == std::string::npos);
  }
  CHECK(timeline[0].find("USING INDEX case_events_customer") != std::string::npos);
  // The check itself catches what it must.
  auto bad = p.plan("SELECT * FROM cases WHERE subject = 'x'");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].rfind("SCAN cases", 0) == 0);
}

TEST_CASE("after flush the journal holds nothing of its callers", "[storage][journal][regress]") {
  // A completion may hold the last reference to its caller's objects (an HTTP session);
  // were they freed on the journal's thread after flush(), they could outlive their owner.
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o).value();
  auto held = std::make_shared<int>(7);
  for (std::uint64_t i = 1; i <= 50; ++i) {
    j->append(one_event(i), [held](Status st) { CHECK(st.has_value()); });
  }
  REQUIRE(j->flush().has_value());
  CHECK(held.use_count() == 1);
}

TEST_CASE("the journal commits many commands in one transaction", "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o);
  REQUIRE(j.has_value());
  constexpr int kProducers = 4;
  constexpr int kEach = 500;
  std::atomic<int> ok{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        (*j)->append(one_event(static_cast<std::uint64_t>(p * kEach + i + 1)), [&](Status st) {
          if (st.has_value()) {
            ++ok;
          }
        });
      }
    });
  }
  for (auto& th : producers) {
    th.join();
  }
  REQUIRE((*j)->flush().has_value());
  CHECK(ok == kProducers * kEach);
  auto stats = (*j)->stats();
  CHECK(stats.mutations == kProducers * kEach);
  CHECK(stats.commits < stats.mutations);  // batched: fewer fsyncs than commands
  CHECK(stats.largest_batch > 1);
  Peek p(t.db());
  CHECK(p.count("SELECT count(*) FROM case_events") == kProducers * kEach);
  CHECK(p.text("SELECT json_extract(data, '$.body') FROM case_events WHERE id = 7") == "note 7");
}

TEST_CASE("completions run in commit order, apart from the writer, and may append again",
          "[storage][journal]") {
  // The writer hands each committed batch to the completion thread and goes on with the
  // next: answers and pushes must still leave in the order the commands were appended.
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  o.max_batch = 64;  // many batches, so completions of one overlap the next one's write
  auto j = SqliteJournal::open(o).value();
  constexpr std::uint64_t kCount = 3000;
  std::mutex mu;
  std::vector<std::uint64_t> order;
  std::set<std::thread::id> threads;
  std::atomic<int> again{0};
  for (std::uint64_t id = 1; id <= kCount; ++id) {
    j->append(one_event(id), [&, id](Status st) {
      REQUIRE(st.has_value());
      {
        std::lock_guard lock(mu);
        order.push_back(id);
        threads.insert(std::this_thread::get_id());
      }
      if (id % 1000 == 0) {  // a completion that appends (a re-route after a commit)
        j->append(one_event(kCount + id), [&](Status s2) {
          if (s2.has_value()) {
            ++again;
          }
        });
      }
    });
  }
  REQUIRE(j->flush().has_value());
  REQUIRE(j->flush().has_value());  // the appends made by completions
  std::lock_guard lock(mu);
  REQUIRE(order.size() == kCount);
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(threads.size() == 1);
  CHECK(threads.count(std::this_thread::get_id()) == 0);
  CHECK(again == 3);
  CHECK(j->stats().commits > kCount / 64);
  CHECK(Peek(t.db()).count("SELECT count(*) FROM case_events") == kCount + 3);
}

TEST_CASE("a journal that stops commits what its completions append", "[storage][journal]") {
  // Completions run apart from the writer; the writer must not stop while some are still
  // to run, or what they append (a re-route after a commit) would be dropped unanswered.
  baton::testing::TempDir t;
  constexpr std::uint64_t kCount = 400;
  std::atomic<std::uint64_t> answered{0};
  {
    JournalOptions o;
    o.path = t.db();
    o.max_batch = 16;
    auto j = SqliteJournal::open(o).value();
    SqliteJournal* raw = j.get();
    for (std::uint64_t id = 1; id <= kCount; ++id) {
      j->append(one_event(id), [&, raw, id](Status st) {
        REQUIRE(st.has_value());
        // A slow completion (a push to many streams): the writer runs out of work first.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        raw->append(one_event(kCount + id), [&](Status again) {
          if (again.has_value()) {
            ++answered;
          }
        });
      });
    }
    // No flush: the journal is destroyed with batches queued and completions pending.
  }
  CHECK(answered == kCount);
  CHECK(Peek(t.db()).count("SELECT count(*) FROM case_events") == 2 * kCount);
}

TEST_CASE("text is stored exactly as the mutation holds it", "[storage][journal]") {
  // Rows bind the mutation's text in place and JSON columns from reused buffers: a later
  // row must never see an earlier row's bytes.
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o).value();
  const std::string tricky = "quote \" and back\\slash\nnew line\t\x01 한글 <b>";
  for (std::uint64_t id = 1; id <= 70; ++id) {  // two full 32-row statements and the rest
    Mutation m = one_event(id);
    m.events[0].data = {{"body", id == 40 ? tricky : std::string(id, 'x')},
                        {"n", static_cast<double>(id) + 0.5},
                        {"flag", id % 2 == 0},
                        {"none", std::monostate{}}};
    j->append(std::move(m), [](Status st) { REQUIRE(st.has_value()); });
  }
  REQUIRE(j->flush().has_value());
  Peek p(t.db());
  CHECK(p.text("SELECT json_extract(data, '$.body') FROM case_events WHERE id = 40") == tricky);
  CHECK(p.text("SELECT json_extract(data, '$.body') FROM case_events WHERE id = 39") ==
        std::string(39, 'x'));
  CHECK(p.text("SELECT data FROM case_events WHERE id = 3") ==
        R"({"body":"xxx","n":3.5,"flag":false,"none":null})");
  CHECK(p.count("SELECT count(*) FROM case_events WHERE json_valid(data)") == 70);
}

TEST_CASE("a batch's new cases go in many to a statement, changed ones in order after",
          "[storage][journal]") {
  // New cases (ids past the largest the table holds) are inserted many rows to a statement
  // without a statement journal; a case changed later in the same batch, or already in the
  // table, is updated in place, so it ends as the last mutation has it.
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  constexpr std::uint64_t kFirst = 3000;
  auto spread = [](std::uint64_t id) { return id * 7919 % 2999 + 1; };  // customers all over
  auto ok = [](Status st) {
    INFO((st.has_value() ? std::string() : st.error().message));
    REQUIRE(st.has_value());
  };
  auto journals_before = baton::storage::wal_write_stats().statement_journal_files;
  {
    auto j = SqliteJournal::open(o).value();
    for (std::uint64_t id = 1; id <= kFirst; ++id) {
      j->append(case_row(id, spread(id), CaseStatus::Queued, "first " + std::to_string(id)), ok);
    }
    REQUIRE(j->flush().has_value());
    // The next batch is held behind another writer, so that it is one large transaction.
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(t.db().c_str(), &other) == SQLITE_OK);
    baton::testing::exec_sql(other, "BEGIN IMMEDIATE");
    j->append(one_event(100'000), ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the writer waits on it
    for (std::uint64_t id = kFirst + 1; id <= kFirst + 100; ++id) {
      j->append(case_row(id, spread(id), CaseStatus::Queued, "new " + std::to_string(id)), ok);
      if (id % 10 == 0) {  // changed in the batch that creates it, and an older one
        j->append(case_row(id, spread(id), CaseStatus::Assigned, "changed " + std::to_string(id)),
                  ok);
        j->append(case_row(id / 10, 1, CaseStatus::Resolved, "old"), ok);
      }
    }
    baton::testing::exec_sql(other, "COMMIT");
    sqlite3_close(other);
    REQUIRE(j->flush().has_value());
    CHECK(j->stats().largest_batch >= 64);  // of the 120: many rows to a statement
  }
  CHECK(baton::storage::wal_write_stats().statement_journal_files == journals_before);
  {
    Peek p(t.db());
    CHECK(p.count("SELECT count(*) FROM cases") == kFirst + 100);
    CHECK(p.count("SELECT count(*) FROM cases WHERE status = 'assigned'") == 10);
    CHECK(p.text("SELECT subject FROM cases WHERE id = 3050") == "changed 3050");
    CHECK(p.text("SELECT subject FROM cases WHERE id = 3051") == "new 3051");
    CHECK(p.text("SELECT tags FROM cases WHERE id = 3051") == R"(["t3051"])");
    CHECK(p.text("SELECT subject FROM cases WHERE id = 305") == "old");
    CHECK(p.count("SELECT count(*) FROM cases WHERE customer_id = 1 AND status = 'resolved'") ==
          10);
  }
  // A journal opened on the file goes on from the cases it holds.
  {
    auto j = SqliteJournal::open(o).value();
    j->append(case_row(5, 9, CaseStatus::Closed, "reopened journal"), ok);
    j->append(case_row(kFirst + 101, 9, CaseStatus::Queued, "next"), ok);
    REQUIRE(j->flush().has_value());
  }
  Peek p(t.db());
  CHECK(p.text("SELECT subject || ' ' || status FROM cases WHERE id = 5") ==
        "reopened journal closed");
  CHECK(p.text("SELECT subject FROM cases WHERE id = 3101") == "next");
  CHECK(p.count("SELECT count(*) FROM cases") == kFirst + 101);
}

TEST_CASE("a failed commit fails its commands and every later one", "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o).value();
  j->append(one_event(1), [](Status st) { REQUIRE(st.has_value()); });
  REQUIRE(j->flush().has_value());
  j->fail_next_commit_for_test();
  std::vector<bool> results;
  std::mutex mu;
  for (std::uint64_t id = 2; id <= 4; ++id) {
    j->append(one_event(id), [&](Status st) {
      std::lock_guard lock(mu);
      results.push_back(st.has_value());
    });
  }
  CHECK_FALSE(j->flush().has_value());
  j->append(one_event(5), [&](Status st) {
    std::lock_guard lock(mu);
    results.push_back(st.has_value());
  });
  CHECK_FALSE(j->flush().has_value());
  CHECK(results == std::vector<bool>{false, false, false, false});
  CHECK_FALSE(j->health().has_value());
  // Nothing of the failed batch or after it reached the disk.
  CHECK(Peek(t.db()).count("SELECT count(*) FROM case_events") == 1);
}

TEST_CASE("the engine's commands land in SQLite as rows and events", "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o).value();
  baton::testing::EngineFixture fx;
  fx.eng.set_journal(j.get());
  auto ana = fx.agent("ana");
  auto c = fx.post("환불 요청", 2);
  REQUIRE(fx.eng.accept_offer(fx.offer_of(c.id).id, ana).has_value());
  REQUIRE(fx.eng.add_message(c.id, false, "확인 중입니다", "ana").has_value());
  REQUIRE(j->flush().has_value());
  Peek p(t.db());
  CHECK(p.text("SELECT status FROM cases WHERE id = " + std::to_string(c.id.value())) ==
        "assigned");
  CHECK(p.text("SELECT assignee FROM cases") == "ana");
  CHECK(p.text("SELECT subject FROM cases") == "환불 요청");
  CHECK(p.text("SELECT status FROM offers") == "accepted");
  CHECK(p.text("SELECT json_extract(capacity, '$.chat') FROM agents WHERE id = 'ana'") == "1");
  CHECK(p.text("SELECT json_extract(data, '$.body') FROM case_events WHERE type = 'message_out'") ==
        "확인 중입니다");
  for (const char* type : {"created", "routed", "offered", "accepted", "assigned", "message_out"}) {
    INFO(type);
    CHECK(p.count("SELECT count(*) FROM case_events WHERE case_id = " +
                  std::to_string(c.id.value()) + " AND type = '" + type + "'") == 1);
  }
  CHECK(p.count("SELECT count(*) FROM case_events") >= 7);
}

TEST_CASE("an online backup copies a database that is being written", "[storage][backup]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  auto j = SqliteJournal::open(o).value();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::uint64_t id = 1;
    while (!stop && id < 200'000) {
      j->append(one_event(id++), [](Status) {});
      if (id % 1000 == 0) {
        REQUIRE(j->flush().has_value());
      }
    }
  });
  std::this_thread::yield();
  auto to = (t.dir / "backup.db").string();
  auto st = storage::backup_file(t.db(), to);
  stop = true;
  writer.join();
  REQUIRE(st.has_value());
  Peek b(to);
  CHECK(b.count("PRAGMA user_version") == storage::latest_schema_version());
  CHECK(b.count("PRAGMA integrity_check = 1") == 0);  // "ok" reads as 0
  CHECK(b.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a journal past its queue limit is saturated until it drains", "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  o.max_queue = 3;
  auto j = SqliteJournal::open(o).value();
  // Hold the completions: the first callback blocks until released. The writer goes on
  // committing, but what it commits waits to be answered and still counts.
  std::mutex gate;
  gate.lock();
  std::atomic<bool> entered{false};
  j->append(one_event(1), [&](Status) {
    entered = true;
    std::lock_guard g(gate);
  });
  for (int i = 0; i < 5000 && !entered; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(entered);
  // While the completions are held, the commands not yet answered fill to the limit: the
  // held one and two more.
  for (std::uint64_t id = 2; id <= 3; ++id) {
    CHECK_FALSE(j->saturated());
    j->append(one_event(id), [](Status) {});
  }
  CHECK(j->saturated());
  gate.unlock();
  REQUIRE(j->flush().has_value());
  CHECK_FALSE(j->saturated());
}

TEST_CASE("a command being committed counts toward the queue limit", "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  o.max_queue = 2;
  auto j = SqliteJournal::open(o).value();
  // Another connection holds the write lock: the writer takes the command from its queue
  // and waits in BEGIN IMMEDIATE, so the command is neither queued nor completing.
  Peek other(t.db(), true);
  REQUIRE(sqlite3_exec(other.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  j->append(one_event(1), [](Status) {});
  CHECK_FALSE(j->saturated());
  j->append(one_event(2), [](Status) {});
  // Long enough for the writer to have taken the first (it waits up to busy_timeout_ms
  // for the lock); the second waits in the queue.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(j->saturated());
  REQUIRE(sqlite3_exec(other.db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(j->flush().has_value());
  CHECK_FALSE(j->saturated());
  CHECK(j->stats().mutations == 2);
}

TEST_CASE("the WAL is copied in small passes and starts again from the top at its mark",
          "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  o.checkpoint_pages = 640;  // 2.5 MiB; a pass every 20 pages
  o.max_batch = 50;          // commits of a few pages, one after the other, as under load
  auto j = SqliteJournal::open(o).value();
  std::uint64_t id = 0;
  while (j->stats().wal_frames < 4 * 640) {
    for (int i = 0; i < 2000; ++i) {
      j->append(one_event(++id), [](Status) {});
    }
    REQUIRE(j->flush().has_value());
  }
  auto stats = j->stats();
  CHECK(stats.checkpoint_failures == 0);
  // The checkpoint thread ran all along, not only at the mark.
  CHECK(stats.checkpoints >= stats.wal_frames / (4 * 20));
  // The WAL file keeps the largest size it reached: it started again near its mark, not at
  // some multiple of it (the writer, always with a next batch, gives the thread no gap).
  CHECK(std::filesystem::file_size(t.db() + "-wal") < 640u * 4120 * 5 / 4);
  CHECK(Peek(t.db()).count("SELECT count(*) FROM case_events") == static_cast<std::int64_t>(id));
}

TEST_CASE("the checkpoint thread keeps the WAL bounded while the writer writes on",
          "[storage][journal]") {
  baton::testing::TempDir t;
  JournalOptions o;
  o.path = t.db();
  o.checkpoint_pages = 100;  // 400 KiB
  auto j = SqliteJournal::open(o);
  REQUIRE(j.has_value());
  constexpr int kCommands = 6000;
  std::uintmax_t largest_wal = 0;
  for (int i = 1; i <= kCommands; ++i) {
    (*j)->append(one_event(static_cast<std::uint64_t>(i)), [](Status) {});
    if (i % 200 == 0) {
      REQUIRE((*j)->flush().has_value());  // many small commits, as a live server makes
      largest_wal = std::max(largest_wal, std::filesystem::file_size(t.db() + "-wal"));
    }
  }
  auto stats = (*j)->stats();
  CHECK(stats.checkpoints > 0);
  CHECK(stats.checkpoint_failures == 0);
  // Without checkpoints the WAL would hold every page written (several MiB); with them it
  // restarts from the top and stays within a few times the mark.
  CHECK(largest_wal < 8u * 100 * 4096 + (1u << 20));
  Peek p(t.db());
  CHECK(p.count("SELECT count(*) FROM case_events") == kCommands);
}
