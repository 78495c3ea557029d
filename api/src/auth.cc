#include "auth.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "baton/base/assert.h"

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

std::optional<Principal> TokenCache::find(const std::string& secret) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(secret);
  return it == tokens_.end() ? std::nullopt : std::optional(it->second);
}

Principal TokenCache::keep(std::string secret, Principal who) {
  std::lock_guard lock(mu_);
  if (tokens_.size() >= kCapacity) {
    tokens_.clear();
  }
  return tokens_.insert_or_assign(std::move(secret), std::move(who)).first->second;
}

std::optional<long> RateLimiter::take(const std::string& key, TimePoint now) {
  if (per_second_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double secs = static_cast<double>((now - b.at).count()) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, secs) * per_second_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return std::max(1L, static_cast<long>(std::ceil((1 - b.tokens) / per_second_)));
}

}  // namespace baton::api
