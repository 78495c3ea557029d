// The parts of the routes that hold state across requests (white-box): the token cache,
// the rate limiter, the idempotency store and the decision log.

#include <catch2/catch.hpp>

#include "auth.h"
#include "decision_log.h"
#include "idempotency.h"

using namespace baton;
using namespace baton::engine;

namespace {
TimePoint at_ms(std::int64_t ms) { return TimePoint{Duration{ms}}; }
}  // namespace

TEST_CASE("rate limiter: a burst, then one request per refill, per key", "[api][rate]") {
  api::RateLimiter rate(2, 3);  // 2 a second, 3 deep
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(rate.take("a", at_ms(0)).has_value());
  }
  CHECK(rate.take("a", at_ms(0)) == 1L);
  CHECK_FALSE(rate.take("b", at_ms(0)).has_value());    // another key has its own bucket
  CHECK_FALSE(rate.take("a", at_ms(500)).has_value());  // half a second: one more
  CHECK(rate.take("a", at_ms(500)).has_value());
  api::RateLimiter off(0, 0);
  CHECK_FALSE(off.take("a", at_ms(0)).has_value());
}

TEST_CASE("token cache: finds what it kept, and stays bounded", "[api][auth]") {
  api::TokenCache cache(Duration{30'000}, Duration{10'000});
  using Seen = api::TokenCache::Seen;
  CHECK(cache.find("t", at_ms(0)).seen == Seen::Miss);
  api::Principal p;
  p.token_id = "abc";
  p.role = api::kSupervisor;
  cache.keep("t", p, at_ms(0));
  auto found = cache.find("t", at_ms(1));
  REQUIRE(found.seen == Seen::Valid);
  CHECK(found.who->staff());
  for (std::size_t i = 0; i < api::TokenCache::kCapacity; ++i) {
    cache.keep("x" + std::to_string(i), p, at_ms(2));
  }
  CHECK(cache.find("t", at_ms(3)).seen == Seen::Miss);  // started over at the bound
  CHECK(cache.find("x" + std::to_string(api::TokenCache::kCapacity - 1), at_ms(3)).seen ==
        Seen::Valid);
}

