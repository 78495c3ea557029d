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

TokenCache::Found TokenCache::find(const std::string& secret, TimePoint now) const {
  std::lock_guard lock(mu_);
  if (auto it = tokens_.find(secret);
      it != tokens_.end() && now - it->second.checked_at < recheck_) {
    const auto& ends = it->second.who.expires_at;
    if (ends && now >= *ends) {
      return {Seen::Invalid, std::nullopt};  // a session past its end, to the minute
    }
    return {Seen::Valid, it->second.who};
  }
  if (auto it = invalid_.find(secret); it != invalid_.end() && now - it->second < unknown_ttl_) {
    return {Seen::Invalid, std::nullopt};
  }
  return {};
}

Principal TokenCache::keep(std::string secret, Principal who, TimePoint now) {
  std::lock_guard lock(mu_);
  if (tokens_.size() >= kCapacity) {
    tokens_.clear();
  }
  invalid_.erase(secret);
  return tokens_.insert_or_assign(std::move(secret), Entry{std::move(who), now}).first->second.who;
}

void TokenCache::forget(const std::string& secret) {
  std::lock_guard lock(mu_);
  tokens_.erase(secret);
}

void TokenCache::keep_invalid(std::string secret, TimePoint now) {
  std::lock_guard lock(mu_);
  if (invalid_.size() >= kUnknownCapacity) {
    invalid_.clear();
  }
  tokens_.erase(secret);
  invalid_.insert_or_assign(std::move(secret), now);
}

RateLimiter::Bucket& RateLimiter::refilled(const std::string& key, TimePoint now) {
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double secs = static_cast<double>((now - b.at).count()) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, secs) * per_second_);
    b.at = now;
  }
  return b;
}

std::optional<long> RateLimiter::seconds_until_one(const Bucket& b) const {
  if (b.tokens >= 1) {
    return std::nullopt;
  }
  return std::max(1L, static_cast<long>(std::ceil((1 - b.tokens) / per_second_)));
}

std::optional<long> RateLimiter::take(const std::string& key, TimePoint now) {
  if (per_second_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  Bucket& b = refilled(key, now);
  auto wait = seconds_until_one(b);
  if (!wait) {
    b.tokens -= 1;
  }
  return wait;
}

std::optional<long> RateLimiter::wait(const std::string& key, TimePoint now) {
  if (per_second_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  return seconds_until_one(refilled(key, now));
}

}  // namespace baton::api
