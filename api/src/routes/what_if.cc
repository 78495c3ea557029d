// What-if (supervisor): POST /v1/routing/simulate replays a window of history under the
// active rules and a candidate, on the replay worker, one at a time.

#include "what_if.h"

#include <chrono>

#include "routes_impl.h"

namespace baton::api {

namespace {

// The API's contract: a what-if covers at most 31 days; by default the last 7.
constexpr Duration kMaxWindow{31LL * 86'400'000};
constexpr Duration kDefaultWindow{7LL * 86'400'000};

std::optional<TimePoint> time_field(Fields& f, const char* name) {
  auto text = f.text(name, false, 64);
  if (!text) {
    return std::nullopt;
  }
  auto t = parse_time(*text);
  if (!t) {
    f.fail(name, "must be an RFC 3339 time (2026-11-23T00:00:00Z)");
  }
  return t;
}

// `agents`: {"add": [{"teams", "skills", "capacity", "count"}], "remove": ["agt_…"]}.
std::optional<AgentsEdit> agents_edit(const json::object& body, std::vector<FieldError>& errors,
                                      std::size_t max_added) {
  Fields top(body, errors);
  AgentsEdit edit;
  if (!top.has("agents")) {
    return edit;
  }
  const json::object* o = top.object("agents", false);
  if (o == nullptr) {
    return std::nullopt;
  }
  std::size_t before = errors.size();
  Fields f(*o, errors, "agents.");
  for (const auto& kv : *o) {
    if (kv.key() != "add" && kv.key() != "remove") {
      f.fail(kv.key(), "is not a field of agents (add, remove)");
    }
  }
  std::size_t added = 0;
  if (const json::array* add = f.array("add", false, 100)) {
    for (std::size_t i = 0; i < add->size(); ++i) {
      std::string at = "agents.add[" + std::to_string(i) + "].";
      if (!(*add)[i].is_object()) {
        errors.push_back(FieldError{at.substr(0, at.size() - 1), "must be an object"});
        continue;
      }
      Fields a((*add)[i].get_object(), errors, at);
      AgentsEdit::Add one;
      one.teams = a.strings("teams", true).value_or(std::vector<std::string>{});
      one.skills = a.skills("skills").value_or(SkillLevels{});
      one.capacity = a.capacity("capacity").value_or(ChannelCounts{});
      one.count = static_cast<int>(a.integer("count", false, 1, 1000, "1–1000").value_or(1));
      if (one.teams.empty() && a.has("teams")) {
        a.fail("teams", "must name at least one team");
      }
      bool any_slot = false;
      for (int c : one.capacity) {
        any_slot = any_slot || c > 0;
      }
      if (!any_slot) {
        a.fail("capacity", "must give at least one channel a slot");
      }
      added += static_cast<std::size_t>(one.count);
      edit.add.push_back(std::move(one));
    }
  }
  if (added > max_added) {
    f.fail("add", "adds " + std::to_string(added) +
                      " agents, more than limits.replay_added_agents (" +
                      std::to_string(max_added) + ")");
  }
  if (auto remove = f.strings("remove", false)) {
    for (const auto& id : *remove) {
      auto agent = parse_agent_id(id);
      if (!agent) {
        f.fail("remove", "must list agent ids (agt_…); " + id + " is not one");
        continue;
      }
      edit.remove.push_back(*agent);
    }
  }
  if (errors.size() != before) {
    return std::nullopt;
  }
  return edit;
}

}  // namespace

void Routes::Impl::simulate_routing(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto source = f.text("source", true, deps.engine.config().rule_limits.source_bytes);
  auto from = time_field(f, "from");
  auto to = time_field(f, "to");
  auto edit = agents_edit(*body, errors, options.limits.replay_added_agents);
  for (const auto& kv : *body) {
    if (kv.key() != "source" && kv.key() != "from" && kv.key() != "to" && kv.key() != "agents") {
      f.fail(kv.key(), "is not a field of a what-if (source, from, to, agents)");
    }
  }
  TimePoint end = to.value_or(deps.clock.now());
  TimePoint start = from.value_or(end - kDefaultWindow);
  if (errors.empty() && start >= end) {
    errors.push_back({"to", "must be after from"});
  }
  if (errors.empty() && end - start > kMaxWindow) {
    errors.push_back({"to", "a what-if covers at most 31 days"});
  }
  if (refuse_if(call, errors)) {
    return;
  }
  auto candidate = deps.engine.parse_rules(*source);
  if (!candidate) {
    finish(call, problem_of(422, "the rule set does not parse: " + candidate.error().message,
                            candidate.error().field_errors));
    return;
  }
  if (!deps.replay_history) {
    finish(call, problem_of(501, "this server keeps no history to replay"));
    return;
  }
  bool idle = false;
  if (!replay_running.compare_exchange_strong(idle, true)) {
    finish(call, problem_of(409,
                            "a what-if is already running in this workspace; retry when "
                            "it is done"));
    return;
  }
  // The active rules and the engine's settings are read on the strand; the rest runs on
  // the replay worker.
  post([this, call, start, end, edit = std::move(*edit),
        candidate = std::move(candidate).value()]() mutable {
    WhatIfRequest req{deps.engine.rules(), deps.engine.rules_version(), std::move(candidate),
                      std::move(edit),     deps.engine.config(),        false};
    auto report = ReportRequest::under(req.active, start, end);
    auto started = std::chrono::steady_clock::now();
    bool queued = replays->submit([this, call, start, end, started, req = std::move(req),
                                   report = std::move(report)]() mutable {
      Response r = [&]() -> Response {
        auto history = deps.replay_history(start, end, options.limits.replay_cases);
        if (!history) {
          return from_error(history.error());
        }
        auto recorded = deps.reads.summary(report);
        if (!recorded) {
          return from_error(recorded.error());
        }
        return json_response(
            200, what_if(history.value(), std::move(req), std::move(recorded).value(), started));
      }();
      replay_running = false;
      finish(call, std::move(r));
    });
    if (!queued) {
      replay_running = false;
      finish(call, problem_of(409, "a what-if is already running in this workspace"));
    }
  });
}

}  // namespace baton::api
