#pragma once

// Replaying recorded history under a rule set (POST /v1/routing/simulate, `baton simulate
// --db`): the cases that arrived in a window are posted again, as posted, to an engine on
// virtual time whose agents go through their recorded presence and capacity, accept offers
// after their recorded delays and hold each case for its recorded handle time. The same
// Engine code as `serve` decides, so the figures say what `serve` would have done.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "baton/base/types.h"
#include "baton/engine/engine.h"
#include "baton/engine/model.h"
#include "baton/engine/queries.h"
#include "baton/routing/rules.h"

namespace baton::engine {

// One recorded arrival and what its customer and its agent did with it.
struct ReplayCase {
  CaseId recorded_id;
  TimePoint at{};
  NewCase posted;  // channel, type, subject, body, customer (by id), priority, skills, attributes
  std::string recorded_queue;
  std::optional<Duration> handle;           // first acceptance → first release, as recorded
  std::optional<Duration> abandoned_after;  // the customer left after waiting this long
};

// What storage reads for a window (storage::load_replay_history).
struct ReplayHistory {
  TimePoint from{};
  TimePoint to{};
  std::vector<Agent> agents;         // every agent, as it was at `from` (presence included)
  std::vector<AgentChange> changes;  // in [from, to), oldest first
  std::vector<Account> accounts;
  std::vector<Customer> customers;  // those of the cases, without identities
  std::vector<ReplayCase> cases;    // arrivals in [from, to), oldest first
  // Each agent's recorded delays from offer to acceptance, oldest first; a replayed offer
  // to the agent takes the next one (round and round).
  std::map<AgentId, std::vector<Duration>, std::less<>> accept_delays;
  Duration default_accept_delay{0};  // for an agent without any
  Duration default_handle{0};        // for a case never handled in history
  // What the history lacked and the replay estimated, in words.
  std::vector<std::string> assumptions;
};

// "What if we had two more billing agents": agents added for the whole window (available
// throughout), agents taken out.
struct AgentsEdit {
  struct Add {
    std::vector<std::string> teams;
    SkillLevels skills;
    ChannelCounts capacity{};
    int count = 1;
  };
  std::vector<Add> add;
  std::vector<AgentId> remove;
  bool empty() const { return add.empty() && remove.empty(); }
};

struct ReplayQueue {
  std::uint64_t cases = 0;
  std::uint64_t answered = 0;
  std::uint64_t answered_in_target = 0;
  std::uint64_t abandoned = 0;
  Samples wait;  // created → first accepted, of the answered
  // As reports count it: answered in target over answered and abandoned.
  double service_level() const;
};

struct ReplayAgent {
  std::uint64_t answered = 0;
  double busy_ms = 0;       // handling, each case weighted by 1 / the slots of its channel
  double available_ms = 0;  // signed in (available or wrapping up) within the window
  double occupancy() const { return available_ms <= 0 ? 0 : busy_ms / available_ms; }
};

struct ReplayOutcome {
  std::map<std::string, ReplayQueue> queues;
  std::map<std::string, ReplayAgent> agents;
  std::map<std::string, std::uint64_t> handoffs_by_reason;  // suggested by the rules
  std::vector<std::string> queue_of;                        // per history case, in order
  std::uint64_t commands = 0;                               // engine commands run
};

// Replays `history` under `rules` with `edit` applied. `config` is the serving engine's
// (presence grace, zones, limits); the replay sets what virtual time needs on a copy.
// Cases still waiting `drain` after the window count as unanswered.
ReplayOutcome replay(const ReplayHistory& history, routing::RuleSet rules, EngineConfig config,
                     const AgentsEdit& edit, Duration drain = Duration{4 * 3'600'000});

}  // namespace baton::engine
