// Offers (accept, decline) and handoffs between support and sales.

#include "routes_impl.h"

namespace baton::api {

void Routes::Impl::create_handoff(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  NewHandoff h;
  h.to = f.text("to", true, 200).value_or("");
  if (h.to.starts_with("agt_")) {
    h.to = h.to.substr(4);  // the engine names agents without the prefix
  }
  h.reason = f.one_of<HandoffReason>("reason", true, parse_handoff_reason,
                                     "upsell, renewal, technical, billing, onboarding, "
                                     "escalation or other")
                 .value_or(HandoffReason::Other);
  h.note = f.text("note", false, 10'000).value_or("");
  h.transfer = f.boolean("transfer").value_or(false);
  h.actor = call->who.actor;
  if (refuse_if(call, errors)) {
    return;
  }
  auto n = parse_id("case_", call->params[0]);
  if (!n) {
    finish(call, not_found("case", call->params[0]));
    return;
  }
  CaseId id(*n);
  // The source's last messages travel with the handoff (read before the command: what
  // is committed by now).
  auto recent = deps.reads.recent_messages(id, kHandoffContextMessages);
  if (!recent) {
    finish(call, from_error(recent.error()));
    return;
  }
  for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
    const Value* body = it->find("body");
    const auto* text = body != nullptr ? std::get_if<std::string>(body) : nullptr;
    if (text != nullptr) {
      h.recent_messages.emplace_back(it->type == EventType::MessageIn ? "in" : "out", *text);
    }
  }
  command(call, [this, call, id, h = std::move(h)]() mutable -> Response {
    const Case* c = deps.engine.find_case(id);
    if (c == nullptr || !sees(call->who, *c, deps.engine)) {
      return not_found("case", call->params[0]);
    }
    if (!call->who.staff() && c->assignee != call->who.agent) {
      return problem_of(403, "only the case's assignee or a supervisor may hand it off");
    }
    auto r = deps.engine.create_handoff(id, std::move(h));
    return r ? json_response(201, to_json(r.value())) : from_error(r.error());
  });
}

void Routes::Impl::list_offers(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  std::vector<FieldError> errors;
  OfferFilter f;
  query_param(call, "agent", f.agent, parse_agent_id, "an agent id (agt_…)", errors);
  query_param(call, "status", f.status, parse_offer_status,
              "pending, accepted, declined, timed_out or revoked", errors);
  if (refuse_if(call, errors)) {
    return;
  }
  if (call->who.role == kAgent) {
    if (f.agent && f.agent != call->who.agent) {
      // Another agent's offers are not this token's to see.
      finish(call, not_found("agent", query(call, "agent")));
      return;
    }
    f.agent = call->who.agent;
  }
  auto page = deps.reads.offers(f, query(call, "cursor"), *limit);
  finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
}

void Routes::Impl::get_offer(const CallPtr& call) {
  auto n = parse_id("off_", call->params[0]);
  auto o = n ? deps.reads.find_offer(OfferId(*n)) : Result<std::optional<Offer>>(std::nullopt);
  if (!o) {
    finish(call, from_error(o.error()));
    return;
  }
  if (!o.value() || (!call->who.staff() && o.value()->agent != call->who.agent)) {
    finish(call, not_found("offer", call->params[0]));
    return;
  }
  finish(call, json_response(200, to_json(*o.value())));
}

void Routes::Impl::decide_offer(const CallPtr& call, bool accept) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  std::string reason = f.text("reason", false, 1000).value_or("");
  if (refuse_if(call, errors)) {
    return;
  }
  auto n = parse_id("off_", call->params[0]);
  if (!n) {
    finish(call, not_found("offer", call->params[0]));
    return;
  }
  command(call, [this, call, id = OfferId(*n), accept, reason]() -> std::optional<Response> {
    const Offer* o = deps.engine.find_offer(id);
    if (o == nullptr) {
      // An offer of a case that left memory: the history knows how it ended.
      off_strand(call, [this, call, id]() -> Response {
        auto stored = deps.reads.find_offer(id);
        if (stored && stored.value() &&
            (call->who.staff() || stored.value()->agent == call->who.agent)) {
          return problem_of(409, "offer " + offer_id(id) + " is " +
                                     std::string(to_string(stored.value()->status)));
        }
        return not_found("offer", call->params[0]);
      });
      return std::nullopt;
    }
    if (!call->who.staff() && o->agent != call->who.agent) {
      return not_found("offer", call->params[0]);
    }
    if (o->status != OfferStatus::Pending) {
      return problem_of(409, "offer " + offer_id(id) + " is " + std::string(to_string(o->status)));
    }
    AgentId by = o->agent;  // a supervisor acts for the offer's agent
    if (accept) {
      auto r = deps.engine.accept_offer(id, by);
      if (!r) {
        return from_error(r.error());
      }
      return json_response(200,
                           json::object{{"offer", to_json(r->offer)}, {"case", to_json(r->case_)}});
    }
    auto r = deps.engine.decline_offer(id, by, reason);
    return r ? json_response(200, to_json(r.value())) : from_error(r.error());
  });
}

void Routes::Impl::list_handoffs(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  std::vector<FieldError> errors;
  HandoffFilter f;
  query_param(call, "status", f.status, parse_handoff_status, "open, accepted or completed",
              errors);
  query_param(call, "reason", f.reason, parse_handoff_reason, "a handoff reason", errors);
  query_param(call, "from_agent", f.from_agent, parse_agent_id, "an agent id (agt_…)", errors);
  query_param(call, "to_agent", f.to_agent, parse_agent_id, "an agent id (agt_…)", errors);
  if (refuse_if(call, errors)) {
    return;
  }
  if (call->who.role == kAgent && f.from_agent != call->who.agent &&
      f.to_agent != call->who.agent) {
    f.to_agent = call->who.agent;  // an agent sees the handoffs it sent or received
  }
  auto page = deps.reads.handoffs(f, query(call, "cursor"), *limit);
  finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
}

bool Routes::Impl::sees(const Principal& who, const Handoff& h) const {
  return who.staff() || h.from_agent == who.agent || h.to_agent == who.agent;
}

void Routes::Impl::get_handoff(const CallPtr& call) {
  auto n = parse_id("hof_", call->params[0]);
  auto h =
      n ? deps.reads.find_handoff(HandoffId(*n)) : Result<std::optional<Handoff>>(std::nullopt);
  if (!h) {
    finish(call, from_error(h.error()));
    return;
  }
  if (!h.value() || !sees(call->who, *h.value())) {
    finish(call, not_found("handoff", call->params[0]));
    return;
  }
  finish(call, json_response(200, to_json(*h.value())));
}

void Routes::Impl::complete_handoff(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto outcome = f.one_of<HandoffOutcome>("outcome", true, parse_handoff_outcome,
                                          "won, lost, resolved or no_action");
  if (refuse_if(call, errors)) {
    return;
  }
  auto n = parse_id("hof_", call->params[0]);
  if (!n) {
    finish(call, not_found("handoff", call->params[0]));
    return;
  }
  command(call, [this, call, id = HandoffId(*n), outcome = *outcome]() -> Response {
    const Handoff* h = deps.engine.find_handoff(id);
    if (h == nullptr || !sees(call->who, *h)) {
      return not_found("handoff", call->params[0]);
    }
    auto r = deps.engine.complete_handoff(id, outcome, call->who.actor);
    return r ? json_response(200, to_json(r.value())) : from_error(r.error());
  });
}

}  // namespace baton::api
