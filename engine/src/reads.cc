// Reads of the engine's state, queue statistics and the invariant check.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

const Agent* Engine::find_agent(const AgentId& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second->agent;
}

const Case* Engine::find_case(CaseId id) const {
  auto it = cases_.find(id);
  return it == cases_.end() ? nullptr : &it->second;
}

const Offer* Engine::find_offer(OfferId id) const {
  auto it = offers_.find(id);
  return it == offers_.end() ? nullptr : &it->second;
}

const Customer* Engine::find_customer(CustomerId id) const {
  auto it = customers_.find(id);
  return it == customers_.end() ? nullptr : &it->second;
}

const Account* Engine::find_account(AccountId id) const {
  auto it = accounts_.find(id);
  return it == accounts_.end() ? nullptr : &it->second;
}

const Handoff* Engine::find_handoff(HandoffId id) const {
  auto it = handoffs_.find(id);
  return it == handoffs_.end() ? nullptr : &it->second;
}

std::vector<const Offer*> Engine::pending_offers(const AgentId& agent) const {
  std::vector<const Offer*> out;
  auto it = agents_.find(agent);
  if (it == agents_.end()) {
    return out;
  }
  for (OfferId id : it->second->offers) {
    out.push_back(&offers_.at(id));
  }
  return out;
}

std::vector<const Agent*> Engine::agents() const {
  std::vector<const Agent*> out;
  for (const auto* st : agent_by_slot_) {
    out.push_back(&st->agent);
  }
  return out;
}

std::vector<QueueStats> Engine::queue_stats() const {
  std::vector<QueueStats> out;
  std::unordered_map<std::string_view, std::size_t> at;
  for (const auto& [name, q] : rules_.queues()) {
    at[name] = out.size();
    QueueStats s;
    s.queue = name;
    s.target = q.sla.target;
    s.answer_within = q.sla.answer_within;
    auto today = std::chrono::floor<std::chrono::days>(command_now()).time_since_epoch().count();
    if (auto a = answered_.find(name); a != answered_.end() && a->second.day == today) {
      s.answered_today = a->second.answered;
      s.answered_in_target_today = a->second.in_target;
    }
    for (const auto& [id, st] : agents_) {
      const Agent& ag = st->agent;
      bool serves = std::any_of(q.teams.begin(), q.teams.end(), [&](const std::string& t) {
        return std::find(ag.teams.begin(), ag.teams.end(), t) != ag.teams.end();
      });
      if (!serves) {
        continue;
      }
      bool room = false;
      int load = 0;
      for (Channel ch : kAllChannels) {
        room = room || ag.load[index_of(ch)] < ag.capacity[index_of(ch)];
        load += ag.load[index_of(ch)];
      }
      bool online = ag.presence == Presence::Available || ag.presence == Presence::WrapUp;
      if (ag.presence == Presence::Available && room) {
        ++s.agents_available;
      }
      if (online && load > 0) {
        ++s.agents_busy;
      }
    }
    out.push_back(std::move(s));
  }
  for (const auto& [id, c] : cases_) {
    if (c.status != CaseStatus::Queued && c.status != CaseStatus::Offered) {
      continue;
    }
    auto it = at.find(c.queue);
    if (it == at.end()) {
      continue;
    }
    auto& s = out[it->second];
    ++s.waiting;
    if (!s.oldest_waiting_since || c.queued_at < *s.oldest_waiting_since) {
      s.oldest_waiting_since = c.queued_at;
    }
  }
  return out;
}

std::vector<ExplainedCandidate> Engine::explain(const RoutingRecord& record) const {
  std::vector<ExplainedCandidate> out;
  out.reserve(record.candidates.size());
  for (const auto& c : record.candidates) {
    out.push_back(ExplainedCandidate{agent_by_slot_.at(c.agent)->agent.id, c.eligible(),
                                     router_->describe(c, record.queue)});
  }
  return out;
}

std::size_t Engine::waiting_count() const { return router_->stats().waiting; }

std::string Engine::check_invariants_for_test() const {
  std::unordered_map<std::string, ChannelCounts> load;
  for (const auto& [id, c] : cases_) {
    std::string name = case_name(id);
    switch (c.status) {
      case CaseStatus::Queued:
        if (c.offer) {
          return name + " is queued but has an offer";
        }
        if (c.assignee) {
          return name + " is queued but has an assignee";
        }
        break;
      case CaseStatus::Offered: {
        if (!c.offer || c.assignee) {
          return name + " is offered but has no pending offer or has an assignee";
        }
        const Offer& o = offers_.at(*c.offer);
        if (o.status != OfferStatus::Pending || o.case_id != id) {
          return name + "'s offer is not pending";
        }
        if (router_->is_waiting(id.value())) {
          return name + " is offered and still waiting";
        }
        ++load[o.agent.value()][index_of(c.channel)];
        break;
      }
      case CaseStatus::Assigned:
        if (!c.assignee || c.offer) {
          return name + " is assigned without exactly one owner";
        }
        ++load[c.assignee->value()][index_of(c.channel)];
        break;
      case CaseStatus::Pending:
        if (!c.assignee || c.offer) {
          return name + " is pending without exactly one owner";
        }
        break;
      default:
        if (c.offer) {
          return name + " is finished but has an offer";
        }
        if (router_->is_waiting(id.value())) {
          return name + " is finished but waiting";
        }
        break;
    }
  }
  std::size_t pending = 0;
  for (const auto& [id, o] : offers_) {
    if (o.status == OfferStatus::Pending) {
      ++pending;
      auto c = cases_.find(o.case_id);
      if (c == cases_.end() || c->second.offer != id) {
        return "pending offer " + std::to_string(id.value()) + " is not its case's offer";
      }
    }
  }
  std::size_t listed = 0;
  for (const auto& [id, st] : agents_) {
    const Agent& a = st->agent;
    listed += st->offers.size();
    ChannelCounts expect = load[id.value()];
    if (a.load != expect) {
      return "agent " + id.value() + "'s load does not match its offered and assigned cases";
    }
    if (a.load != router_->loads(st->slot)) {
      return "agent " + id.value() + "'s load disagrees with the router";
    }
    for (Channel ch : kAllChannels) {
      if (a.load[index_of(ch)] > a.capacity[index_of(ch)]) {
        return "agent " + id.value() + " exceeds its capacity";
      }
    }
    if (router_->available(st->slot) != (a.presence == Presence::Available)) {
      return "agent " + id.value() + "'s presence disagrees with the router";
    }
  }
  if (listed != pending) {
    return "agents' pending offers do not match the offers";
  }
  return "";
}

}  // namespace baton::engine
