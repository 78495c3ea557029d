#pragma once

// The ports the engine needs from the outside world. storage/ implements Journal on
// SQLite, api/ implements Publisher; tests use fakes (tests/support/).

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "baton/base/result.h"
#include "baton/engine/model.h"

namespace baton::engine {

// Time. Real time in `serve`; virtual time in `simulate` and tests.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// Sign-ins and the set-up audit, as Engine::record_access() commits them.
struct AccessChange {
  std::vector<TokenRecord> tokens;
  std::vector<PasswordRecord> passwords;
  std::vector<AuditEntry> audit;
};

// What one command changed: the new state of every object it touched, and its events.
// Handed to the journal as a unit; durable all together or not at all.
struct Mutation {
  std::vector<Agent> agents;
  std::vector<AgentChange> agent_changes;  // presence, capacity, teams or skills changed
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
  std::vector<TokenRecord> tokens;         // session tokens made or ended
  std::vector<PasswordRecord> passwords;   // passwords set
  std::vector<AuditEntry> audit;           // set-up audit lines, with the change they record

  // Calls f(mine, theirs) for each field of this mutation and `other`: the one place that
  // lists them, so empty() and append() can never miss one.
  template <class M, class F>
  static void each_field(M& mine, M& theirs, F&& f) {
    f(mine.agents, theirs.agents);
    f(mine.agent_changes, theirs.agent_changes);
    f(mine.customers, theirs.customers);
    f(mine.accounts, theirs.accounts);
    f(mine.cases, theirs.cases);
    f(mine.offers, theirs.offers);
    f(mine.handoffs, theirs.handoffs);
    f(mine.events, theirs.events);
    f(mine.merges, theirs.merges);
    f(mine.webhooks, theirs.webhooks);
    f(mine.deliveries, theirs.deliveries);
    f(mine.rules, theirs.rules);
    f(mine.response, theirs.response);
    f(mine.tokens, theirs.tokens);
    f(mine.passwords, theirs.passwords);
    f(mine.audit, theirs.audit);
  }

  bool empty() const {
    bool none = true;
    each_field(*this, *this, [&](const auto& field, const auto&) {
      if constexpr (requires { field.has_value(); }) {
        none = none && !field.has_value();
      } else {
        none = none && field.empty();
      }
    });
    return none;
  }
};

// Adds `from`'s changes after `to`'s: lists are concatenated (a later state of an object
// follows its earlier one), a set rule version or stored answer replaces `to`'s.
void append(Mutation& to, Mutation&& from);

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
