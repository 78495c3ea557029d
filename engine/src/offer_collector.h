#pragma once

// The offers each command makes, so simulated or replayed agents can answer them: the
// publisher of an engine on virtual time.

#include <vector>

#include "baton/engine/ports.h"

namespace baton::engine::internal {

class OfferCollector final : public Publisher {
 public:
  void publish(const Mutation& m) override {
    for (const auto& o : m.offers) {
      if (o.status == OfferStatus::Pending) {
        fresh.push_back(o.id);
      }
    }
  }
  std::vector<OfferId> fresh;
};

}  // namespace baton::engine::internal
