// Cases: creation, messages, notes, transfers, CSAT and priority.

#include "baton/engine/identity.h"

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

routing::RoutingPlan Engine::plan_for(const Case& c, std::string_view body, int client_priority,
                                      const SkillLevels& client_skills) {
  std::string customer_id = std::to_string(c.customer.value());
  std::string account_id = c.account ? std::to_string(c.account->value()) : "";
  routing::CaseFacts facts;
  facts.channel = to_string(c.channel);
  facts.type = c.type;
  facts.subject = c.subject;
  facts.body = body;
  facts.external_ref = c.external_ref;
  facts.priority = client_priority;
  facts.customer_id = customer_id;
  if (auto cu = customers_.find(c.customer); cu != customers_.end()) {
    facts.customer_name = cu->second.name;
  }
  if (c.account) {
    const Account& account = accounts_.at(*c.account);
    facts.has_account = true;
    facts.account_id = account_id;
    facts.account_name = account.name;
    facts.account_tier = account.tier;
    facts.account_segment = account.segment;
  }
  facts.attributes = &c.attributes;
  auto plan = rules_.plan(facts, client_priority, client_skills);
  for (const auto& rule : plan.cut_short_rules) {
    ++counters_.match_cut_short;
    if (warn_) {
      warn_(c.id, "rule '" + rule + "' read only the first " +
                      std::to_string(rules_.limits().expr.text_bytes) +
                      " bytes of a longer text and did not match (routing.match_text_bytes)");
    }
  }
  return plan;
}

Result<Case> Engine::create_case(NewCase nc) {
  BATON_RETURN_IF_ERROR(writable());
  if (nc.priority != 0 && (nc.priority < kMinPriority || nc.priority > kMaxPriority)) {
    return invalid("priority", "must be 1–5");
  }
  if (nc.type.empty()) {
    return invalid("type", "must not be empty");
  }
  if (nc.subject.size() > 1000) {
    return invalid("subject", "must be at most 1000 bytes");
  }
  if (auto e = check_skills(nc.required_skills, "required_skills")) {
    return *e;
  }
  const Customer* known = nullptr;
  if (nc.customer.id) {
    auto it = customers_.find(*nc.customer.id);
    if (it == customers_.end()) {
      return invalid("customer.id", "unknown customer");
    }
    if (it->second.merged_into) {
      it = customers_.find(*it->second.merged_into);  // merges point at the survivor
    }
    known = &it->second;
  } else if (nc.customer.identity) {
    auto canonical = normalize_address(nc.customer.identity->channel, nc.customer.identity->address,
                                       config_.default_country);
    if (!canonical) {
      return invalid("customer.address", canonical.error().message);
    }
    nc.customer.identity->address = std::move(canonical).value();
    auto it = customer_by_identity_.find(identity_key(*nc.customer.identity));
    if (it != customer_by_identity_.end()) {
      known = &customers_.at(it->second);
    }
  } else {
    return invalid("customer", "must be {\"id\"} or an identity {\"channel\", \"address\"}");
  }

  begin();
  if (known == nullptr) {
    Customer cu;
    cu.id = CustomerId(next_customer_++);
    cu.name = nc.customer.name;
    cu.identities.push_back(*nc.customer.identity);
    cu.created_at = command_now();
    customer_by_identity_[identity_key(cu.identities[0])] = cu.id;
    pending_.customers.push_back(cu);
    known = &customers_.emplace(cu.id, std::move(cu)).first->second;
  }
  const Account* account = nullptr;
  if (known->account) {
    account = &accounts_.at(*known->account);
  }

  Case c;
  c.id = CaseId(next_case_++);
  c.channel = nc.channel;
  c.type = std::move(nc.type);
  c.subject = std::move(nc.subject);
  c.customer = known->id;
  c.account = known->account;
  c.attributes = std::move(nc.attributes);
  c.external_ref = std::move(nc.external_ref);
  c.created_by = nc.actor;
  c.created_at = c.updated_at = c.queued_at = command_now();
  c.arrival = next_arrival_++;

  c.posted_priority = nc.priority;
  c.posted_skills = nc.required_skills;
  auto plan = plan_for(c, nc.body, nc.priority, nc.required_skills);
  c.queue = plan.queue;
  c.priority = plan.priority;
  c.required_skills = std::move(plan.required_skills);
  c.tags = std::move(plan.tags);
  c.suggested_handoffs = std::move(plan.suggested_handoffs);
  if (const auto* q = rules_.find_queue(c.queue)) {
    // Due times count the queue's business hours only.
    auto targets = q->sla.targets_for(c.priority);
    const auto& hours = rules_.hours_for(*q);
    if (targets.first_response) {
      c.first_response_due = hours.add(c.created_at, *targets.first_response);
    }
    if (targets.resolution) {
      c.resolution_due = hours.add(c.created_at, *targets.resolution);
    }
  }
  case_rule_[c.id] = plan.queue_rule;
  Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
  touch(stored);
  arm_sla(stored);
  ++counters_.cases_created;

  std::vector<std::pair<std::string, Value>> created{
      {"channel", std::string(to_string(stored.channel))},
      {"type", stored.type},
      {"subject", stored.subject},
      {"priority", static_cast<double>(stored.priority)},
      {"queue", stored.queue}};
  if (!plan.matched_rules.empty()) {
    std::string rules;
    for (const auto& r : plan.matched_rules) {
      rules += (rules.empty() ? "" : ", ") + r;
    }
    created.emplace_back("rules", rules);
  }
  if (!stored.suggested_handoffs.empty()) {
    created.emplace_back("suggested_handoff", stored.suggested_handoffs.front());
  }
  emit(stored, EventType::Created, nc.actor, std::move(created));
  if (!nc.body.empty()) {
    emit(stored, EventType::MessageIn, nc.actor, {{"body", std::move(nc.body)}});
  }

  std::optional<AgentId> owner;
  Duration window{0};
  bool sticky = false;
  const auto* queue = rules_.find_queue(stored.queue);
  if (plan.route_to_owner && account != nullptr && account->sales_owner &&
      agents_.count(*account->sales_owner) != 0) {
    owner = account->sales_owner;
    if (queue != nullptr) {
      window = queue->owner_first;
    }
  } else if (queue != nullptr && queue->sticky_for > Duration{0} && known->last_agent) {
    // A returning customer: the agent who last helped them, if online and in a team of
    // this queue, for a while. Never an agent who is away or offline.
    const AgentState* last = agent_state(*known->last_agent);
    bool online = last != nullptr && (last->agent.presence == Presence::Available ||
                                      last->agent.presence == Presence::WrapUp);
    bool serves =
        online && std::any_of(queue->teams.begin(), queue->teams.end(), [&](const std::string& t) {
          const auto& mine = last->agent.teams;
          return std::find(mine.begin(), mine.end(), t) != mine.end();
        });
    if (serves) {
      owner = known->last_agent;
      window = queue->sticky_for;
      sticky = true;
    }
  }
  route(stored, std::string(kSystem), owner, window);
  if (owner && owner_timers_.count(stored.id) != 0) {
    reserved_[stored.id] = Reservation{*owner, sticky};
  }
  finish();
  return cases_.at(stored.id);
}

