#include "idempotency.h"

#include <algorithm>

namespace baton::api {

IdempotencyStore::Lookup IdempotencyStore::begin(const std::string& key,
                                                 const std::string& request_hash, TimePoint now) {
  std::lock_guard lock(mu_);
  while (!aged_.empty() && now - aged_.front().first > ttl_) {
    entries_.erase(aged_.front().second);
    aged_.pop_front();
  }
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(key, Entry{request_hash, false, 0, {}, now});
    return {};
  }
  const Entry& e = it->second;
  if (e.request_hash != request_hash) {
    return {Seen::OtherRequest, 0, {}};
  }
  if (!e.done) {
    return {Seen::InFlight, 0, {}};
  }
  return {Seen::Answered, e.status, e.body};
}

void IdempotencyStore::settle(const std::string& key, int status, const std::string& body,
                              bool stored) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return;
  }
  if (!stored) {
    entries_.erase(it);
    return;
  }
  it->second.done = true;
  it->second.status = status;
  it->second.body = body;
  aged_.emplace_back(it->second.at, key);
}

void IdempotencyStore::load(std::vector<engine::StoredResponse> stored) {
  std::sort(stored.begin(), stored.end(),
            [](const engine::StoredResponse& a, const engine::StoredResponse& b) {
              return a.created_at < b.created_at;
            });
  std::lock_guard lock(mu_);
  for (auto& r : stored) {
    aged_.emplace_back(r.created_at, r.key);
    entries_[r.key] = Entry{r.request_hash, true, r.status, std::move(r.body), r.created_at};
  }
}

}  // namespace baton::api
