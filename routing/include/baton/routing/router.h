#pragma once

// The router: which agent gets which waiting case, and why.
//
// Waiting cases are grouped into classes (queue, channel, required skills). Each class
// keeps its waiting cases ordered by (priority, arrival) and a pool of the agents who
// could take such a case right now, ordered by the queue's strategy. So:
//   - a case that arrives takes the head of its class's pool: O(log n);
//   - an agent who frees up looks at the head of each class it qualifies for and takes
//     the best (highest priority, then oldest): O(k log n) for k classes, never a scan of
//     all cases or agents;
//   - a load or presence change moves the agent in the pools of its classes: O(k log n).
// Exclusions (an agent declined or let an offer lapse) are skipped at the heads.
//
// The router is pure and single-threaded: the caller passes the time and owns the cases.
// It is the one authority on load: route() and pull() reserve a slot, release() frees it.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "baton/base/types.h"
#include "baton/routing/rules.h"

namespace baton::routing {

using AgentSlot = std::uint32_t;  // dense index given by add_agent()
using CaseKey = std::uint64_t;    // the caller's case number

struct AgentProfile {
  std::string id;  // shown in explanations
  std::vector<std::string> teams;
  SkillLevels skills;
  ChannelCounts capacity{};
};

struct CaseRequest {
  CaseKey key = 0;
  std::string queue;
  Channel channel = Channel::Chat;
  int priority = kDefaultPriority;
  SkillLevels required_skills;
  std::uint64_t arrival = 0;  // ordering among equal priorities: smaller waited longer
  TimePoint queued_at{};      // for explanations
  // Only this agent may take the case (the account's owner, first for a while).
  std::optional<AgentSlot> reserved_for;
};

// Why an agent may or may not take a case. Kept as data so a decision costs no text;
// Router::describe() makes the sentence ("skill billing 3 < 5") when someone asks.
enum class Verdict : std::uint8_t {
  Eligible,
  AccountOwner,   // eligible: the case waits for this agent
  FreedCapacity,  // eligible: the agent freed up and took the case
  Declined,       // declined or let lapse an offer of this case
  NotAvailable,   // away, offline or in wrap-up
  NoChannel,      // no capacity for the case's channel
  ReservedForOther,
  NotInTeam,
  NoSkill,
  SkillTooLow,
  AtCapacity,
};

struct Candidate {
  AgentSlot agent = 0;
  Verdict verdict = Verdict::Eligible;
  Channel channel = Channel::Chat;
  std::uint16_t skill = 0;  // NoSkill, SkillTooLow: which skill
  std::int16_t have = 0;    // SkillTooLow: level; AtCapacity: load
  std::int16_t need = 0;    // SkillTooLow: required level; AtCapacity: capacity
  AgentSlot other = 0;      // ReservedForOther: for whom

  bool eligible() const {
    return verdict == Verdict::Eligible || verdict == Verdict::AccountOwner ||
           verdict == Verdict::FreedCapacity;
  }
};

struct Decision {
  CaseKey case_key = 0;
  std::optional<AgentSlot> chosen;
  std::string queue;
  std::string why;
  std::vector<Candidate> candidates;
};

struct RouterStats {
  std::size_t waiting = 0;
  std::size_t classes = 0;
  std::size_t agents = 0;
};

class Router {
 public:
  // `explain_limit`: how many candidates a routing decision lists (0 = none).
  explicit Router(const RuleSet& rules, std::size_t explain_limit = 8);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Room for `n` known cases without growing (growing rehashes every case at once).
  void reserve_cases(std::size_t n);
  // Cases held before the table grows.
  std::size_t case_capacity() const;

  // Queues changed (a new rule version). Waiting cases keep their place.
  void set_rules(const RuleSet& rules);

  AgentSlot add_agent(const AgentProfile& profile, TimePoint now);
  // Teams, skills or capacity changed. REQUIRES: current load fits the new capacity
  // (the caller refuses the change otherwise). Call pull() afterwards.
  void update_agent(AgentSlot agent, const AgentProfile& profile);
  // Available = takes new cases. Call pull() after making an agent available.
  void set_available(AgentSlot agent, bool available, TimePoint now);
  bool available(AgentSlot agent) const;
  int load(AgentSlot agent, Channel c) const;
  const ChannelCounts& loads(AgentSlot agent) const;
  int capacity(AgentSlot agent, Channel c) const;
  bool has_room(AgentSlot agent, Channel c) const;
  const std::string& agent_id(AgentSlot agent) const;
  std::optional<AgentSlot> find_agent(std::string_view id) const;

  // Offers the case to the best eligible agent (reserving a slot) or queues it.
  // A case already known keeps its exclusions (re-routing after a decline).
  Decision route(const CaseRequest& request, TimePoint now);
  // Puts the case in line without offering it (so an agent freed by the same change
  // can weigh it against every other waiting case first). Follow with route().
  void enqueue(const CaseRequest& request);
  // The best waiting case this agent can take now (highest priority, then oldest);
  // reserves a slot. nullopt when there is none or no room.
  std::optional<Decision> pull(AgentSlot agent, TimePoint now);
  // Reserves a slot for a case given to this agent directly (a transfer to an agent).
  // REQUIRES: has_room(agent, channel).
  void reserve(AgentSlot agent, Channel channel, TimePoint now);
  // Frees one slot of the agent's load on that channel. Call pull() afterwards.
  void release(AgentSlot agent, Channel channel, TimePoint now);
  // The agent may not be offered this case again.
  void exclude(CaseKey c, AgentSlot agent);
  bool is_excluded(CaseKey c, AgentSlot agent) const;
  // Takes a waiting case out of the queue (abandoned, resolved while waiting).
  void withdraw(CaseKey c);
  // The case is done: forget its exclusions. Also withdraws it.
  void forget(CaseKey c);
  // The reserved-for window is over: the case joins its class like any other.
  Decision end_reservation(CaseKey c, TimePoint now);

  bool is_waiting(CaseKey c) const;
  // The sentence for a candidate of a decision made in `queue`.
  std::string describe(const Candidate& c, std::string_view queue) const;
  // Why this agent could not take this case now ("" when it could).
  std::string ineligibility(AgentSlot agent, const CaseRequest& request);
  // The same for a case the router knows (with its exclusions and reservation).
  std::string ineligibility(AgentSlot agent, CaseKey c) const;
  RouterStats stats() const;
  std::vector<CaseKey> waiting_cases() const;  // for tests and snapshots; O(n)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::routing