Result<Case> Engine::add_message(CaseId id, bool inbound, std::string body, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (body.empty()) {
    return invalid("body", "must not be empty");
  }
  if (c.status == CaseStatus::Closed || c.status == CaseStatus::Abandoned) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)) +
                     "; it takes no messages");
  }
  if (!inbound && c.status != CaseStatus::Assigned && c.status != CaseStatus::Pending) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)) +
                     "; a reply needs an assigned case");
  }
  begin();
  emit(c, inbound ? EventType::MessageIn : EventType::MessageOut, actor,
       {{"body", std::move(body)}});
  c.updated_at = command_now();
  touch(c);
  if (!inbound && !c.first_response_at) {
    c.first_response_at = command_now();
  }
  if (inbound && c.status == CaseStatus::Pending && c.assignee) {
    // The customer answered: back to the agent if it has room; else it stays pending
    // and the message waits on the timeline (the agent is at capacity).
    AgentState& a = *agents_.at(*c.assignee);
    if (router_->has_room(a.slot, c.channel)) {
      router_->reserve(a.slot, c.channel, command_now());
      sync_load(a);
      set_status(c, CaseStatus::Assigned, std::string(kSystem));
    }
  } else if (inbound && c.status == CaseStatus::Resolved) {
    // A new message on a resolved case reopens it.
    c.resolved_at.reset();
    c.assignee.reset();
    requeue(c, std::string(kSystem));
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::add_note(CaseId id, std::string body, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  if (body.empty()) {
    return invalid("body", "must not be empty");
  }
  begin();
  Case& c = *r.value();
  emit(c, EventType::Note, actor, {{"body", std::move(body)}});
  c.updated_at = command_now();
  touch(c);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::transfer_to_queue(CaseId id, std::string queue, std::string actor,
                                       std::string note) {
  auto r = case_where(id, is_open, "only an open case can be transferred");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (rules_.find_queue(queue) == nullptr) {
    return invalid("to_queue", "unknown queue '" + queue + "'");
  }
  begin();
  AgentState* freed = c.assignee ? agents_.at(*c.assignee).get() : nullptr;
  if (c.offer) {
    freed = agents_.at(offers_.at(*c.offer).agent).get();
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case transferred", actor);
  }
  release_assignee(c);
  std::string from = c.queue;
  c.queue = queue;
  c.escalation_step = 0;  // the new queue's steps, from the start
  if (auto t = owner_timers_.find(c.id); t != owner_timers_.end()) {
    timers_.cancel(t->second);  // no longer waiting for one agent
    owner_timers_.erase(t);
  }
  reserved_.erase(c.id);
  case_rule_[c.id] = "transfer";
  emit(c, EventType::Transferred, actor,
       {{"from_queue", from}, {"to_queue", queue}, {"note", note}});
  c.queued_at = command_now();
  set_status(c, CaseStatus::Queued, actor);
  // The freed agent weighs this case against everything else waiting before the case
  // looks for an agent: it takes the best it can, which may be this case or another.
  router_->enqueue(request_for(c));
  if (freed != nullptr && freed->agent.presence == Presence::Available) {
    pull(*freed);
  }
  if (router_->is_waiting(c.id.value())) {
    route(c, actor);
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::transfer_to_agent(CaseId id, const AgentId& to, std::string actor,
                                       std::string note) {
  auto r = case_where(id, is_open, "only an open case can be transferred");
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  AgentState* target = agent_state(to);
  if (target == nullptr) {
    return invalid("to_agent", "unknown agent " + to.value());
  }
  if (c.assignee == to) {
    return bad_state("agent " + to.value() + " already owns " + case_name(id));
  }
  if (target->agent.presence != Presence::Available) {
    return bad_state("agent " + to.value() + " is " +
                     std::string(to_string(target->agent.presence)));
  }
  // A slot freed on the target by revoking its own offer of this case counts as room.
  bool offered_to_target = c.offer && offers_.at(*c.offer).agent == to;
  if (!offered_to_target && !router_->has_room(target->slot, c.channel)) {
    return bad_state("agent " + to.value() + " is at capacity for " +
                     std::string(to_string(c.channel)));
  }
  begin();
  AgentState* freed = c.assignee ? agents_.at(*c.assignee).get() : nullptr;
  if (c.offer) {
    freed = agents_.at(offers_.at(*c.offer).agent).get();
    end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case transferred", actor);
  }
  release_assignee(c);
  emit(c, EventType::Transferred, actor, {{"to_agent", to.value()}, {"note", note}});
  router_->withdraw(c.id.value());
  c.queued_at = command_now();
  set_status(c, CaseStatus::Queued, actor);
  router_->reserve(target->slot, c.channel, command_now());
  make_offer(c, *target);
  if (freed != nullptr && freed != target && freed->agent.presence == Presence::Available) {
    pull(*freed);
  }
  finish();
  return cases_.at(id);
}

Result<Case> Engine::record_csat(CaseId id, int score, std::string comment, std::string actor,
                                 const Case* finished) {
  BATON_RETURN_IF_ERROR(writable());
  if (score < 1 || score > 5) {
    return invalid("score", "must be 1–5");
  }
  if (cases_.count(id) == 0 && finished != nullptr && finished->id == id &&
      !is_open(finished->status)) {
    // Surveys come back after the case closed and left memory: the rating joins its
    // timeline; the case itself does not change.
    begin();
    emit(*finished, EventType::Csat, actor,
         {{"score", static_cast<double>(score)}, {"comment", std::move(comment)}});
    finish();
    return *finished;
  }
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  begin();
  Case& c = *r.value();
  emit(c, EventType::Csat, actor,
       {{"score", static_cast<double>(score)}, {"comment", std::move(comment)}});
  touch(c);
  finish();
  return cases_.at(id);
}

Result<Case> Engine::set_priority(CaseId id, int priority, std::string actor) {
  BATON_RETURN_IF_ERROR(writable());
  auto r = open_case(id);
  if (!r) {
    return r.error();
  }
  if (priority < kMinPriority || priority > kMaxPriority) {
    return invalid("priority", "must be 1–5");
  }
  Case& c = *r.value();
  if (!is_open(c.status)) {
    return bad_state(case_name(id) + " is " + std::string(to_string(c.status)));
  }
  begin();
  int from = c.priority;
  c.priority = priority;
  c.updated_at = command_now();
  touch(c);
  emit(c, EventType::PriorityChanged, actor,
       {{"from", static_cast<double>(from)}, {"to", static_cast<double>(priority)}});
  if (c.status == CaseStatus::Queued && router_->is_waiting(c.id.value())) {
    route(c, actor);  // takes its new place in line (or an agent now)
  }
  finish();
  return cases_.at(id);
}

}  // namespace baton::engine
