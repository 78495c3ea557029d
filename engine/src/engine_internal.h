#pragma once

// What the engine's files share and no one outside the engine sees: an agent's state
// beside its record, and the helpers that word a refused command.

#include <algorithm>
#include <string>
#include <string_view>

#include "baton/base/assert.h"
#include "baton/engine/engine.h"

namespace baton::engine {

struct Engine::AgentState {
  Agent agent;
  routing::AgentSlot slot = 0;
  std::vector<OfferId> offers;  // pending offers
  std::optional<TimerId> wrap_timer;
  int streams = 0;  // open stream connections
  std::optional<TimerId> grace_timer;
  bool touched = false;
};

namespace internal {

using routing::AgentSlot;

// A waiting case holds up to three timers: first response, resolution and its next
// escalation step.
inline constexpr std::size_t kTimersPerCase = 3;

inline constexpr std::string_view kSystem = "system";

inline Error invalid(std::string field, std::string message) {
  std::string m = field + " " + message;
  return Error(ErrorCode::InvalidArgument, m, {FieldError{std::move(field), std::move(message)}});
}

inline Error not_found(std::string what) { return Error(ErrorCode::NotFound, what + " not found"); }

inline Error bad_state(std::string message) {
  return Error(ErrorCode::FailedPrecondition, std::move(message));
}

inline std::string case_name(CaseId id) { return "case " + std::to_string(id.value()); }

// Skill names and levels (1–10) of an agent or a case; `field` names them in the error.
std::optional<Error> check_skills(const SkillLevels& skills, const std::string& field);

}  // namespace internal
}  // namespace baton::engine
