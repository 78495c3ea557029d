// Status changes of a case (pending, resume, resolve, reopen, close, abandon), each
// through one transition helper.

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

void Engine::set_status(Case& c, CaseStatus to, const std::string& actor) {
  if (c.status == to) {
    return;
  }
  CaseStatus from = c.status;
  c.status = to;
  c.updated_at = command_now();
  if (from == CaseStatus::Assigned && c.first_accepted_at && !c.first_released_at) {
    c.first_released_at = command_now();  // its first agent's slot is free again
  }
  emit(c, EventType::StatusChanged, actor,
       {{"from", std::string(to_string(from))}, {"to", std::string(to_string(to))}});
  touch(c);
  if (to == CaseStatus::Pending && !c.sla_paused_at) {
    c.sla_paused_at = command_now();  // the resolution clock waits for the customer
  } else if (from == CaseStatus::Pending && c.sla_paused_at) {
    if (const auto* q = rules_.find_queue(c.queue); q != nullptr && c.resolution_due) {
      const auto& hours = rules_.hours_for(*q);
      c.resolution_due =
          hours.add(*c.resolution_due, hours.between(*c.sla_paused_at, command_now()));
    }
    c.sla_paused_at.reset();
    arm_sla(c);
  }
}

Result<Case> Engine::transition(CaseId id, bool (*allowed)(CaseStatus), std::string_view needs,
                                const std::function<Status(const Case&)>& check,
                                const std::function<void(Case&)>& change) {
  auto r = case_where(id, allowed, needs);
  if (!r) {
    return r.error();
  }
  Case& c = *r.value();
  if (check) {
    BATON_RETURN_IF_ERROR(check(c));
  }
  begin();
  change(c);
  Case copy = c;  // finish() may drop a finished case from memory
  finish();
  return copy;
}

Result<Case> Engine::set_pending(CaseId id, std::string actor) {
  return transition(
      id, [](CaseStatus s) { return s == CaseStatus::Assigned; },
      "only an assigned case can wait on the customer", nullptr,
      [&](Case& c) {
        AgentState& a = *agents_.at(*c.assignee);
        router_->release(a.slot, c.channel, command_now());
        sync_load(a);
        set_status(c, CaseStatus::Pending, actor);
        pull(a);
      });
}

Result<Case> Engine::resume(CaseId id, std::string actor) {
  return transition(
      id, [](CaseStatus s) { return s == CaseStatus::Pending; },
      "only a pending case can be resumed",
      [&](const Case& c) -> Status {
        const AgentState& a = *agents_.at(*c.assignee);
        if (!router_->has_room(a.slot, c.channel)) {
          return bad_state("agent " + a.agent.id.value() + " is at capacity for " +
                           std::string(to_string(c.channel)));
        }
        return {};
      },
      [&](Case& c) {
        AgentState& a = *agents_.at(*c.assignee);
        router_->reserve(a.slot, c.channel, command_now());
        sync_load(a);
        set_status(c, CaseStatus::Assigned, actor);
      });
}

Result<Case> Engine::resolve(CaseId id, std::string actor, std::string resolution) {
  return transition(id, is_open, "only an open case can be resolved", nullptr, [&](Case& c) {
    std::optional<AgentId> worker = c.assignee;
    bool was_working = c.status == CaseStatus::Assigned;
    if (c.offer) {
      end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case resolved", actor);
      ++counters_.offers_revoked;
    }
    release_assignee(c);
    c.assignee = worker;  // the resolver stays on record as the last owner
    c.resolved_at = command_now();
    emit(c, EventType::Note, actor, {{"resolution", std::move(resolution)}});
    set_status(c, CaseStatus::Resolved, actor);
    finish_case(c);
    if (worker) {
      AgentState& a = *agents_.at(*worker);
      const auto* q = rules_.find_queue(c.queue);
      if (was_working && is_live(c.channel) && q != nullptr && q->wrap_up > Duration{0} &&
          a.agent.presence == Presence::Available) {
        // After a live case the agent gets wrap-up time before the next offer.
        set_agent_presence(a, Presence::WrapUp, std::string(kSystem));
        a.wrap_timer =
            timers_.schedule(command_now() + q->wrap_up, Timer{TimerKind::WrapUpEnd, a.slot});
      } else {
        pull(a);
      }
    }
    // A case resolved while queued or offered may have freed someone else's slot.
    pull_touched();
  });
}

Result<Case> Engine::reopen(CaseId id, std::string actor) {
  return transition(
      id, [](CaseStatus s) { return s == CaseStatus::Resolved; },
      "only a resolved case can be reopened", nullptr,
      [&](Case& c) {
        c.assignee.reset();
        c.resolved_at.reset();
        requeue(c, actor);
      });
}

Result<Case> Engine::close(CaseId id, std::string actor, bool supervisor) {
  // A supervisor may close from any status; others only from resolved.
  bool (*allowed)(CaseStatus) =
      supervisor
          ? +[](CaseStatus s) { return s != CaseStatus::Closed && s != CaseStatus::Abandoned; }
          : +[](CaseStatus s) { return s == CaseStatus::Resolved; };
  return transition(id, allowed,
                    supervisor ? "it is already finished" : "only a resolved case can be closed",
                    nullptr, [&](Case& c) {
                      if (c.offer) {
                        end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "case closed", actor);
                        ++counters_.offers_revoked;
                      }
                      std::optional<AgentId> worker = c.assignee;
                      if (c.status != CaseStatus::Resolved) {
                        release_assignee(c);
                        c.assignee = worker;
                      }
                      set_status(c, CaseStatus::Closed, actor);
                      finish_case(c);
                      pull_touched();
                    });
}

Result<Case> Engine::abandon(CaseId id, std::string actor) {
  return transition(
      id, [](CaseStatus s) { return s == CaseStatus::Queued || s == CaseStatus::Offered; },
      "only a case not yet taken can be abandoned", nullptr,
      [&](Case& c) {
        AgentState* freed = nullptr;
        if (c.offer) {
          freed = agents_.at(offers_.at(*c.offer).agent).get();
          end_offer(offers_.at(*c.offer), OfferStatus::Revoked, "customer left", actor);
          ++counters_.offers_revoked;
        }
        set_status(c, CaseStatus::Abandoned, actor);
        finish_case(c);
        if (freed != nullptr) {
          pull(*freed);
        }
      });
}

}  // namespace baton::engine
