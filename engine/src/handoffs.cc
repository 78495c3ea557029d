// Handoffs between support and sales: the linked case and its outcome.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

Result<Handoff> Engine::create_handoff(CaseId from, NewHandoff nh) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(from);
  if (!r) {
    return r.error();
  }
  Case& src = *r.value();
  if (src.status == CaseStatus::Closed || src.status == CaseStatus::Abandoned) {
    return bad_state(case_name(from) + " is " + std::string(to_string(src.status)));
  }
  std::optional<AgentId> target;
  std::string queue;
  const Account* account = src.account ? &accounts_.at(*src.account) : nullptr;
  if (nh.to == "sales_owner") {
    if (account == nullptr || !account->sales_owner) {
      return invalid("to", "the customer's account has no sales owner");
    }
    target = account->sales_owner;
  } else if (nh.to.starts_with("team:")) {
    std::string team = nh.to.substr(5);
    for (const auto& [name, q] : rules_.queues()) {
      if (std::find(q.teams.begin(), q.teams.end(), team) != q.teams.end()) {
        queue = name;
        break;
      }
    }
    if (queue.empty()) {
      return invalid("to", "no queue is served by team '" + team + "'");
    }
  } else {
    AgentId aid(nh.to);
    if (agents_.count(aid) == 0) {
      return invalid("to", "must be \"sales_owner\", \"team:NAME\" or a known agent id");
    }
    target = aid;
  }
  if (nh.transfer && !is_open(src.status)) {
    return bad_state(case_name(from) + " is " + std::string(to_string(src.status)) +
                     "; only an open case can be transferred");
  }

  begin();
  Handoff h;
  h.id = HandoffId(next_handoff_++);
  h.from_case = src.id;
  h.from_agent = src.assignee;
  h.to = nh.to;
  h.to_agent = target;
  h.reason = nh.reason;
  h.note = nh.note;
  h.created_at = command_now();

  Case lc;
  lc.id = CaseId(next_case_++);
  lc.channel = src.channel;
  lc.type = is_sales_reason(nh.reason)               ? "lead"
            : nh.reason == HandoffReason::Onboarding ? "onboarding"
                                                     : "support";
  lc.subject = src.subject;
  lc.customer = src.customer;
  lc.account = src.account;
  lc.priority = src.priority;
  lc.attributes = src.attributes;
  lc.from_handoff = h.id;
  lc.created_at = lc.updated_at = lc.queued_at = command_now();
  lc.arrival = next_arrival_++;
  if (queue.empty()) {
    // Leads go to the sales queue, the way back to support, as the rules say.
    // The same facts as a posted case's; the body is what the customer last wrote.
    std::string_view body;
    for (const auto& [direction, text] : nh.recent_messages) {
      if (direction == "in") {
        body = text;
      }
    }
    auto plan = plan_for(lc, body, lc.priority, {});
    queue = plan.queue;
    lc.tags = plan.tags;
    case_rule_[lc.id] = plan.queue_rule;
  } else {
    case_rule_[lc.id] = "handoff to " + nh.to;
  }
  lc.queue = queue;
  h.to_case = lc.id;
  Case& linked = cases_.emplace(lc.id, std::move(lc)).first->second;
  handoffs_.emplace(h.id, h);
  handoff_by_case_[linked.id] = h.id;
  touch_handoff(h.id);
  touch(linked);
  ++counters_.cases_created;

  std::string actor = nh.actor;
  emit(src, EventType::HandedOff, actor,
       {{"handoff_id", static_cast<double>(h.id.value())},
        {"to", nh.to},
        {"reason", std::string(to_string(nh.reason))},
        {"note", nh.note},
        {"to_case", static_cast<double>(linked.id.value())}});
  touch(src);
  emit(linked, EventType::Created, actor,
       {{"channel", std::string(to_string(linked.channel))},
        {"type", linked.type},
        {"subject", linked.subject},
        {"priority", static_cast<double>(linked.priority)},
        {"queue", linked.queue},
        {"from_case", static_cast<double>(src.id.value())}});
  emit(linked, EventType::HandedOff, actor,
       {{"handoff_id", static_cast<double>(h.id.value())},
        {"from_case", static_cast<double>(src.id.value())},
        {"reason", std::string(to_string(nh.reason))},
        {"note", nh.note},
        {"subject", src.subject}});
  {
    // The context the linked case's agent starts from: why, and what was last said.
    std::string context = "Handed off (" + std::string(to_string(nh.reason)) + ")";
    if (src.assignee) {
      context += " by " + src.assignee->value();
    }
    context += ": " + (nh.note.empty() ? std::string("no note") : nh.note);
    if (!nh.recent_messages.empty()) {
      context += "\n\nLast messages:";
      for (const auto& [direction, body] : nh.recent_messages) {
        context += "\n" + std::string(direction == "in" ? "customer" : "agent") + ": " + body;
      }
    }
    emit(linked, EventType::Note, actor, {{"body", std::move(context)}, {"context", true}});
  }

  Duration window{0};
  if (target) {
    const auto* q = rules_.find_queue(queue);
    window = q != nullptr && q->owner_first > Duration{0} ? q->owner_first : Duration{120'000};
  }
  route(linked, std::string(kSystem), target, window);

  if (nh.transfer) {
    std::optional<AgentId> worker = src.assignee;
    if (src.offer) {
      end_offer(offers_.at(*src.offer), OfferStatus::Revoked, "handed off", actor);
    }
    release_assignee(src);
    src.assignee = worker;
    src.resolved_at = command_now();
    set_status(src, CaseStatus::Resolved, actor);
    finish_case(src);
    if (worker) {
      pull(*agents_.at(*worker));
    }
  }
  // Whoever has room now (the worker, an agent whose offer of the source was revoked)
  // takes the best waiting case.
  pull_touched();
  finish();
  return handoffs_.at(h.id);
}

Result<Handoff> Engine::complete_handoff(HandoffId id, HandoffOutcome outcome, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = handoffs_.find(id);
  if (it == handoffs_.end()) {
    return not_found("handoff " + std::to_string(id.value()));
  }
  if (outcome == HandoffOutcome::None) {
    return invalid("outcome", "must be won, lost, resolved or no_action");
  }
  Handoff& h = it->second;
  if (h.status == HandoffStatus::Completed) {
    return bad_state("handoff " + std::to_string(id.value()) + " is already completed");
  }
  begin();
  h.status = HandoffStatus::Completed;
  h.outcome = outcome;
  h.completed_at = command_now();
  touch_handoff(h.id);
  std::vector<std::pair<std::string, Value>> data{{"handoff_id", static_cast<double>(h.id.value())},
                                                  {"outcome", std::string(to_string(outcome))}};
  for (CaseId cid : {h.from_case, h.to_case}) {
    if (auto c = cases_.find(cid); c != cases_.end()) {
      emit(c->second, EventType::HandoffCompleted, actor, data);
    }
  }
  finish();
  return h;
}

}  // namespace baton::engine