TEST_CASE("token cache: a valid token is read again after recheck, an invalid one is remembered",
          "[api][auth]") {
  api::TokenCache cache(Duration{30'000}, Duration{10'000});
  using Seen = api::TokenCache::Seen;
  api::Principal p;
  p.role = api::kAgent;
  cache.keep("good", p, at_ms(0));
  CHECK(cache.find("good", at_ms(29'999)).seen == Seen::Valid);
  // Past recheck: read again (a token revoked since then is found revoked).
  CHECK(cache.find("good", at_ms(30'000)).seen == Seen::Miss);
  cache.keep_invalid("bad", at_ms(0));
  CHECK(cache.find("bad", at_ms(9'999)).seen == Seen::Invalid);
  CHECK(cache.find("bad", at_ms(10'000)).seen == Seen::Miss);
  // Revoked while known: keep_invalid forgets the valid entry.
  cache.keep_invalid("good", at_ms(1));
  CHECK(cache.find("good", at_ms(2)).seen == Seen::Invalid);
  // A flood of invalid tokens starts the invalid ones over, never the valid ones.
  cache.keep("kept", p, at_ms(3));
  for (std::size_t i = 0; i <= api::TokenCache::kUnknownCapacity; ++i) {
    cache.keep_invalid("r" + std::to_string(i), at_ms(4));
  }
  CHECK(cache.find("kept", at_ms(5)).seen == Seen::Valid);
}

TEST_CASE("rate limiter: wait() says what take() would, and takes nothing", "[api][rate]") {
  api::RateLimiter rate(1, 2);
  CHECK_FALSE(rate.wait("a", at_ms(0)).has_value());
  CHECK_FALSE(rate.take("a", at_ms(0)).has_value());
  CHECK_FALSE(rate.wait("a", at_ms(0)).has_value());
  CHECK_FALSE(rate.take("a", at_ms(0)).has_value());
  CHECK(rate.wait("a", at_ms(0)) == 1L);
  CHECK(rate.wait("a", at_ms(0)) == 1L);  // still: nothing was taken
  CHECK_FALSE(rate.wait("a", at_ms(1000)).has_value());
}

TEST_CASE("idempotency store: new, in flight, answered, other request, forgotten",
          "[api][idempotency]") {
  api::IdempotencyStore store(Duration{60'000});
  using Seen = api::IdempotencyStore::Seen;
  CHECK(store.begin("k", "h1", at_ms(0)).seen == Seen::New);
  CHECK(store.begin("k", "h1", at_ms(1)).seen == Seen::InFlight);
  store.settle("k", 201, "{\"id\":1}", true);
  auto again = store.begin("k", "h1", at_ms(2));
  CHECK(again.seen == Seen::Answered);
  CHECK(again.status == 201);
  CHECK(again.body == "{\"id\":1}");
  CHECK(store.begin("k", "h2", at_ms(3)).seen == Seen::OtherRequest);
  // An answer that was not made durable is forgotten: the retry runs again.
  CHECK(store.begin("n", "h", at_ms(4)).seen == Seen::New);
  store.settle("n", 503, "", false);
  CHECK(store.begin("n", "h", at_ms(5)).seen == Seen::New);
  // Past the ttl the stored answer goes.
  CHECK(store.begin("k", "h1", at_ms(60'001)).seen == Seen::New);
  // Answers loaded at start are answered.
  store.load({StoredResponse{"old", "h", 200, "{}", at_ms(60'000), {}}});
  CHECK(store.begin("old", "h", at_ms(60'002)).seen == Seen::Answered);
}

TEST_CASE("decision log: newest first in pages, bounded per case", "[api][decisions]") {
  api::DecisionLog log;
  for (int i = 0; i < static_cast<int>(api::DecisionLog::kPerCase) + 5; ++i) {
    RoutingRecord r;
    r.case_id = CaseId(1);
    r.why = std::to_string(i);
    log.keep(std::move(r));
  }
  auto first = log.page(CaseId(1), 0, 3);
  REQUIRE(first.records.size() == 3);
  CHECK(first.records[0].why == std::to_string(api::DecisionLog::kPerCase + 4));
  CHECK(first.next == 3u);
  auto last = log.page(CaseId(1), api::DecisionLog::kPerCase - 1, 10);
  REQUIRE(last.records.size() == 1);
  CHECK(last.records[0].why == "5");  // the five oldest are gone
  CHECK_FALSE(last.next.has_value());
  CHECK(log.page(CaseId(2), 0, 10).records.empty());
}

TEST_CASE("idempotency store: each token keeps at most its bound of answers, oldest first",
          "[api][idempotency]") {
  api::IdempotencyStore store(Duration{60'000}, 3);
  using Seen = api::IdempotencyStore::Seen;
  for (int i = 0; i < 5; ++i) {
    std::string key = "tokA:k" + std::to_string(i);
    REQUIRE(store.begin(key, "h", at_ms(i)).seen == Seen::New);
    store.settle(key, 201, "{}", true);
  }
  REQUIRE(store.begin("tokB:k0", "h", at_ms(5)).seen == Seen::New);
  store.settle("tokB:k0", 201, "{}", true);
  // The two oldest of A are forgotten (a retry runs again); the newest three answer.
  CHECK(store.begin("tokA:k0", "h", at_ms(6)).seen == Seen::New);
  CHECK(store.begin("tokA:k1", "h", at_ms(6)).seen == Seen::New);
  for (int i = 2; i < 5; ++i) {
    CHECK(store.begin("tokA:k" + std::to_string(i), "h", at_ms(6)).seen == Seen::Answered);
  }
  // Another token's answers are its own.
  CHECK(store.begin("tokB:k0", "h", at_ms(6)).seen == Seen::Answered);
  // Loaded answers are held to the bound too.
  api::IdempotencyStore loaded(Duration{60'000}, 2);
  std::vector<engine::StoredResponse> rows;
  for (int i = 0; i < 4; ++i) {
    rows.push_back(engine::StoredResponse{"tokC:k" + std::to_string(i), "h", 201, "{}", at_ms(i)});
  }
  loaded.load(std::move(rows));
  CHECK(loaded.begin("tokC:k1", "h", at_ms(5)).seen == Seen::New);
  CHECK(loaded.begin("tokC:k3", "h", at_ms(5)).seen == Seen::Answered);
}
