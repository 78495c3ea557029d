// The engine's real-time rules on the virtual clock: presence after a stream closes,
// sticky routing, SLA clocks on business hours, escalation over wait time.

#include <catch2/catch.hpp>

#include "engine_fixture.h"

using namespace baton;
using namespace baton::engine;
using baton::testing::EngineFixture;

namespace {
Duration seconds(int s) { return Duration{s * 1000LL}; }
}  // namespace

TEST_CASE("an agent whose last stream closed goes away after the grace, a reconnect keeps it",
          "[engine][presence]") {
  EngineConfig config;
  config.presence_grace = seconds(30);
  EngineFixture fx(baton::testing::kDefaultRules, config);
  auto ana = fx.agent("ana");
  fx.eng.stream_opened(ana);
  fx.eng.stream_opened(ana);  // two tabs
  fx.eng.stream_closed(ana);
  fx.advance(seconds(60));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Available);  // one tab is still open

  fx.eng.stream_closed(ana);
  fx.advance(seconds(20));
  fx.eng.stream_opened(ana);  // back within the grace
  fx.advance(seconds(60));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Available);

  // Gone for good while a case is offered: away after the grace, the offer revoked, the
  // case routed to the next agent.
  auto c = fx.post();
  CHECK(fx.offer_of(c.id).agent == ana);
  fx.eng.stream_closed(ana);
  fx.advance(seconds(29));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Available);
  auto jin = fx.agent("jin");
  fx.advance(seconds(1));
  CHECK(fx.eng.find_agent(ana)->presence == Presence::Away);
  CHECK(fx.offer_of(c.id).agent == jin);
  fx.check();

  // An agent who set itself away is not touched; one who never had a stream neither.
  fx.eng.stream_opened(jin);
  REQUIRE(fx.eng.set_presence(jin, Presence::Away).has_value());
  fx.eng.stream_closed(jin);
  fx.advance(seconds(60));
  CHECK(fx.eng.find_agent(jin)->presence == Presence::Away);
  auto sam = fx.agent("sam");
  fx.advance(seconds(600));
  CHECK(fx.eng.find_agent(sam)->presence == Presence::Available);
}
