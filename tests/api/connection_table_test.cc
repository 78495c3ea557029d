// The connection table on its own: admission against the two caps, eviction order, and
// that an evicted connection's ticket leaves nothing behind.

#include <catch2/catch.hpp>

#include "connections.h"

using baton::api::ConnectionTable;
using State = ConnectionTable::State;
constexpr State Idle = State::Idle;
constexpr State Busy = State::Busy;
constexpr State Receiving = State::Receiving;

TEST_CASE("connection table: full of idle connections, the one idle longest is evicted",
          "[api][connections]") {
  auto table = ConnectionTable::make({.max_connections = 3, .per_address = 0, .slow_request = {}});
  std::vector<int> evicted;
  std::vector<ConnectionTable::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(table->admit("10.0.0.1"));
    REQUIRE(held.back());
    held.back().on_evict([&evicted, i] { evicted.push_back(i); });
  }
  // Idle in the order 2, 0, 1; 0 becomes busy again, then idle: it goes to the back.
  held[2].set(Idle);
  held[0].set(Idle);
  held[1].set(Idle);
  held[0].set(Busy);
  held[0].set(Idle);
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
  auto table = ConnectionTable::make(
      {.max_connections = 2, .per_address = 0, .slow_request = std::chrono::hours(1)});
  auto a = table->admit("10.0.0.1");
  auto b = table->admit("10.0.0.1");
  int evictions = 0;
  a.on_evict([&] { ++evictions; });
  b.on_evict([&] { ++evictions; });
  a.pin();
  a.set(Idle);  // a stream: stays busy
  ConnectionTable::Refused why{};
  auto c = table->admit("10.0.0.3", &why);
  CHECK_FALSE(c);
  CHECK(why == ConnectionTable::Refused::Full);
  CHECK(evictions == 0);
  b.set(Idle);
  auto d = table->admit("10.0.0.3", &why);
  CHECK(d);
  CHECK(why == ConnectionTable::Refused::None);
  CHECK(evictions == 1);
  CHECK(table->metrics_text().find("baton_connections_refused_total{reason=\"full\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("connection table: the per-address cap counts open connections of that address",
          "[api][connections]") {
  auto table =
      ConnectionTable::make({.max_connections = 100, .per_address = 2, .slow_request = {}});
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

TEST_CASE("connection table: with none idle, the connection receiving one request longest goes",
          "[api][connections]") {
  // slow_request 0: any connection receiving a request counts as slow.
  auto table = ConnectionTable::make({.max_connections = 3, .per_address = 0, .slow_request = {}});
  std::vector<int> evicted;
  std::vector<ConnectionTable::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(table->admit("10.0.0.1"));
    held.back().on_evict([&evicted, i] { evicted.push_back(i); });
  }
  held[0].set(Busy);  // answers owed: never evicted
  held[1].set(Receiving);
  held[2].set(Receiving);
  auto third = table->admit("10.0.0.2");
  CHECK(third);
  CHECK(evicted == std::vector<int>{1});
  CHECK(table->metrics_text().find("baton_connections_evicted_total{state=\"slow\"} 1\n") !=
        std::string::npos);
  // An idle one goes before any receiver.
  auto fourth = table->admit("10.0.0.2");  // evicts 2, the last receiver
  fourth.on_evict([&evicted] { evicted.push_back(4); });
  fourth.set(Idle);
  CHECK(evicted == std::vector<int>{1, 2});
  auto fifth = table->admit("10.0.0.3");
  CHECK(fifth);
  CHECK(evicted == std::vector<int>{1, 2, 4});
  // All three left are busy: a new connection is refused.
  ConnectionTable::Refused why{};
  CHECK_FALSE(table->admit("10.0.0.3", &why));
  CHECK(why == ConnectionTable::Refused::Full);
}

TEST_CASE("connection table: a request younger than slow_request is not evicted",
          "[api][connections]") {
  auto table = ConnectionTable::make(
      {.max_connections = 1, .per_address = 0, .slow_request = std::chrono::hours(1)});
  auto a = table->admit("10.0.0.1");
  a.on_evict([] { FAIL("evicted a request that began a moment ago"); });
  a.set(Receiving);
  CHECK_FALSE(table->admit("10.0.0.2"));
}
