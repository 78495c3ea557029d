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
  std::string actor;                    // as case events record it
  std::string token_hash;               // names the token in the database
  std::optional<TimePoint> expires_at;  // a session's end; none for API tokens

  bool staff() const { return (role & kStaff) != 0; }
};

// Tokens seen, by their text, so that the database is read for a token once in a while,
// not for every request. A valid token is known for `recheck`, then read again: a token
// revoked in the database (baton token revoke) stops working within that time. A token
// the database does not hold (or holds revoked) is known as invalid for `unknown_ttl`, so
// a client repeating one costs no read. Thread-safe.
class TokenCache {
 public:
  // Past this many entries of a kind the cache starts that kind over: a flood of distinct
  // tokens costs lookups, not memory, and a flood of invalid ones never evicts valid ones.
  static constexpr std::size_t kCapacity = 100'000;
  static constexpr std::size_t kUnknownCapacity = 10'000;

  TokenCache(Duration recheck, Duration unknown_ttl)
      : recheck_(recheck), unknown_ttl_(unknown_ttl) {}

  enum class Seen { Miss, Valid, Invalid };
  struct Found {
    Seen seen = Seen::Miss;
    std::optional<Principal> who;  // when Valid
  };
  Found find(const std::string& secret, TimePoint now) const;
  Principal keep(std::string secret, Principal who, TimePoint now);
  void keep_invalid(std::string secret, TimePoint now);
  // Forgets a token (its session ended here): the next use reads the database.
  void forget(const std::string& secret);

 private:
  struct Entry {
    Principal who;
    TimePoint checked_at;
  };
  const Duration recheck_;
  const Duration unknown_ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> tokens_;       // GUARDED_BY(mu_)
  std::unordered_map<std::string, TimePoint> invalid_;  // GUARDED_BY(mu_): when seen
};

// A token bucket per key: `burst` requests deep, refilled at `per_second`; per_second <= 0
// lets everything through. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // Takes one request from `key`'s bucket at `now`: nullopt when it may go, else the whole
  // seconds (at least 1) until one is there.
  std::optional<long> take(const std::string& key, TimePoint now);
  // The same answer without taking anything.
  std::optional<long> wait(const std::string& key, TimePoint now);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint at{};
  };
  // `key`'s bucket refilled up to `now`. REQUIRES: mu_ held.
  Bucket& refilled(const std::string& key, TimePoint now);
  std::optional<long> seconds_until_one(const Bucket& b) const;

  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace baton::api
