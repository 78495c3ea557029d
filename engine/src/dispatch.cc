// Dispatch: routing a case, offers made and ended, agents pulling work, and
// routing reserved for one agent (the account owner or the last agent).

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

routing::CaseRequest Engine::request_for(const Case& c) const {
  routing::CaseRequest r;
  r.key = c.id.value();
  r.queue = c.queue;
  if (const auto* q = rules_.find_queue(c.queue)) {
    // Escalation steps taken so far may have widened the case to other queues' teams.
    for (int i = 0; i < c.escalation_step && i < static_cast<int>(q->escalation.size()); ++i) {
      if (const auto& w = q->escalation[static_cast<std::size_t>(i)].widen_to; !w.empty()) {
        r.queue += "+" + w;
      }
    }
  }
  r.channel = c.channel;
  r.priority = c.priority;
  r.required_skills = c.required_skills;
  r.arrival = c.arrival;
  r.queued_at = c.queued_at;
  return r;
}

void Engine::record(const routing::Decision& d, const Case& c) {
  if (!decision_sink_) {
    return;
  }
  RoutingRecord rec;
  rec.case_id = c.id;
  rec.at = command_now();
  auto it = case_rule_.find(c.id);
  rec.rule = it == case_rule_.end() ? "" : it->second;
  rec.queue = c.queue;
  rec.required_skills = c.required_skills;
  rec.candidates = d.candidates;
  if (d.chosen) {
    rec.chosen = agent_by_slot_[*d.chosen]->agent.id;
  }
  rec.why = d.why;
  decision_sink_(std::move(rec));
}

void Engine::apply(const routing::Decision& d, Case& c) {
  record(d, c);
  if (d.chosen) {
    make_offer(c, *agent_by_slot_[*d.chosen]);
  } else {
    arm_escalation(c);
  }
}

void Engine::route(Case& c, const std::string& actor, std::optional<AgentId> reserve_for,
                   Duration reserve_window) {
  BATON_ASSERT(c.status == CaseStatus::Queued, "only queued cases are routed");
  routing::CaseRequest req = request_for(c);
  AgentState* reserved = reserve_for ? agent_state(*reserve_for) : nullptr;
  if (reserved != nullptr) {
    req.reserved_for = reserved->slot;
    auto d = router_->route(req, command_now());
    emit(c, EventType::Routed, actor,
         {{"queue", c.queue}, {"to_agent", reserved->agent.id.value()}, {"why", d.why}});
    if (d.chosen) {
      apply(d, c);
      return;
    }
    if (reserve_window > Duration{0}) {
      record(d, c);
      owner_timers_[c.id] = timers_.schedule(command_now() + reserve_window,
                                             Timer{TimerKind::OwnerWindow, c.id.value()});
      return;
    }
    // No window: go to the queue at once.
    auto d2 = router_->end_reservation(c.id.value(), command_now());
    apply(d2, c);
    return;
  }
  auto d = router_->route(req, command_now());
  emit(c, EventType::Routed, actor, {{"queue", c.queue}, {"why", d.why}});
  apply(d, c);
}

