// Agents: creation, changes, presence and the stream connections that keep it.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

namespace {

bool valid_agent_id(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

std::optional<Error> check_capacity(const ChannelCounts& cap) {
  for (Channel ch : kAllChannels) {
    int c = cap[index_of(ch)];
    if (c < 0 || c > 100) {
      return invalid("capacity." + std::string(to_string(ch)), "must be 0–100");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> internal::check_skills(const SkillLevels& skills, const std::string& field) {
  for (const auto& [name, level] : skills) {
    if (name.empty()) {
      return invalid(field, "skill names must not be empty");
    }
    if (level < kMinSkillLevel || level > kMaxSkillLevel) {
      return invalid(field + "." + name, "must be 1–10");
    }
  }
  return std::nullopt;
}

void Engine::record_agent_change(const AgentState& st) {
  const Agent& a = st.agent;
  pending_.agent_changes.push_back(
      AgentChange{a.id, command_now(), a.presence, a.capacity, a.teams, a.skills});
}

Result<Agent> Engine::create_agent(NewAgent na) {
  BATON_RETURN_IF_ERROR(writable());
  if (!valid_agent_id(na.id.value())) {
    return invalid("id", "must be 1–64 of a-z, 0-9, _ and -");
  }
  if (agents_.count(na.id) != 0) {
    return Error(ErrorCode::AlreadyExists, "agent " + na.id.value() + " already exists");
  }
  if (na.name.empty()) {
    return invalid("name", "must not be empty");
  }
  if (auto e = check_skills(na.skills, "skills")) {
    return *e;
  }
  if (auto e = check_capacity(na.capacity)) {
    return *e;
  }
  begin();
  auto st = std::make_unique<AgentState>();
  Agent& a = st->agent;
  a.id = na.id;
  a.name = std::move(na.name);
  a.role = na.role;
  a.teams = std::move(na.teams);
  a.skills = std::move(na.skills);
  a.languages = std::move(na.languages);
  a.capacity = na.capacity;
  a.presence = Presence::Offline;
  a.presence_since = a.created_at = a.updated_at = command_now();
  routing::AgentProfile p{a.id.value(), a.teams, a.skills, a.capacity};
  st->slot = router_->add_agent(p, command_now());
  BATON_CHECK(st->slot == agent_by_slot_.size(), "router slots are dense");
  agent_by_slot_.push_back(st.get());
  AgentState* raw = st.get();
  agents_.emplace(a.id, std::move(st));
  touch(*raw);
  record_agent_change(*raw);
  finish();
  return raw->agent;
}

Result<Agent> Engine::update_agent(const AgentId& id, AgentPatch patch) {
  BATON_RETURN_IF_ERROR(writable());
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return not_found("agent " + id.value());
  }
  if (patch.name && patch.name->empty()) {
    return invalid("name", "must not be empty");
  }
  if (patch.skills) {
    if (auto e = check_skills(*patch.skills, "skills")) {
      return *e;
    }
  }
  if (patch.capacity) {
    if (auto e = check_capacity(*patch.capacity)) {
      return *e;
    }
    for (Channel ch : kAllChannels) {
      if ((*patch.capacity)[index_of(ch)] < st->agent.load[index_of(ch)]) {
        return Error(
            ErrorCode::FailedPrecondition,
            "capacity for " + std::string(to_string(ch)) + " is below the agent's " +
                "current load of " + std::to_string(st->agent.load[index_of(ch)]),
            {FieldError{"capacity." + std::string(to_string(ch)), "below the current load"}});
      }
    }
  }
  begin();
  Agent& a = st->agent;
  if (patch.name) {
    a.name = std::move(*patch.name);
  }
  if (patch.role) {
    a.role = *patch.role;
  }
  if (patch.teams) {
    a.teams = std::move(*patch.teams);
  }
  if (patch.skills) {
    a.skills = std::move(*patch.skills);
  }
  if (patch.languages) {
    a.languages = std::move(*patch.languages);
  }
  if (patch.capacity) {
    a.capacity = *patch.capacity;
  }
  a.updated_at = command_now();
  router_->update_agent(st->slot,
                        routing::AgentProfile{a.id.value(), a.teams, a.skills, a.capacity});
  touch(*st);
  if (patch.teams || patch.skills || patch.capacity) {
    record_agent_change(*st);
  }
  pull(*st);
  finish();
  return st->agent;
}

void Engine::set_agent_presence(AgentState& st, Presence p, const std::string& actor,
                                Case* requeued) {
  Agent& a = st.agent;
  if (a.presence == p) {
    return;
  }
  if (st.wrap_timer) {
    timers_.cancel(*st.wrap_timer);
    st.wrap_timer.reset();
  }
  Presence was = a.presence;
  a.presence = p;
  a.presence_since = a.updated_at = command_now();
  touch(st);
  // Wrap-up is the engine's own (it starts and ends it after each case), so a replay
  // makes it again; what the agent or its connection did is history.
  if (p != Presence::WrapUp && !(was == Presence::WrapUp && actor == kSystem)) {
    record_agent_change(st);
  }
  bool takes_work = p == Presence::Available;
  router_->set_available(st.slot, takes_work, command_now());
  if (takes_work) {
    a.missed_offers = 0;
    pull(st);
    return;
  }
  if (p == Presence::Away || p == Presence::Offline) {
    // Pending offers are revoked and those cases routed again at once (elsewhere),
    // most urgent first, so none waits behind a less urgent one that took its agent.
    std::vector<Case*> revoked;
    if (requeued != nullptr) {
      revoked.push_back(requeued);
    }
    for (OfferId oid : std::vector<OfferId>(st.offers)) {
      Offer& o = offers_.at(oid);
      end_offer(o, OfferStatus::Revoked, "agent " + std::string(to_string(p)), actor);
      ++counters_.offers_revoked;
      revoked.push_back(&cases_.at(o.case_id));
    }
    std::sort(revoked.begin(), revoked.end(), [](const Case* x, const Case* y) {
      return std::tie(x->priority, x->arrival) < std::tie(y->priority, y->arrival);
    });
    for (Case* c : revoked) {
      route(*c, std::string(kSystem));
    }
    end_reservations_of(a.id, "went " + std::string(to_string(p)));
  }
}

Result<Agent> Engine::set_presence(const AgentId& id, Presence presence) {
  BATON_RETURN_IF_ERROR(writable());
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return not_found("agent " + id.value());
  }
  if (presence == Presence::WrapUp) {
    return invalid("presence", "must be available, away or offline (wrap_up is set by Baton)");
  }
  begin();
  set_agent_presence(*st, presence, id.value());
  finish();
  return st->agent;
}

void Engine::stream_opened(const AgentId& id) {
  AgentState* st = agent_state(id);
  if (st == nullptr) {
    return;
  }
  ++st->streams;
  if (st->grace_timer) {
    timers_.cancel(*st->grace_timer);
    st->grace_timer.reset();
  }
}

void Engine::stream_closed(const AgentId& id) {
  AgentState* st = agent_state(id);
  if (st == nullptr || st->streams == 0) {
    return;
  }
  if (--st->streams == 0 && !st->grace_timer) {
    st->grace_timer = timers_.schedule(command_now() + config_.presence_grace,
                                       Timer{TimerKind::PresenceGrace, st->slot});
  }
}

}  // namespace baton::engine
