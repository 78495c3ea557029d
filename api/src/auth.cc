#include "auth.h"

#include <utility>

#include "baton/routing/assert.h"

namespace baton::api {

namespace {

// Each role by its name in tokens and in GET /v1/me.
constexpr std::pair<std::string_view, unsigned> kRoles[] = {
    {"gateway", kGateway}, {"agent", kAgent}, {"supervisor", kSupervisor}, {"admin", kAdmin}};

}  // namespace

std::optional<unsigned> role_bit(std::string_view role) {
  for (const auto& [name, bit] : kRoles) {
    if (name == role) {
      return bit;
    }
  }
  return std::nullopt;
}

std::string_view role_name(unsigned bit) {
  for (const auto& [name, b] : kRoles) {
    if (b == bit) {
      return name;
    }
  }
  BATON_ASSERT(false, "a principal has one known role");
  return "";
}

}  // namespace baton::api
