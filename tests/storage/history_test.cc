#include "baton/storage/history.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "baton/storage/journal.h"

#include "engine_fixture.h"
#include "sqlite_peek.h"
#include "temp_dir.h"

using namespace baton;
using namespace baton::engine;

TEST_CASE("case timelines and the customer timeline read back in order, page by page",
          "[storage][history]") {
  baton::testing::TempDir d;
  storage::JournalOptions o;
  o.path = d.db();
  auto j = storage::SqliteJournal::open(o).value();
  baton::testing::EngineFixture fx;
  fx.eng.set_journal(j.get());
  auto ana = fx.agent("ana", {"support"}, {}, 2, 2);
  NewCustomer nc;
  nc.name = "Minji";
  nc.identities = {Identity{Channel::Chat, "web:1"}, Identity{Channel::Email, "m@example.com"}};
  auto minji = fx.eng.create_customer(nc).value();
  auto chat = fx.post("chat question", 0, Channel::Chat, {}, "web:1");
  fx.clock.advance(Duration{1000});
  auto mail = fx.post("mail question", 0, Channel::Email, {}, "m@example.com");
  REQUIRE(chat.customer == minji.id);
  REQUIRE(mail.customer == minji.id);
  REQUIRE(fx.eng.accept_offer(fx.offer_of(chat.id).id, ana).has_value());
  for (int i = 0; i < 7; ++i) {
    fx.clock.advance(Duration{10});
    REQUIRE(fx.eng.add_message(chat.id, i % 2 == 0, "m" + std::to_string(i), "x").has_value());
  }
  REQUIRE(j->flush().has_value());
  auto h = storage::History::open(d.db(), "default", 2).value();

  // One case, oldest first, in pages of 4.
  std::vector<std::uint64_t> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto page = h->case_events(chat.id, cursor, 4);
    REQUIRE(page.has_value());
    for (const auto& e : page->items) {
      CHECK(e.case_id == chat.id);
      ids.push_back(e.id.value());
    }
    cursor = page->next_cursor.value_or("");
    ++pages;
  } while (!cursor.empty() && pages < 100);
  baton::testing::Peek peek(d.db());
  CHECK(ids.size() ==
        static_cast<std::size_t>(peek.count("SELECT count(*) FROM case_events WHERE case_id = " +
                                            std::to_string(chat.id.value()))));
  CHECK(ids.size() >= 14);  // lifecycle events and seven messages
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(pages == static_cast<int>((ids.size() + 3) / 4));

  // The customer: both cases, both channels, newest first.
  std::vector<CaseEvent> all;
  cursor.clear();
  pages = 0;
  do {
    auto page = h->customer_timeline(minji.id, cursor, 3);
    REQUIRE(page.has_value());
    all.insert(all.end(), page->items.begin(), page->items.end());
    cursor = page->next_cursor.value_or("");
    ++pages;
  } while (!cursor.empty() && pages < 100);
  bool saw_chat = false, saw_mail = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    saw_chat = saw_chat || all[i].case_id == chat.id;
    saw_mail = saw_mail || all[i].case_id == mail.id;
    if (i > 0) {
      CHECK(std::tie(all[i - 1].at, all[i - 1].id) > std::tie(all[i].at, all[i].id));
    }
  }
  CHECK(saw_chat);
  CHECK(saw_mail);
  CHECK(all.front().type == EventType::MessageIn);  // the last message, the newest event
  CHECK(std::get<std::string>(*all.front().find("body")) == "m6");

  auto bad = h->customer_timeline(minji.id, "not-a-cursor", 3);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().field_errors.at(0).field == "cursor");
  CHECK_FALSE(h->case_events(chat.id, "-5", 3).has_value());
}

