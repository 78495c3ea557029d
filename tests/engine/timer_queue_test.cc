#include "baton/engine/timer_queue.h"

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "baton/engine/clock.h"

using namespace baton;
using namespace baton::engine;

TEST_CASE("timers fire in due order, ties in the order they were set", "[engine][timer]") {
  TimerQueue q;
  TimePoint t0{Duration{1000}};
  q.schedule(t0 + Duration{30}, Timer{TimerKind::OfferTimeout, 1});
  q.schedule(t0 + Duration{10}, Timer{TimerKind::OfferTimeout, 2});
  q.schedule(t0 + Duration{10}, Timer{TimerKind::OwnerWindow, 3});
  auto cancelled = q.schedule(t0 + Duration{5}, Timer{TimerKind::OfferTimeout, 4});
  q.cancel(cancelled);
  CHECK(q.size() == 3);
  CHECK(q.next_due() == t0 + Duration{10});
  CHECK_FALSE(q.pop_due(t0 + Duration{9}));
  std::vector<std::uint64_t> order;
  while (auto t = q.pop_due(t0 + Duration{100})) {
    order.push_back(t->second.subject);
  }
  CHECK(order == std::vector<std::uint64_t>{2, 3, 1});
  CHECK_FALSE(q.next_due());
}

TEST_CASE("virtual time moves only forward and only when told", "[engine][timer]") {
  VirtualClock c(TimePoint{Duration{5000}});
  CHECK(c.now() == TimePoint{Duration{5000}});
  c.advance(Duration{250});
  CHECK(c.now() == TimePoint{Duration{5250}});
  c.set(TimePoint{Duration{5250}});
  CHECK(c.now() == TimePoint{Duration{5250}});
}

TEST_CASE("a queue given room keeps its timers and their order, and does not grow",
          "[engine][timer]") {
  TimerQueue q;
  TimePoint t0{Duration{1000}};
  q.schedule(t0 + Duration{30}, Timer{TimerKind::OfferTimeout, 1});
  q.schedule(t0 + Duration{10}, Timer{TimerKind::OfferTimeout, 2});
  q.reserve(1000);
  std::size_t room = q.capacity();
  CHECK(room >= 1000);
  for (std::uint64_t i = 0; i < 998; ++i) {
    q.schedule(t0 + Duration{static_cast<std::int64_t>(100 + i)},
               Timer{TimerKind::Escalation, 3 + i});
  }
  CHECK(q.size() == 1000);
  CHECK(q.capacity() == room);
  std::vector<std::uint64_t> order;
  while (auto t = q.pop_due(t0 + Duration{10'000})) {
    order.push_back(t->second.subject);
  }
  REQUIRE(order.size() == 1000);
  CHECK(order[0] == 2);
  CHECK(order[1] == 1);
  CHECK(std::is_sorted(order.begin() + 2, order.end()));
}
