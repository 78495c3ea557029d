#include "baton/engine/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <random>
#include <vector>

#include "baton/base/assert.h"
#include "baton/engine/clock.h"
#include "baton/engine/engine.h"
#include "baton/engine/queries.h"

#include "offer_collector.h"

namespace baton::engine {

double erlang_c(int c, double a) {
  if (a >= c) {
    return 1.0;
  }
  double b = 1.0;  // Erlang B by the stable recurrence
  for (int k = 1; k <= c; ++k) {
    b = a * b / (k + a * b);
  }
  return c * b / (c - a * (1 - b));
}

double erlang_c_service_level(int c, double lambda_per_s, double mean_handle_s, double t_s) {
  double a = lambda_per_s * mean_handle_s;
  if (a >= c) {
    return 0.0;
  }
  double mu = 1.0 / mean_handle_s;
  return 1.0 - erlang_c(c, a) * std::exp(-(c * mu - lambda_per_s) * t_s);
}

SimulationReport run_synthetic(const SyntheticSpec& spec) {
  std::string src =
      "[queues.support]\nteams = [\"support\"]\nstrategy = \"longest_idle\"\n"
      "offer_timeout = \"1h\"\noffer_timeout_" +
      std::string(to_string(spec.channel)) + " = \"1h\"\n";
  auto rules = routing::RuleSet::parse(src, routing::utc_only());
  BATON_CHECK(rules.has_value(), "the simulation's rule set parses");

  VirtualClock clock;
  EngineConfig config;
  config.explain_limit = 0;
  config.evict_finished = true;
  config.away_after_missed_offers = 0;
  Engine engine(clock, std::move(rules).value(), config);
  internal::OfferCollector offers;
  engine.set_publisher(&offers);
  routing::SlaPolicy sla;
  sla.answer_within = spec.answer_within;

  const TimePoint start = clock.now();
  const TimePoint end = start + spec.duration;
  const TimePoint measure_from = start + spec.warmup;
  for (int i = 0; i < spec.agents; ++i) {
    NewAgent a;
    a.id = AgentId("sim-" + std::to_string(i + 1));
    a.name = a.id.value();
    a.teams = {"support"};
    a.capacity[index_of(spec.channel)] = spec.capacity;
    BATON_CHECK(engine.create_agent(std::move(a)).has_value(), "simulated agent is valid");
    BATON_CHECK(engine.set_presence(AgentId("sim-" + std::to_string(i + 1)), Presence::Available)
                    .has_value(),
                "simulated agent goes available");
  }

  std::mt19937_64 rng(spec.seed);
  const double lambda_per_ms = spec.arrivals_per_hour / 3'600'000.0;
  std::exponential_distribution<double> interarrival(lambda_per_ms);
  const double mean_ms = static_cast<double>(spec.mean_handle.count());
  std::exponential_distribution<double> exp_handle(1.0 / mean_ms);
  // Lognormal with the requested mean: mu = ln(mean) - sigma^2 / 2.
  std::lognormal_distribution<double> log_handle(
      std::log(mean_ms) - spec.lognormal_sigma * spec.lognormal_sigma / 2, spec.lognormal_sigma);
  auto draw_handle = [&] {
    double ms = spec.handle == HandleDistribution::Exponential ? exp_handle(rng) : log_handle(rng);
    return Duration{std::max<std::int64_t>(1, std::llround(ms))};
  };

  struct Completion {
    TimePoint at;
    std::uint64_t seq;
    CaseId id;
    bool operator>(const Completion& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions;
  std::uint64_t completion_seq = 0;

  SimulationReport rep;
  std::vector<double> waits;
  double busy_ms = 0;
  double drawn_ms = 0;  // handle times drawn for measured cases
  std::uint64_t answered_in_time = 0;

  auto accept_fresh = [&] {
    while (!offers.fresh.empty()) {
      std::vector<OfferId> batch;
      batch.swap(offers.fresh);
      for (OfferId oid : batch) {
        const Offer* o = engine.find_offer(oid);
        BATON_CHECK(o != nullptr, "offer exists");
        AgentId agent = o->agent;
        auto r = engine.accept_offer(oid, agent);
        BATON_CHECK(r.has_value(), "a fresh offer can be accepted");
        const Case& c = r->case_;
        ++rep.offers;
        if (c.created_at >= measure_from) {
          double wait_s = std::chrono::duration<double>(clock.now() - c.created_at).count();
          waits.push_back(wait_s);
          ++rep.answered;
          if (sla.answered_in_target(c.created_at, clock.now())) {
            ++answered_in_time;
          }
        }
        Duration h = draw_handle();
        if (c.created_at >= measure_from) {
          drawn_ms += static_cast<double>(h.count());
        }
        // Busy time counted inside the measured window only.
        TimePoint bs = std::max(clock.now(), measure_from);
        TimePoint be = std::min(clock.now() + h, end);
        if (be > bs) {
          busy_ms += static_cast<double>((be - bs).count());
        }
        completions.push(Completion{clock.now() + h, completion_seq++, c.id});
      }
    }
  };

  TimePoint next_arrival = start + Duration{std::llround(interarrival(rng))};
  while (true) {
    TimePoint t = end;
    int what = -1;  // 0 arrival, 1 completion, 2 timer
    if (next_arrival < t) {
      t = next_arrival;
      what = 0;
    }
    if (!completions.empty() && completions.top().at < t) {
      t = completions.top().at;
      what = 1;
    }
    if (auto due = engine.next_timer_due(); due && *due < t) {
      t = *due;
      what = 2;
    }
    if (what < 0) {
      break;
    }
    clock.set(t);
    if (what == 0) {
      NewCase nc;
      nc.channel = spec.channel;
      nc.subject = "synthetic";
      nc.customer.identity = Identity{Channel::Chat, "sim"};  // one synthetic customer
      auto r = engine.create_case(std::move(nc));
      BATON_CHECK(r.has_value(), "synthetic case is valid");
      if (r->created_at >= measure_from) {
        ++rep.cases;
      }
      next_arrival = t + Duration{std::max<std::int64_t>(1, std::llround(interarrival(rng)))};
    } else if (what == 1) {
      CaseId id = completions.top().id;
      completions.pop();
      auto r = engine.resolve(id, "sim", "done");
      BATON_CHECK(r.has_value(), "a handled case resolves");
      BATON_CHECK(engine.close(id, "sim", false).has_value(), "a resolved case closes");
    } else {
      engine.fire_due_timers();
    }
    accept_fresh();
  }

  // Cases still waiting at the end count as not answered in time.
  double measured_ms = static_cast<double>((end - measure_from).count());
  rep.service_level = rep.cases == 0 ? 0 : static_cast<double>(answered_in_time) / rep.cases;
  double sum = 0;
  for (double w : waits) {
    sum += w;
  }
  rep.wait_mean_s = waits.empty() ? 0 : sum / static_cast<double>(waits.size());
  Samples sorted{std::move(waits)};
  rep.wait_p50_s = sorted.quantile(0.50).value_or(0);
  rep.wait_p90_s = sorted.quantile(0.90).value_or(0);
  rep.wait_p99_s = sorted.quantile(0.99).value_or(0);
  rep.occupancy = busy_ms / (measured_ms * spec.agents * spec.capacity);
  double lambda_s = spec.arrivals_per_hour / 3600.0;
  double handle_s = mean_ms / 1000.0;
  rep.offered_erlangs = lambda_s * handle_s;
  int servers = spec.agents * spec.capacity;
  rep.erlang_c_wait_probability = erlang_c(servers, rep.offered_erlangs);
  rep.erlang_c_service_level = erlang_c_service_level(
      servers, lambda_s, handle_s, std::chrono::duration<double>(spec.answer_within).count());
  // The same formula at the rates this run drew: a run's service level follows the load it
  // happened to get, so this is what it is judged against.
  if (rep.answered > 0 && measured_ms > 0) {
    double drawn_lambda_s = static_cast<double>(rep.cases) / (measured_ms / 1000.0);
    double drawn_handle_s = drawn_ms / 1000.0 / static_cast<double>(rep.answered);
    rep.drawn_erlangs = drawn_lambda_s * drawn_handle_s;
    rep.erlang_c_drawn_service_level =
        erlang_c_service_level(servers, drawn_lambda_s, drawn_handle_s,
                               std::chrono::duration<double>(spec.answer_within).count());
  }
  return rep;
}

}  // namespace baton::engine
