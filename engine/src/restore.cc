// Recovery: a workspace's state rebuilt from its snapshot after a restart.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

Status Engine::restore(Snapshot snap) {
  if (!agents_.empty() || !cases_.empty()) {
    return bad_state("restore needs a new engine");
  }
  if (snap.rules) {
    auto parsed = parse_rules(snap.rules->source);
    if (!parsed) {
      return Error(ErrorCode::Internal, "saved routing rules version " +
                                            std::to_string(snap.rules->version) +
                                            " do not parse: " + parsed.error().message);
    }
    rules_ = std::move(parsed).value();
    rules_version_ = snap.rules->version;
    router_->set_rules(rules_);
  }
  begin();
  if (!snap.rules) {
    rules_version_ = 1;
    pending_.rules = RuleVersion{1, rules_.source(), command_now()};
  }
  for (Agent& a : snap.agents) {
    auto st = std::make_unique<AgentState>();
    a.load = ChannelCounts{};
    bool went_offline = a.presence != Presence::Offline;
    if (went_offline) {
      // Nobody is connected after a restart: every agent starts offline.
      a.presence = Presence::Offline;
      a.presence_since = a.updated_at = command_now();
    }
    st->agent = std::move(a);
    st->slot = router_->add_agent(routing::AgentProfile{st->agent.id.value(), st->agent.teams,
                                                        st->agent.skills, st->agent.capacity},
                                  command_now());
    BATON_CHECK(st->slot == agent_by_slot_.size(), "router slots are dense");
    agent_by_slot_.push_back(st.get());
    AgentState* raw = st.get();
    agents_.emplace(raw->agent.id, std::move(st));
    touch(*raw);
    if (went_offline) {
      record_agent_change(*raw);
    }
  }
  for (Account& acc : snap.accounts) {
    accounts_.emplace(acc.id, std::move(acc));
  }
  for (Customer& cu : snap.customers) {
    for (const auto& idn : cu.identities) {
      customer_by_identity_[identity_key(idn)] = cu.id;
    }
    customers_.emplace(cu.id, std::move(cu));
  }
  for (Handoff& h : snap.handoffs) {
    handoff_by_case_[h.to_case] = h.id;
    handoffs_.emplace(h.id, std::move(h));
  }
  for (Offer& o : snap.offers) {
    offers_.emplace(o.id, std::move(o));
  }
  std::vector<Case*> to_route;
  for (Case& c : snap.cases) {
    Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
    arm_sla(stored);  // due while the server was down: breached at the first timer tick
    if (stored.status == CaseStatus::Assigned) {
      auto* a = stored.assignee ? agent_state(*stored.assignee) : nullptr;
      if (a == nullptr || !router_->has_room(a->slot, stored.channel)) {
        finish();
        return Error(ErrorCode::Internal,
                     "stored " + case_name(stored.id) + " is assigned beyond its agent's capacity");
      }
      router_->reserve(a->slot, stored.channel, command_now());
      sync_load(*a);
    } else if (stored.status == CaseStatus::Offered) {
      to_route.push_back(&stored);
    } else if (stored.status == CaseStatus::Queued) {
      to_route.push_back(&stored);
    }
  }
  next_case_ = snap.max_case + 1;
  next_offer_ = snap.max_offer + 1;
  next_handoff_ = snap.max_handoff + 1;
  next_webhook_ = snap.max_webhook + 1;
  next_delivery_ = snap.max_delivery + 1;
  webhooks_ = std::move(snap.webhooks);
  next_event_ = snap.max_event + 1;
  next_customer_ = snap.max_customer + 1;
  next_account_ = snap.max_account + 1;
  next_arrival_ = snap.max_arrival + 1;
  // Open offers were made to agents who are not connected any more: revoke them.
  for (Case* c : to_route) {
    if (c->status != CaseStatus::Offered) {
      continue;
    }
    auto it = c->offer ? offers_.find(*c->offer) : offers_.end();
    if (it == offers_.end() || it->second.status != OfferStatus::Pending) {
      c->offer.reset();
      c->queued_at = command_now();
      set_status(*c, CaseStatus::Queued, std::string(kSystem));
      continue;
    }
    Offer& o = it->second;
    AgentState& a = *agents_.at(o.agent);
    // end_offer releases a slot: take it first so the books balance.
    router_->reserve(a.slot, c->channel, command_now());
    a.offers.push_back(o.id);
    end_offer(o, OfferStatus::Revoked, "restarted", std::string(kSystem));
    ++counters_.offers_revoked;
  }
  std::sort(to_route.begin(), to_route.end(), [](const Case* x, const Case* y) {
    return std::tie(x->priority, x->arrival) < std::tie(y->priority, y->arrival);
  });
  for (Case* c : to_route) {
    route(*c, std::string(kSystem));
  }
  finish();
  return {};
}

}  // namespace baton::engine
