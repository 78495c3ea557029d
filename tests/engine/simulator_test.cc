#include "baton/engine/simulator.h"

#include <catch2/catch.hpp>

using namespace baton;
using namespace baton::engine;

TEST_CASE("Erlang C matches published values", "[engine][simulate]") {
  // 10 agents, 8 Erlangs: P(wait) = 0.4092 (standard tables).
  CHECK(erlang_c(10, 8.0) == Approx(0.4092).margin(0.0005));
  // 2 agents, 1 Erlang: 1/3.
  CHECK(erlang_c(2, 1.0) == Approx(1.0 / 3).margin(1e-9));
  CHECK(erlang_c(5, 5.0) == 1.0);  // saturated
  // Service level for 10 agents, 160 calls/h, 180 s handle, 20 s threshold.
  CHECK(erlang_c_service_level(10, 160.0 / 3600, 180, 20) == Approx(0.6724).margin(0.0005));
}

TEST_CASE("the engine under synthetic M/M/c traffic agrees with Erlang C", "[engine][simulate]") {
  SyntheticSpec spec;
  spec.agents = 10;
  spec.arrivals_per_hour = 160;  // 8 Erlangs at 180 s handle time
  spec.mean_handle = Duration{180'000};
  spec.duration = Duration{600LL * 3'600'000};
  spec.warmup = Duration{5LL * 3'600'000};
  auto r = run_synthetic(spec);
  INFO("service level " << r.service_level << " vs Erlang C " << r.erlang_c_service_level);
  CHECK(r.cases > 90'000);
  CHECK(std::abs(r.service_level - r.erlang_c_service_level) <= 0.02);
  CHECK(r.occupancy == Approx(0.8).margin(0.02));
  CHECK(r.wait_p50_s <= r.wait_p90_s);
  CHECK(r.wait_p90_s <= r.wait_p99_s);
  // Fewer agents at the same load: worse service, as the formula says.
  spec.agents = 9;
  auto tight = run_synthetic(spec);
  CHECK(tight.service_level < r.service_level);
  CHECK(std::abs(tight.service_level - tight.erlang_c_service_level) <= 0.02);
}

TEST_CASE("the engine lands within a point of Erlang C at 10 agents and at 50",
          "[engine][simulate]") {
  // A run's service level is a random variable, and near full occupancy a wide one: at 50
  // agents and 45 Erlangs, 200 hours of traffic land anywhere in 0.766–0.803 over seven
  // seeds (Erlang C: 0.791), which is all that one 200-hour run's 0.778 was; nothing in the
  // engine (offer step, order, rounding) waits where M/M/c does not. Long runs land within
  // a point. The sanitizer build, ~20 times slower, runs them short and judges them wider.
#ifdef BATON_SANITIZE
  const std::int64_t hours[] = {300, 100};
  const double margin = 0.04, drawn_margin = 0.03;
#else
  const std::int64_t hours[] = {3000, 1000};
  const double margin = 0.01, drawn_margin = 0.01;
#endif
  struct Size {
    int agents;
    double arrivals_per_hour, erlang_c;
  };
  const Size sizes[] = {{10, 160, 0.6724}, {50, 900, 0.7912}};
  for (std::size_t i = 0; i < 2; ++i) {
    SyntheticSpec spec;
    spec.agents = sizes[i].agents;
    spec.arrivals_per_hour = sizes[i].arrivals_per_hour;
    spec.duration = Duration{hours[i] * 3'600'000};
    spec.warmup = Duration{5LL * 3'600'000};
    auto r = run_synthetic(spec);
    INFO(spec.agents << " agents: " << r.service_level << " vs Erlang C "
                     << r.erlang_c_service_level << " (at the drawn rates "
                     << r.erlang_c_drawn_service_level << ")");
    CHECK(r.erlang_c_service_level == Approx(sizes[i].erlang_c).margin(0.0001));
    CHECK(std::abs(r.service_level - r.erlang_c_service_level) <= margin);
    CHECK(std::abs(r.service_level - r.erlang_c_drawn_service_level) <= drawn_margin);
  }
}

TEST_CASE("the same seed gives the same run", "[engine][simulate]") {
  SyntheticSpec spec;
  spec.duration = Duration{20LL * 3'600'000};
  auto a = run_synthetic(spec);
  auto b = run_synthetic(spec);
  CHECK(a.cases == b.cases);
  CHECK(a.wait_p90_s == b.wait_p90_s);
  spec.seed = 7;
  CHECK(run_synthetic(spec).cases != a.cases);
}
