#pragma once

// Who is calling: the roles a token may hold and the principal a request runs as.

#include <optional>
#include <string>
#include <string_view>

#include "baton/engine/ids.h"

namespace baton::api {

enum RoleBit : unsigned { kGateway = 1, kAgent = 2, kSupervisor = 4, kAdmin = 8 };
constexpr unsigned kStaff = kSupervisor | kAdmin;
constexpr unsigned kAnyRole = kGateway | kAgent | kSupervisor | kAdmin;
constexpr unsigned kNoToken = 0;  // routes open to all (health)

// A role's bit from its name in tokens and in GET /v1/me; nullopt for an unknown name.
std::optional<unsigned> role_bit(std::string_view role);
std::string_view role_name(unsigned bit);

struct Principal {
  std::string token_id;  // a prefix of the token's hash: names it in logs and keys
  unsigned role = 0;
  std::optional<engine::AgentId> agent;
  std::string actor;  // as case events record it

  bool staff() const { return (role & kStaff) != 0; }
};

}  // namespace baton::api
