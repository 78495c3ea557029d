#include "what_if.h"

#include <chrono>
#include <set>
#include <thread>

#include <boost/json/serialize.hpp>

#include "codec.h"

namespace baton::api {

namespace {

using namespace engine;

constexpr std::size_t kMovedListed = 100;

json::object queue_json(ReplayQueue q) {
  return {{"cases", q.cases},
          {"answered", q.answered},
          {"abandoned", q.abandoned},
          {"service_level", q.service_level()},
          {"wait_p50_s", q.wait.quantile(0.50).value_or(0)},
          {"wait_p90_s", q.wait.quantile(0.90).value_or(0)},
          {"wait_p99_s", q.wait.quantile(0.99).value_or(0)}};
}

json::object outcome_json(ReplayOutcome& o, json::value version) {
  json::object queues, agents, reasons;
  for (auto& [name, q] : o.queues) {
    queues[name] = queue_json(q);
  }
  for (auto& [id, a] : o.agents) {
    agents[agent_id(AgentId(id))] =
        json::object{{"answered", a.answered}, {"occupancy", a.occupancy()}};
  }
  for (auto& [reason, n] : o.handoffs_by_reason) {
    reasons[reason] = n;
  }
  return {{"version", std::move(version)},
          {"queues", std::move(queues)},
          {"agents", std::move(agents)},
          {"handoffs_by_reason", std::move(reasons)},
          {"commands", o.commands}};
}

double p90(Samples s) { return s.quantile(0.90).value_or(0); }

}  // namespace

json::object what_if(const ReplayHistory& history, WhatIfRequest req, Summary recorded,
                     std::chrono::steady_clock::time_point started) {
  ReplayOutcome active, candidate;
  AgentsEdit none;
  if (req.parallel) {
    std::thread other([&] { active = replay(history, req.active, req.config, none); });
    candidate = replay(history, req.candidate, req.config, req.agents);
    other.join();
  } else {
    active = replay(history, req.active, req.config, none);
    candidate = replay(history, req.candidate, req.config, req.agents);
  }

  std::set<std::string> names;
  for (const auto& [n, q] : active.queues) {
    names.insert(n);
  }
  for (const auto& [n, q] : candidate.queues) {
    names.insert(n);
  }
  json::object delta;
  for (const auto& n : names) {
    ReplayQueue a = active.queues.count(n) != 0 ? active.queues.at(n) : ReplayQueue{};
    ReplayQueue c = candidate.queues.count(n) != 0 ? candidate.queues.at(n) : ReplayQueue{};
    // A queue that only one side uses has no change to show, only its figures.
    bool both = a.cases > 0 && c.cases > 0;
    delta[n] = json::object{
        {"service_level", both ? json::value(c.service_level() - a.service_level()) : nullptr},
        {"wait_p90_s", both ? json::value(p90(c.wait) - p90(a.wait)) : nullptr},
        {"cases", static_cast<std::int64_t>(c.cases) - static_cast<std::int64_t>(a.cases)}};
  }
  json::array moved;
  std::size_t moved_total = 0;
  for (std::size_t i = 0; i < history.cases.size(); ++i) {
    if (active.queue_of[i] == candidate.queue_of[i]) {
      continue;
    }
    if (++moved_total <= kMovedListed) {
      moved.push_back(json::object{{"case_id", case_id(history.cases[i].recorded_id)},
                                   {"active_queue", active.queue_of[i]},
                                   {"candidate_queue", candidate.queue_of[i]}});
    }
  }
  json::object rec;
  for (auto& q : recorded.queues) {
    // What happened, in the replay's terms, written as the replays are.
    rec[q.queue] = queue_json(
        ReplayQueue{q.created, q.answered, q.answered_in_target, q.abandoned, std::move(q.wait)});
  }
  json::array assumptions;
  for (const auto& a : history.assumptions) {
    assumptions.emplace_back(a);
  }
  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return {{"window",
           json::object{{"from", format_time(history.from)}, {"to", format_time(history.to)}}},
          {"cases", history.cases.size()},
          {"active", outcome_json(active, req.active_version)},
          {"candidate", outcome_json(candidate, nullptr)},
          {"delta", json::object{{"queues", std::move(delta)}}},
          {"recorded", json::object{{"queues", std::move(rec)}}},
          {"moved", std::move(moved)},
          {"moved_total", moved_total},
          {"assumptions", std::move(assumptions)},
          {"elapsed_ms", std::llround(elapsed)}};
}

std::string what_if_json(const ReplayHistory& history, WhatIfRequest req, Summary recorded,
                         std::chrono::steady_clock::time_point started) {
  return json::serialize(what_if(history, std::move(req), std::move(recorded), started));
}

}  // namespace baton::api
