// Timers: offer time-outs, owner windows, SLA clocks, escalation steps, wrap-up and
// presence grace.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

void Engine::fire_due_timers() {
  check_owner();
  if (!writable().has_value()) {
    return;  // timers wait until the workspace takes commands again
  }
  while (auto t = timers_.pop_due(command_now())) {
    begin();
    on_timer(t->second);
    finish();
  }
}

void Engine::on_timer(const Timer& t) {
  switch (t.kind) {
    case TimerKind::OfferTimeout: {
      OfferId oid(t.subject);
      offer_timers_.erase(oid);
      auto it = offers_.find(oid);
      if (it == offers_.end() || it->second.status != OfferStatus::Pending) {
        return;
      }
      Offer& o = it->second;
      AgentState& a = *agents_.at(o.agent);
      end_offer(o, OfferStatus::TimedOut, "no answer", std::string(kSystem));
      ++counters_.offers_timed_out;
      ++a.agent.missed_offers;
      touch(a);
      Case& lapsed = cases_.at(o.case_id);
      if (config_.away_after_missed_offers > 0 &&
          a.agent.missed_offers >= config_.away_after_missed_offers &&
          a.agent.presence == Presence::Available) {
        // An agent who lets offers lapse again and again is not really there: its other
        // offers go back too, and all of them are routed again most urgent first.
        set_agent_presence(a, Presence::Away, std::string(kSystem), &lapsed);
      } else {
        route(lapsed, std::string(kSystem));
        pull(a);
      }
      return;
    }
    case TimerKind::OwnerWindow: {
      CaseId cid(t.subject);
      owner_timers_.erase(cid);
      if (auto it = cases_.find(cid); it != cases_.end()) {
        end_reservation(it->second, "window over");
      } else {
        reserved_.erase(cid);
      }
      return;
    }
    case TimerKind::SlaFirstResponse:
      on_sla_timer(CaseId(t.subject), kFirstResponseBreached);
      return;
    case TimerKind::SlaResolution:
      on_sla_timer(CaseId(t.subject), kResolutionBreached);
      return;
    case TimerKind::Escalation: {
      CaseId cid(t.subject);
      escalation_timers_.erase(cid);
      if (auto it = cases_.find(cid); it != cases_.end()) {
        escalate(it->second);
      }
      return;
    }
    case TimerKind::WrapUpEnd: {
      AgentState& a = *agent_by_slot_.at(t.subject);
      a.wrap_timer.reset();
      if (a.agent.presence == Presence::WrapUp) {
        set_agent_presence(a, Presence::Available, std::string(kSystem));
      }
      return;
    }
    case TimerKind::PresenceGrace: {
      AgentState& a = *agent_by_slot_.at(t.subject);
      a.grace_timer.reset();
      if (a.streams == 0 &&
          (a.agent.presence == Presence::Available || a.agent.presence == Presence::WrapUp)) {
        // Gone without saying so (closed the tab, lost the network): no new offers.
        set_agent_presence(a, Presence::Away, std::string(kSystem));
      }
      return;
    }
  }
}

void Engine::arm_sla(const Case& c) {
  if (c.first_response_due && !c.first_response_at &&
      (c.sla_breached & kFirstResponseBreached) == 0) {
    timers_.schedule(*c.first_response_due, Timer{TimerKind::SlaFirstResponse, c.id.value()});
  }
  if (c.resolution_due && !c.sla_paused_at && (c.sla_breached & kResolutionBreached) == 0) {
    timers_.schedule(*c.resolution_due, Timer{TimerKind::SlaResolution, c.id.value()});
  }
}

void Engine::on_sla_timer(CaseId id, std::uint8_t which) {
  auto it = cases_.find(id);
  if (it == cases_.end()) {
    return;
  }
  Case& c = it->second;
  bool first = which == kFirstResponseBreached;
  const auto& due = first ? c.first_response_due : c.resolution_due;
  // A timer made stale by a pause (the due time moved) or by the work being done.
  if (!due || command_now() < *due || (c.sla_breached & which) != 0 ||
      (first && c.first_response_at) || (!first && c.sla_paused_at) ||
      c.status == CaseStatus::Resolved || c.status == CaseStatus::Closed ||
      c.status == CaseStatus::Abandoned) {
    return;
  }
  c.sla_breached |= which;
  emit(c, EventType::SlaBreached, std::string(kSystem),
       {{"target", std::string(first ? "first_response" : "resolution")},
        {"due_ms", static_cast<double>(due->time_since_epoch().count())},
        {"queue", c.queue}});
  touch(c);
}

void Engine::arm_escalation(const Case& c) {
  const auto* q = rules_.find_queue(c.queue);
  if (q == nullptr || c.status != CaseStatus::Queued ||
      c.escalation_step >= static_cast<int>(q->escalation.size())) {
    return;
  }
  TimePoint due = c.queued_at + q->escalation[static_cast<std::size_t>(c.escalation_step)].after;
  if (auto t = escalation_timers_.find(c.id); t != escalation_timers_.end()) {
    timers_.cancel(t->second);
  }
  escalation_timers_[c.id] =
      timers_.schedule(std::max(due, command_now()), Timer{TimerKind::Escalation, c.id.value()});
}

void Engine::escalate(Case& c) {
  const auto* q = rules_.find_queue(c.queue);
  if (q == nullptr || c.status != CaseStatus::Queued || !router_->is_waiting(c.id.value()) ||
      owner_timers_.count(c.id) != 0 ||
      c.escalation_step >= static_cast<int>(q->escalation.size())) {
    return;  // offered or taken meanwhile, or still waiting for its reserved agent
  }
  const auto& step = q->escalation[static_cast<std::size_t>(c.escalation_step)];
  ++c.escalation_step;
  std::vector<std::pair<std::string, Value>> data{{"step", static_cast<double>(c.escalation_step)},
                                                  {"after", format_duration(step.after)},
                                                  {"queue", c.queue}};
  if (step.relax_skills > 0 && !c.required_skills.empty()) {
    for (auto& [skill, level] : c.required_skills) {
      level = std::max(1, level - step.relax_skills);
    }
    data.emplace_back("relax_skills", static_cast<double>(step.relax_skills));
  }
  if (!step.widen_to.empty()) {
    data.emplace_back("widen_to", step.widen_to);
  }
  if (step.raise_priority > 0) {
    c.priority = std::max(1, c.priority - step.raise_priority);
    data.emplace_back("priority", static_cast<double>(c.priority));
  }
  emit(c, EventType::Escalated, std::string(kSystem), std::move(data));
  touch(c);
  // Back in line with the new requirements: its place (arrival) is kept.
  router_->withdraw(c.id.value());
  route(c, std::string(kSystem));
}

}  // namespace baton::engine
