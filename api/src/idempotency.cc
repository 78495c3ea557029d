#include "idempotency.h"

#include <algorithm>

namespace baton::api {

IdempotencyStore::Lookup IdempotencyStore::begin(const std::string& key,
                                                 const std::string& request_hash, TimePoint now) {
  std::lock_guard lock(mu_);
  while (!aged_.empty() && now - aged_.front().first > ttl_) {
    auto [at, old] = std::move(aged_.front());
    aged_.pop_front();
    forget(old, at);
    auto t = by_token_.find(old.substr(0, old.find(':')));
    if (t != by_token_.end() && !t->second.empty() && t->second.front().second == old) {
      t->second.pop_front();
      if (t->second.empty()) {
        by_token_.erase(t);
      }
    }
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
  keep_answered(key, it->second.at);
}

void IdempotencyStore::keep_answered(const std::string& key, TimePoint at) {
  aged_.emplace_back(at, key);
  Aged& mine = by_token_[key.substr(0, key.find(':'))];
  mine.emplace_back(at, key);
  while (mine.size() > per_token_) {
    forget(mine.front().second, mine.front().first);
    mine.pop_front();
  }
}

void IdempotencyStore::forget(const std::string& key, TimePoint at) {
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.done && it->second.at == at) {
    entries_.erase(it);
  }
}

void IdempotencyStore::load(std::vector<engine::StoredResponse> stored) {
  std::sort(stored.begin(), stored.end(),
            [](const engine::StoredResponse& a, const engine::StoredResponse& b) {
              return a.created_at < b.created_at;
            });
  std::lock_guard lock(mu_);
  for (auto& r : stored) {
    entries_[r.key] = Entry{r.request_hash, true, r.status, std::move(r.body), r.created_at};
    keep_answered(r.key, r.created_at);
  }
}

}  // namespace baton::api