void Engine::make_offer(Case& c, AgentState& a) {
  // The router has reserved a slot for this offer.
  BATON_ASSERT(c.status == CaseStatus::Queued, "only a queued case is offered");
  BATON_ASSERT(!c.assignee && !c.offer, "a case has at most one owner");
  Offer o;
  o.id = OfferId(next_offer_++);
  o.case_id = c.id;
  o.agent = a.agent.id;
  o.created_at = command_now();
  const auto* q = rules_.find_queue(c.queue);
  Duration timeout = q != nullptr ? q->offer_timeout_for(c.channel) : Duration{30'000};
  o.expires_at = o.created_at + timeout;
  offer_timers_[o.id] =
      timers_.schedule(o.expires_at, Timer{TimerKind::OfferTimeout, o.id.value()});
  c.offer = o.id;
  a.offers.push_back(o.id);
  sync_load(a);
  emit(c, EventType::Offered, std::string(kSystem),
       {{"offer_id", static_cast<double>(o.id.value())},
        {"agent", a.agent.id.value()},
        {"expires_at", static_cast<double>(o.expires_at.time_since_epoch().count())}});
  set_status(c, CaseStatus::Offered, std::string(kSystem));
  touch(o);
  offers_.emplace(o.id, std::move(o));
  ++counters_.offers_made;
}

void Engine::pull_touched() {
  // pull() may touch more agents; those it reaches have just been offered work.
  for (AgentState* t : std::vector<AgentState*>(touched_agents_)) {
    if (t->agent.presence == Presence::Available) {
      pull(*t);
    }
  }
}

void Engine::pull(AgentState& a) {
  while (auto d = router_->pull(a.slot, command_now())) {
    Case& c = cases_.at(CaseId(d->case_key));
    apply(*d, c);
  }
}

void Engine::end_offer(Offer& o, OfferStatus status, const std::string& reason,
                       const std::string& actor) {
  BATON_ASSERT(o.status == OfferStatus::Pending, "only a pending offer ends");
  o.status = status;
  o.decided_at = command_now();
  o.reason = reason;
  touch(o);
  if (auto t = offer_timers_.find(o.id); t != offer_timers_.end()) {
    timers_.cancel(t->second);
    offer_timers_.erase(t);
  }
  AgentState& a = *agents_.at(o.agent);
  a.offers.erase(std::remove(a.offers.begin(), a.offers.end(), o.id), a.offers.end());
  Case& c = cases_.at(o.case_id);
  c.offer.reset();
  router_->release(a.slot, c.channel, command_now());
  sync_load(a);
  if (status == OfferStatus::Declined || status == OfferStatus::TimedOut) {
    router_->exclude(c.id.value(), a.slot);
  }
  EventType type = status == OfferStatus::Declined   ? EventType::Declined
                   : status == OfferStatus::TimedOut ? EventType::OfferTimedOut
                                                     : EventType::OfferRevoked;
  emit(c, type, actor,
       {{"offer_id", static_cast<double>(o.id.value())},
        {"agent", a.agent.id.value()},
        {"reason", reason}});
  if (is_open(c.status)) {
    c.queued_at = command_now();
    set_status(c, CaseStatus::Queued, actor);
  }
}

void Engine::release_assignee(Case& c) {
  if (!c.assignee) {
    return;
  }
  AgentState& a = *agents_.at(*c.assignee);
  // Pending cases wait on the customer and hold no slot.
  if (c.status == CaseStatus::Assigned) {
    router_->release(a.slot, c.channel, command_now());
    sync_load(a);
  }
  c.assignee.reset();
  touch(c);
}

void Engine::requeue(Case& c, const std::string& actor) {
  c.queued_at = command_now();
  set_status(c, CaseStatus::Queued, actor);
  route(c, actor);
}

void Engine::finish_case(Case& c) {
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);
    owner_timers_.erase(t);
  }
  reserved_.erase(c.id);
  if (auto t = escalation_timers_.find(c.id); t != escalation_timers_.end()) {
    timers_.cancel(t->second);
    escalation_timers_.erase(t);
  }
  router_->withdraw(c.id.value());
  if (c.status == CaseStatus::Closed || c.status == CaseStatus::Abandoned) {
    finished_.push_back(c.id);
  }
}

void Engine::end_reservations_of(const AgentId& agent, const std::string& why) {
  std::vector<CaseId> ids;
  for (const auto& [id, r] : reserved_) {
    if (r.agent == agent && r.sticky) {
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (CaseId id : ids) {
    end_reservation(cases_.at(id), why);
  }
}

void Engine::end_reservation(Case& c, const std::string& why) {
  auto r = reserved_.find(c.id);
  std::string who = r != reserved_.end() && r->second.sticky ? "last agent " : "account owner ";
  if (r != reserved_.end()) {
    reserved_.erase(r);
  }
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);
    owner_timers_.erase(t);
  }
  if (c.status != CaseStatus::Queued || !router_->is_waiting(c.id.value())) {
    return;
  }
  emit(c, EventType::Escalated, std::string(kSystem), {{"step", who + why}, {"queue", c.queue}});
  touch(c);
  auto d = router_->end_reservation(c.id.value(), command_now());
  apply(d, c);
}

}  // namespace baton::engine
