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
    for (const auto& e : page->events) {
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
    all.insert(all.end(), page->events.begin(), page->events.end());
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
