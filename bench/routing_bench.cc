// Routing decisions per second and the latency of one decision, at 1,000 and 10,000
// agents with 10,000 and 100,000 waiting cases. Prints one JSON document.
//
// Steady state: every agent is full, the line is long. Each step frees one slot of a
// random busy agent and lets it pull the best case it can take (a "pull" decision), then
// a new case arrives and is routed (an "arrive" decision: offered to a free agent, or
// placed in line). Both are what the engine does on every release and every arrival.
//
//   routing_bench [--ops N] [--seconds S] [--explain K] [--quick]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "baton/routing/router.h"

using namespace baton;
using namespace baton::routing;
using Clock = std::chrono::steady_clock;

namespace {

struct Held {
  CaseKey key;
  Channel channel;
};

struct Stats {
  std::vector<double> us;
  double total_us = 0;
  void add(double v) {
    us.push_back(v);
    total_us += v;
  }
  double pct(double p) {
    if (us.empty()) {
      return 0;
    }
    auto k = static_cast<std::size_t>(p * static_cast<double>(us.size() - 1));
    std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
    return us[k];
  }
  double max() const { return us.empty() ? 0 : *std::max_element(us.begin(), us.end()); }
};

struct RunResult {
  int agents;
  int waiting;
  std::size_t decisions;
  double decisions_per_s;
  double p50_us, p99_us, max_us;
  double pull_p99_us, arrive_p99_us;
  std::size_t classes;
  double setup_s;
};

const std::vector<SkillLevels> kRequirements = {
    {}, {{"billing", 3}}, {{"korean", 5}}, {{"billing", 5}, {"korean", 3}}, {{"tech", 4}}};

RunResult run(int agents, int waiting, std::size_t ops, double seconds, std::size_t explain) {
  auto rules = RuleSet::parse(
      "[queues.support]\nteams = [\"support\"]\nstrategy = \"longest_idle\"\n"
      "[queues.vip]\nteams = [\"support\", \"vip\"]\nstrategy = \"most_skilled\"\n",
      routing::utc_only());
  Router router(rules.value(), explain);
  std::mt19937_64 rng(1234);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  TimePoint now{Duration{1'790'000'000'000}};
  auto setup_start = Clock::now();

  std::vector<std::vector<Held>> held(static_cast<std::size_t>(agents));
  for (int i = 0; i < agents; ++i) {
    AgentProfile p;
    p.id = "a" + std::to_string(i);
    p.teams = i % 10 == 0 ? std::vector<std::string>{"support", "vip"}
                          : std::vector<std::string>{"support"};
    p.skills["billing"] = static_cast<int>(1 + pick(10));
    p.skills["korean"] = static_cast<int>(1 + pick(10));
    if (i % 3 == 0) {
      p.skills["tech"] = static_cast<int>(1 + pick(10));
    }
    p.capacity[index_of(Channel::Chat)] = 2;
    p.capacity[index_of(Channel::Email)] = 3;
    auto slot = router.add_agent(p, now);
    router.set_available(slot, true, now);
  }
  CaseKey next_key = 1;
  auto make_case = [&]() {
    CaseRequest r;
    r.key = next_key;
    r.arrival = next_key;
    ++next_key;
    r.queue = pick(10) == 0 ? "vip" : "support";
    r.channel = pick(3) == 0 ? Channel::Email : Channel::Chat;
    r.priority = static_cast<int>(1 + pick(5));
    r.required_skills = kRequirements[pick(kRequirements.size())];
    r.queued_at = now;
    return r;
  };
  // Fill every slot, then the line.
  while (router.stats().waiting < static_cast<std::size_t>(waiting)) {
    now += Duration{1};
    auto d = router.route(make_case(), now);
    if (d.chosen) {
      held[*d.chosen].push_back(Held{d.case_key, Channel::Chat});
    }
  }
  double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();

  Stats all, pulls, arrivals;
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::size_t busy_tries = 0;
  for (std::size_t op = 0; op < ops && Clock::now() < deadline; ++op) {
    now += Duration{3};
    // A random agent finishes one case.
    auto a = static_cast<AgentSlot>(pick(static_cast<std::size_t>(agents)));
    if (!held[a].empty()) {
      std::size_t i = pick(held[a].size());
      Held h = held[a][i];
      held[a][i] = held[a].back();
      held[a].pop_back();
      // The router tracks the channel; free one slot on a channel the agent has load on.
      Channel ch = router.load(a, Channel::Chat) > 0 ? Channel::Chat : Channel::Email;
      router.release(a, ch, now);
      router.forget(h.key);  // the case is done
      auto t0 = Clock::now();
      auto d = router.pull(a, now);
      double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      all.add(us);
      pulls.add(us);
      if (d) {
        held[a].push_back(Held{d->case_key, Channel::Chat});
      }
    } else {
      ++busy_tries;
    }
    // A new case arrives.
    auto req = make_case();
    auto t0 = Clock::now();
    auto d = router.route(req, now);
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    all.add(us);
    arrivals.add(us);
    if (d.chosen) {
      held[*d.chosen].push_back(Held{d.case_key, Channel::Chat});
    }
    // Keep the line near its size, outside the timed calls: top it up, or withdraw the
    // oldest arrivals past it (abandons).
    while (router.stats().waiting < static_cast<std::size_t>(waiting)) {
      router.route(make_case(), now);
    }
    if (router.stats().waiting > static_cast<std::size_t>(waiting) + 1000) {
      for (CaseKey k = next_key - static_cast<CaseKey>(router.stats().waiting) - 2000;
           k < next_key && router.stats().waiting > static_cast<std::size_t>(waiting); ++k) {
        router.forget(k);
      }
    }
  }
  RunResult r;
  r.agents = agents;
  r.waiting = static_cast<int>(router.stats().waiting);
  r.decisions = all.us.size();
  r.decisions_per_s = static_cast<double>(all.us.size()) / (all.total_us / 1e6);
  r.p50_us = all.pct(0.50);
  r.p99_us = all.pct(0.99);
  r.max_us = all.max();
  r.pull_p99_us = pulls.pct(0.99);
  r.arrive_p99_us = arrivals.pct(0.99);
  r.classes = router.stats().classes;
  r.setup_s = setup_s;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t ops = 200'000;
  double seconds = 10;
  std::size_t explain = 8;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      ops = std::stoul(argv[++i]);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--explain") == 0 && i + 1 < argc) {
      explain = std::stoul(argv[++i]);
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr,
                   "usage: routing_bench [--ops N] [--seconds S] [--explain K] [--quick]\n");
      return 2;
    }
  }
  std::vector<std::pair<int, int>> grid = {
      {1000, 10000}, {1000, 100000}, {10000, 10000}, {10000, 100000}};
  if (quick) {
    grid = {{100, 1000}};
    ops = std::min<std::size_t>(ops, 2000);
  }
  std::printf(
      "{\"bench\": \"routing\", \"explain_candidates\": %zu, \"ops_per_run\": %zu, \"results\": "
      "[\n",
      explain, ops);
  std::vector<RunResult> results;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    auto r = run(grid[i].first, grid[i].second, ops, seconds, explain);
    results.push_back(r);
    std::printf(
        "  {\"name\": \"agents_%d_waiting_%d\", \"agents\": %d, \"waiting\": %d, \"classes\": %zu, "
        "\"decisions\": %zu, \"ops_per_s\": %.0f, \"p50_us\": %.3f, \"p99_us\": %.3f, "
        "\"max_us\": %.1f, \"pull_p99_us\": %.3f, \"arrive_p99_us\": %.3f, \"setup_s\": %.2f}%s\n",
        grid[i].first, grid[i].second, r.agents, r.waiting, r.classes, r.decisions,
        r.decisions_per_s, r.p50_us, r.p99_us, r.max_us, r.pull_p99_us, r.arrive_p99_us, r.setup_s,
        i + 1 < grid.size() ? "," : "");
    std::fflush(stdout);
  }
  // The curve from 1k to 10k agents at the same line length: 1.0 is flat.
  std::printf("], \"flatness\": {");
  if (results.size() == 4) {
    std::printf(
        "\"p99_ratio_10k_over_1k_at_10k_waiting\": %.2f, "
        "\"p99_ratio_10k_over_1k_at_100k_waiting\": %.2f, "
        "\"p99_ratio_100k_over_10k_waiting_at_10k_agents\": %.2f",
        results[2].p99_us / results[0].p99_us, results[3].p99_us / results[1].p99_us,
        results[3].p99_us / results[2].p99_us);
  }
  std::printf("}}\n");
  return 0;
}
