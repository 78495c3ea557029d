#pragma once

// The ports the engine needs from the outside world. storage/ implements Journal on
// SQLite, api/ implements Publisher; tests use fakes (tests/support/).

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "baton/engine/model.h"
#include "baton/routing/result.h"

namespace baton::engine {

// Time. Real time in `serve`; virtual time in `simulate` and tests.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// What one command changed: the new state of every object it touched, and its events.
// Handed to the journal as a unit; durable all together or not at all.
struct Mutation {
  std::vector<Agent> agents;
  std::vector<Customer> customers;
  std::vector<Account> accounts;
  std::vector<Case> cases;
  std::vector<Offer> offers;
  std::vector<Handoff> handoffs;
  std::vector<CaseEvent> events;
  std::vector<CustomerMerge> merges;       // applied to the history after the rest
  std::vector<Webhook> webhooks;           // subscriptions made or changed
  std::vector<Delivery> deliveries;        // outbox rows for this mutation's events
  std::optional<RuleVersion> rules;        // a new version of the routing rules
  std::optional<StoredResponse> response;  // the answer to an idempotent request

  bool empty() const {
    return agents.empty() && customers.empty() && accounts.empty() && cases.empty() &&
           offers.empty() && handoffs.empty() && events.empty() && merges.empty() &&
           webhooks.empty() && deliveries.empty() && !rules && !response;
  }
};

// Durable log of mutations. append() may complete later, on another thread; `done` is
// called exactly once with the commit's outcome. Commit, then publish. The mutation is
// shared and immutable: the journal reads it while the engine's callback publishes it.
class Journal {
 public:
  virtual ~Journal() = default;
  virtual void append(std::shared_ptr<const Mutation> mutation,
                      std::function<void(Status)> done) = 0;
  // True while more work waits to be committed than the journal's limit allows: the
  // engine refuses new commands (Unavailable, retry later) until it drains.
  virtual bool saturated() const { return false; }
};

// Where committed changes go out: HTTP replies, stream pushes, webhooks.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual void publish(const Mutation& committed) = 0;
};

}  // namespace baton::engine
