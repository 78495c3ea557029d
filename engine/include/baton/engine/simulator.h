#pragma once

// Synthetic traffic through the real engine under virtual time: Poisson arrivals,
// exponential or lognormal handle times, N identical agents. What `baton simulate
// --synthetic` runs; its figures can be checked against Erlang C.

#include <cstdint>
#include <string>

#include "baton/base/types.h"
#include "baton/routing/rules.h"

namespace baton::engine {

enum class HandleDistribution { Exponential, Lognormal };

struct SyntheticSpec {
  int agents = 10;
  double arrivals_per_hour = 160;  // 8 Erlangs at 3-minute calls: a busy, healthy shift
  Duration mean_handle{180'000};
  HandleDistribution handle = HandleDistribution::Exponential;
  double lognormal_sigma = 0.8;  // shape of the lognormal; its mean is mean_handle
  Channel channel = Channel::Voice;
  int capacity = 1;                  // slots per agent on the channel
  Duration duration{8 * 3'600'000};  // simulated time
  Duration warmup{3'600'000};        // cases arriving before this are not measured
  Duration answer_within{20'000};    // service-level threshold
  std::uint64_t seed = 42;
};

struct SimulationReport {
  std::uint64_t cases = 0;     // measured (arrived after warm-up)
  std::uint64_t answered = 0;  // measured and accepted
  double service_level = 0;    // share accepted within answer_within
  double wait_mean_s = 0;
  double wait_p50_s = 0;
  double wait_p90_s = 0;
  double wait_p99_s = 0;
  double occupancy = 0;               // busy agent time / available agent time
  double offered_erlangs = 0;         // arrival rate × mean handle time
  double erlang_c_service_level = 0;  // the M/M/c prediction (exponential handle times)
  double erlang_c_wait_probability = 0;
  // Erlang C at the arrival rate and mean handle time this run drew (its measured cases).
  double drawn_erlangs = 0;
  double erlang_c_drawn_service_level = 0;
  std::uint64_t offers = 0;
};

SimulationReport run_synthetic(const SyntheticSpec& spec);

// Erlang C: probability that an arrival waits, for c servers and a offered Erlangs.
// Returns 1 when a >= c (the queue grows without bound).
double erlang_c(int c, double a);
// M/M/c service level: P(wait <= t) = 1 - C(c, a) * exp(-(c*mu - lambda) * t).
double erlang_c_service_level(int c, double lambda_per_s, double mean_handle_s, double t_s);

}  // namespace baton::engine
