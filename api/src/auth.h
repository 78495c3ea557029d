#pragma once

// Who is calling: the roles a token may hold and the principal a request runs as.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "baton/base/types.h"
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

// Tokens seen, by their text: a token checked once against its stored hash is known in
// memory from then on (tokens are not revoked while the server runs). Thread-safe.
class TokenCache {
 public:
  // Past this many tokens the cache starts over: a flood of distinct valid tokens costs
  // lookups, not memory.
  static constexpr std::size_t kCapacity = 100'000;

  std::optional<Principal> find(const std::string& secret) const;
  Principal keep(std::string secret, Principal who);

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Principal> tokens_;  // GUARDED_BY(mu_)
};

// A token bucket per key: `burst` requests deep, refilled at `per_second`; per_second <= 0
// lets everything through. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // Takes one request from `key`'s bucket at `now`: nullopt when it may go, else the whole
  // seconds (at least 1) until one is there.
  std::optional<long> take(const std::string& key, TimePoint now);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint at{};
  };
  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace baton::api