TEST_CASE("readers never block the writer", "[storage][history]") {
  baton::testing::TempDir d;
  storage::JournalOptions o;
  o.path = d.db();
  auto j = storage::SqliteJournal::open(o).value();
  auto event = [](std::uint64_t id) {
    Mutation m;
    CaseEvent e;
    e.id = EventId(id);
    e.case_id = CaseId(1);
    e.customer = CustomerId(1);
    e.type = EventType::Note;
    e.at = TimePoint{Duration{static_cast<long long>(id)}};
    e.actor = "t";
    m.events.push_back(e);
    return m;
  };
  j->append(event(1), [](Status) {});
  REQUIRE(j->flush().has_value());

  // A reader holds an open read transaction (a snapshot) ...
  sqlite3* r = nullptr;
  REQUIRE(sqlite3_open_v2(d.db().c_str(), &r, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(r, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto count = [&] {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(r, "SELECT count(*) FROM case_events", -1, &s, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    auto n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  CHECK(count() == 1);
  // ... while the writer commits a hundred batches, and readers from the pool read.
  auto h = storage::History::open(d.db(), "default", 4).value();
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto page = h->customer_timeline(CustomerId(1), "", 20);
        REQUIRE(page.has_value());
        ++reads;
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t id = 2; id <= 101; ++id) {
    j->append(event(id), [](Status st) { REQUIRE(st.has_value()); });
    REQUIRE(j->flush().has_value());
  }
  auto took = std::chrono::steady_clock::now() - start;
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  // The writer was not held back by the open snapshot (busy_timeout would be 5 s) ...
  CHECK(took < std::chrono::seconds(5));
  CHECK(j->stats().commits >= 100);
  CHECK(reads > 0);
  // ... and the reader still sees its snapshot until it ends it.
  CHECK(count() == 1);
  REQUIRE(sqlite3_exec(r, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(count() == 101);
  sqlite3_close(r);
}

TEST_CASE("lists of cases, offers and handoffs filter and page newest first",
          "[storage][history]") {
  baton::testing::TempDir d;
  storage::JournalOptions o;
  o.path = d.db();
  auto j = storage::SqliteJournal::open(o).value();
  baton::testing::EngineFixture fx;
  fx.eng.set_journal(j.get());
  auto ana = fx.agent("ana", {"support"}, {}, 2, 2);
  std::vector<CaseId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(fx.post("q" + std::to_string(i), 0, Channel::Chat, {}, "web:1").id);
  }
  REQUIRE(fx.eng.accept_offer(fx.offer_of(ids[0]).id, ana).has_value());
  REQUIRE(j->flush().has_value());
  auto h = storage::History::open(d.db(), "default", 2).value();

  // Two offered (ana's room), three queued; newest first, in pages of 2.
  std::vector<std::uint64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = h->cases({}, cursor, 2);
    REQUIRE(page.has_value());
    for (const auto& c : page->items) {
      seen.push_back(c.id.value());
    }
    cursor = page->next_cursor.value_or("");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(seen == std::vector<std::uint64_t>{ids[4].value(), ids[3].value(), ids[2].value(),
                                           ids[1].value(), ids[0].value()});
  CHECK(pages == 3);

  CaseFilter queued;
  queued.status = CaseStatus::Queued;
  CHECK(h->cases(queued, "", 50)->items.size() == 3);
  CaseFilter mine;
  mine.assignee = ana;
  auto assigned = h->cases(mine, "", 50).value();
  REQUIRE(assigned.items.size() == 1);
  CHECK(assigned.items[0].status == CaseStatus::Assigned);
  CaseFilter by_gateway;
  by_gateway.created_by = "nobody";
  CHECK(h->cases(by_gateway, "", 50)->items.empty());
  CHECK(h->find_case(ids[2]).value()->subject == "q2");
  CHECK_FALSE(h->find_case(CaseId(999)).value().has_value());

  OfferFilter pending;
  pending.agent = ana;
  pending.status = OfferStatus::Pending;
  auto offers = h->offers(pending, "", 50).value();
  REQUIRE(offers.items.size() == 1);
  CHECK(offers.items[0].case_id == ids[1]);
  CHECK(h->find_offer(offers.items[0].id).value()->agent == ana);

  auto bad = h->cases({}, "x1", 2);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("a stored answer commits with its command and tokens are found by hash",
          "[storage][history]") {
  baton::testing::TempDir d;
  storage::JournalOptions o;
  o.path = d.db();
  auto j = storage::SqliteJournal::open(o).value();
  baton::testing::EngineFixture fx;
  fx.eng.set_journal(j.get());
  fx.eng.hold_commit();
  auto c = fx.post("held", 0, Channel::Chat, {}, "web:9");
  StoredResponse r;
  r.key = "tok1:k1";
  r.request_hash = "abc";
  r.status = 201;
  r.body = "{\"id\":\"case_1\"}";
  r.created_at = fx.clock.now();
  std::atomic<bool> done{false};
  fx.eng.release_commit(r, [&](Status st) {
    CHECK(st.has_value());
    done = true;
  });
  REQUIRE(j->flush().has_value());
  CHECK(done);
  auto h = storage::History::open(d.db(), "default", 1).value();
  CHECK(h->find_case(c.id).value().has_value());
  auto stored = h->responses_since(r.created_at).value();
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].key == "tok1:k1");
  CHECK(stored[0].status == 201);
  CHECK(stored[0].body == r.body);
  CHECK(h->responses_since(r.created_at + Duration{1}).value().empty());

  // A later answer may forget those past their time, in the same transaction.
  fx.clock.advance(Duration{5000});
  fx.eng.hold_commit();
  StoredResponse later = r;
  later.key = "tok1:k2";
  later.created_at = fx.clock.now();
  later.forget_before = r.created_at + Duration{1};
  fx.eng.release_commit(later, [](Status st) { CHECK(st.has_value()); });
  REQUIRE(j->flush().has_value());
  auto kept = h->responses_since(TimePoint{}).value();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].key == "tok1:k2");

  // A refused command leaves nothing held: release answers at once.
  fx.eng.hold_commit();
  CHECK_FALSE(fx.eng.resolve(CaseId(12345), "x", "").has_value());
  bool immediate = false;
  fx.eng.release_commit(std::nullopt, [&](Status st) { immediate = st.has_value(); });
  CHECK(immediate);

  TokenRecord t;
  t.hash = "deadbeef";
  t.workspace = "default";
  t.role = "agent";
  t.agent = AgentId("ana");
  REQUIRE(storage::insert_token(d.db(), t).has_value());
  auto found = h->find_token("deadbeef").value();
  REQUIRE(found.has_value());
  CHECK(found->role == "agent");
  CHECK(found->agent == AgentId("ana"));
  CHECK_FALSE(h->find_token("feedface").value().has_value());
}
