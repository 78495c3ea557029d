// The engine: construction, lookups and whether it takes commands.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

Engine::Engine(Clock& clock, routing::RuleSet rules, EngineConfig config)
    : clock_(clock),
      rules_(std::move(rules)),
      config_(config),
      router_(std::make_unique<routing::Router>(rules_, config.explain_limit)) {
  if (std::size_t n = config_.expected_open_cases; n > 0) {
    cases_.reserve(n);
    case_rule_.reserve(n);
    escalation_timers_.reserve(n);
    router_->reserve_cases(n);
    timers_.reserve(kTimersPerCase * n);
  }
}

Engine::~Engine() = default;

std::size_t Engine::case_capacity() const {
  // The tables every open case has an entry in (timers and escalations are sized with
  // them, but not every case holds one).
  return std::min(
      {entries_before_growth(cases_), entries_before_growth(case_rule_), router_->case_capacity()});
}

Engine::AgentState* Engine::agent_state(const AgentId& id) {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : it->second.get();
}

Result<Case*> Engine::case_where(CaseId id, bool (*allowed)(CaseStatus), std::string_view needs) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (r.has_value() && !allowed(r.value()->status)) {
    return bad_state(case_name(id) + " is " + std::string(to_string(r.value()->status)) + "; " +
                     std::string(needs));
  }
  return r;
}

Result<Case*> Engine::open_case(CaseId id) {
  auto it = cases_.find(id);
  if (it == cases_.end()) {
    return not_found(case_name(id));
  }
  return &it->second;
}

void Engine::sync_load(AgentState& a) {
  a.agent.load = router_->loads(a.slot);
  a.agent.updated_at = command_now();
  touch(a);
}

Status Engine::writable() const {
  if (storage_failed_->load()) {
    return Error(ErrorCode::Unavailable,
                 "a commit to the database failed; this workspace takes no commands until it "
                 "restarts and recovers from its database");
  }
  if (journal_ != nullptr && journal_->saturated()) {
    return Error(ErrorCode::Unavailable, "the journal is full; retry shortly");
  }
  return {};
}

Result<RuleVersion> Engine::set_rules(routing::RuleSet rules) {
  BATON_RETURN_IF_ERROR(writable());
  if (rules_version_ > 0 && rules.source() == rules_.source()) {
    return RuleVersion{rules_version_, rules_.source(), command_now()};
  }
  begin();
  rules_ = std::move(rules);
  router_->set_rules(rules_);
  RuleVersion v{++rules_version_, rules_.source(), command_now()};
  pending_.rules = v;
  for (AgentState* st : agent_by_slot_) {
    if (st->agent.presence == Presence::Available) {
      pull(*st);
    }
  }
  finish();
  return v;
}

}  // namespace baton::engine
