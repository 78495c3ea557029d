// Offers: an agent accepts or declines.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

Result<Offer*> Engine::pending_offer(OfferId id, const AgentId& by, std::string_view verb) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = offers_.find(id);
  if (it == offers_.end() || it->second.agent != by) {
    return not_found("offer " + std::to_string(id.value()));
  }
  Offer& o = it->second;
  if (o.status != OfferStatus::Pending) {
    return bad_state("offer " + std::to_string(id.value()) + " is " +
                     std::string(to_string(o.status)) + "; only a pending offer can be " +
                     std::string(verb));
  }
  return &o;
}

Result<AcceptResult> Engine::accept_offer(OfferId id, const AgentId& by) {
  auto found = pending_offer(id, by, "accepted");
  if (!found) {
    return found.error();
  }
  Offer& o = *found.value();
  begin();
  Case& c = cases_.at(o.case_id);
  AgentState& a = *agents_.at(by);
  BATON_ASSERT(c.status == CaseStatus::Offered && c.offer == o.id, "offer and case agree");
  o.status = OfferStatus::Accepted;
  o.decided_at = command_now();
  touch(o);
  if (auto t = offer_timers_.find(o.id); t != offer_timers_.end()) {
    timers_.cancel(t->second);
    offer_timers_.erase(t);
  }
  a.offers.erase(std::remove(a.offers.begin(), a.offers.end(), o.id), a.offers.end());
  a.agent.missed_offers = 0;
  touch(a);
  c.offer.reset();
  c.assignee = by;
  c.accepted_at = command_now();
  if (!c.first_accepted_at) {
    // A case is answered once, at its first acceptance, as the reports count it.
    c.first_accepted_at = c.accepted_at;
    auto day = std::chrono::floor<std::chrono::days>(command_now()).time_since_epoch().count();
    auto& today = answered_[c.queue];
    if (today.day != day) {
      today = AnsweredToday{day, 0, 0};
    }
    ++today.answered;
    const auto* q = rules_.find_queue(c.queue);
    if (q != nullptr && q->sla.answered_in_target(c.created_at, *c.first_accepted_at)) {
      ++today.in_target;
    }
  }
  emit(c, EventType::Accepted, by.value(), {{"offer_id", static_cast<double>(o.id.value())}});
  emit(c, EventType::Assigned, by.value(), {{"agent", by.value()}});
  set_status(c, CaseStatus::Assigned, by.value());
  if (auto& cu = customers_.at(c.customer); cu.last_agent != by) {
    cu.last_agent = by;
    pending_.customers.push_back(cu);  // sticky routing survives a restart
  }
  if (auto h = handoff_by_case_.find(c.id); h != handoff_by_case_.end()) {
    Handoff& hf = handoffs_.at(h->second);
    if (hf.status == HandoffStatus::Open) {
      hf.status = HandoffStatus::Accepted;
      hf.accepted_at = command_now();
      hf.to_agent = by;
      touch_handoff(hf.id);
      std::vector<std::pair<std::string, Value>> data{
          {"handoff_id", static_cast<double>(hf.id.value())}, {"agent", by.value()}};
      emit(c, EventType::HandoffAccepted, by.value(), data);
      if (auto src = cases_.find(hf.from_case); src != cases_.end()) {
        emit(src->second, EventType::HandoffAccepted, by.value(), data);
      }
    }
  }
  ++counters_.offers_accepted;
  finish();
  return AcceptResult{offers_.at(id), cases_.at(o.case_id)};
}

Result<Offer> Engine::decline_offer(OfferId id, const AgentId& by, std::string reason) {
  auto found = pending_offer(id, by, "declined");
  if (!found) {
    return found.error();
  }
  Offer& o = *found.value();
  begin();
  AgentState& a = *agents_.at(by);
  a.agent.missed_offers = 0;
  end_offer(o, OfferStatus::Declined, reason.empty() ? "declined" : reason, by.value());
  ++counters_.offers_declined;
  // The case first (it has waited longest), then the freed slot pulls the next case.
  route(cases_.at(o.case_id), std::string(kSystem));
  pull(a);
  finish();
  return offers_.at(id);
}

}  // namespace baton::engine
