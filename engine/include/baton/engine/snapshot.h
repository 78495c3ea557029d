#pragma once

// What the engine needs back after a restart: everything still in play. Loaded from
// storage, handed to Engine::restore().

#include <cstdint>
#include <optional>
#include <vector>

#include "baton/engine/model.h"

namespace baton::engine {

struct Snapshot {
  std::vector<Agent> agents;
  std::vector<Account> accounts;
  std::vector<Customer> customers;
  std::vector<Case> cases;           // every case not closed or abandoned
  std::vector<Offer> offers;         // the pending offers of those cases
  std::vector<Handoff> handoffs;     // handoffs not yet completed
  std::optional<RuleVersion> rules;  // the latest routing rules, if any were ever saved
  std::vector<Webhook> webhooks;     // active subscriptions
  // The largest id of each kind ever written (0: none), so new ids keep sorting after.
  std::uint64_t max_case = 0, max_offer = 0, max_handoff = 0, max_event = 0, max_customer = 0,
                max_account = 0, max_arrival = 0, max_webhook = 0, max_delivery = 0;
};

}  // namespace baton::engine
