#pragma once

// The answers of requests that carried an Idempotency-Key, in memory: a retry gets the
// first answer, a retry while the first is in flight a 409, the same key with another
// request a 422. The durable copy is the StoredResponse committed with the command; this
// store is loaded from it at start.
//
// Bounded: answers older than the ttl are forgotten, and each token keeps at most
// `per_token` answers (its oldest go first), so no client can make the server hold more.
// Keys are "<token id>:<Idempotency-Key>".

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "baton/base/types.h"
#include "baton/engine/model.h"

namespace baton::api {

class IdempotencyStore {
 public:
  static constexpr std::size_t kDefaultPerToken = 10'000;
  explicit IdempotencyStore(Duration ttl, std::size_t per_token = kDefaultPerToken)
      : ttl_(ttl), per_token_(per_token) {}

  enum class Seen {
    New,           // the key is now in flight: run the command
    Answered,      // `status` and `body` are the first answer
    InFlight,      // the first request has no answer yet
    OtherRequest,  // the key was used with a request of another hash
  };
  struct Lookup {
    Seen seen = Seen::New;
    int status = 0;
    std::string body;
  };

  // Forgets answers older than the ttl at `now`, then looks `key` up; an unknown key is
  // marked in flight.
  Lookup begin(const std::string& key, const std::string& request_hash, TimePoint now);
  // The command of `key` ended. `stored`: its answer is durable and is kept for retries;
  // otherwise the key is forgotten, so a retry runs the command again.
  void settle(const std::string& key, int status, const std::string& body, bool stored);
  // Answers read back from the database at start.
  void load(std::vector<engine::StoredResponse> stored);

 private:
  struct Entry {
    std::string request_hash;
    bool done = false;
    int status = 0;
    std::string body;
    TimePoint at{};
  };
  using Aged = std::deque<std::pair<TimePoint, std::string>>;  // oldest first
  // Keeps an answered `key` in the ages, then forgets its token's oldest past the bound.
  // REQUIRES: mu_ held.
  void keep_answered(const std::string& key, TimePoint at);
  // Forgets `key` if it is still the answer made at `at`. REQUIRES: mu_ held.
  void forget(const std::string& key, TimePoint at);

  const Duration ttl_;
  const std::size_t per_token_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  Aged aged_;                                       // GUARDED_BY(mu_)
  std::unordered_map<std::string, Aged> by_token_;  // GUARDED_BY(mu_): answered, per token
};

}  // namespace baton::api
