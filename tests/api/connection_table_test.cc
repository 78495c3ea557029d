// The connection table on its own: admission against the two caps, eviction order, and
// that an evicted connection's ticket leaves nothing behind.

#include <catch2/catch.hpp>

#include "connections.h"

using baton::api::ConnectionTable;

TEST_CASE("connection table: full of idle connections, the one idle longest is evicted",
          "[api][connections]") {
  auto table = ConnectionTable::make({.max_connections = 3, .per_address = 0});
  std::vector<int> evicted;
  std::vector<ConnectionTable::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(table->admit("10.0.0.1"));
    REQUIRE(held.back());
    held.back().on_evict([&evicted, i] { evicted.push_back(i); });
  }
  // Idle in the order 2, 0, 1; 0 becomes busy again, then idle: it goes to the back.
  held[2].idle();
  held[0].idle();
  held[1].idle();
  held[0].busy();
  held[0].idle();
  auto fourth = table->admit("10.0.0.2");
  REQUIRE(fourth);
  CHECK(evicted == std::vector<int>{2});
  CHECK(table->size() == 3);
  held[2] = ConnectionTable::Ticket();  // the evicted session ends: nothing more leaves
  CHECK(table->size() == 3);
  auto fifth = table->admit("10.0.0.2");
  CHECK(evicted == std::vector<int>{2, 1});
  CHECK(table->size() == 3);
}

TEST_CASE(
    "connection table: with none idle a new connection is refused, and a pinned one is never idle",
    "[api][connections]") {
  auto table = ConnectionTable::make({.max_connections = 2, .per_address = 0});
  auto a = table->admit("10.0.0.1");
  auto b = table->admit("10.0.0.1");
  int evictions = 0;
  a.on_evict([&] { ++evictions; });
  b.on_evict([&] { ++evictions; });
  a.pin();
  a.idle();  // a stream: stays busy
  ConnectionTable::Refused why{};
  auto c = table->admit("10.0.0.3", &why);
  CHECK_FALSE(c);
  CHECK(why == ConnectionTable::Refused::Full);
  CHECK(evictions == 0);
  b.idle();
  auto d = table->admit("10.0.0.3", &why);
  CHECK(d);
  CHECK(why == ConnectionTable::Refused::None);
  CHECK(evictions == 1);
  CHECK(table->metrics_text().find("baton_connections_refused_total{reason=\"full\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("connection table: the per-address cap counts open connections of that address",
          "[api][connections]") {
  auto table = ConnectionTable::make({.max_connections = 100, .per_address = 2});
  auto a = table->admit("10.0.0.1");
  auto b = table->admit("10.0.0.1");
  ConnectionTable::Refused why{};
  CHECK_FALSE(table->admit("10.0.0.1", &why));
  CHECK(why == ConnectionTable::Refused::Address);
  CHECK(table->admit("10.0.0.2"));  // another address
  a = ConnectionTable::Ticket();
  CHECK(table->admit("10.0.0.1"));
  CHECK(table->size() == 1);  // the temporaries above left at once
}
