#pragma once

// The stream's fan-out (GET /v1/stream): committed mutations become messages for the
// agents and staff they concern. Beast-free; server.cc's WebSocket sessions subscribe.
//
// Commit, then publish: publish() runs on the journal's completion thread after the commit, so no
// message speaks of a change that is not durable. The hub keeps each agent's pending
// offers as committed, so a stream that (re)connects gets them at once: a reconnect loses
// no offer.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "baton/engine/engine.h"

#include "http.h"

namespace baton::api {

using Message = std::shared_ptr<const std::string>;

// One connected stream.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues a message; never blocks (a subscriber whose queue is full is dropped). Any
  // thread.
  virtual void push(Message message) = 0;
};

// Who a stream belongs to: an agent's stream gets that agent's offers and cases; staff
// (supervisors, admins) get every case, handoff and queue_stats.
struct StreamGrant {
  std::optional<engine::AgentId> agent;
  bool staff = false;
  std::string authorization;  // "Bearer …": commands sent on the socket act as this token
  std::string token_id;       // names the token in logs
  std::string peer;           // the client's address (per-address limits)
};

class StreamHub final : public engine::Publisher {
 public:
  // `post` runs a task on the engine strand (agents' stream counts for presence).
  StreamHub(EnginePost post, engine::Engine& engine);

  // Before serving, with no thread running yet: the pending offers the engine holds.
  void seed(const engine::Engine& engine);

  // Registers a stream and pushes the agent's pending offers to it.
  void subscribe(const std::shared_ptr<Subscriber>& s, const StreamGrant& grant);
  void unsubscribe(const Subscriber* s);

  void publish(const engine::Mutation& committed) override;
  // A message for every staff stream (queue_stats).
  void to_staff(const Message& m);
  bool has_staff() const;

  void count_dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  std::string metrics_text() const;

 private:
  struct Entry {
    std::optional<engine::AgentId> agent;
    bool staff = false;
  };
  using Subs = std::vector<std::pair<const Subscriber*, std::weak_ptr<Subscriber>>>;
  // REQUIRES: mu_ held.
  void send_agent(const engine::AgentId& agent, const Message& m);
  void send_staff(const Message& m);
  void send(const Subs& to, const Message& m);
  bool listens(const engine::AgentId& agent) const;  // the agent has a stream open

  EnginePost post_;
  engine::Engine* engine_;  // touched only in tasks posted to the engine strand
  mutable std::mutex mu_;
  std::unordered_map<const Subscriber*, Entry> subs_;   // GUARDED_BY(mu_)
  std::unordered_map<engine::AgentId, Subs> by_agent_;  // GUARDED_BY(mu_)
  Subs staff_;                                          // GUARDED_BY(mu_)
  // Committed pending offers, per agent, by offer number: the "offer" message.
  std::unordered_map<engine::AgentId, std::map<std::uint64_t, Message>>
      pending_;  // GUARDED_BY(mu_)
  // The agent that owns each open case, as last published: a transfer tells both.
  std::unordered_map<std::uint64_t, engine::AgentId> owner_;  // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace baton::api
