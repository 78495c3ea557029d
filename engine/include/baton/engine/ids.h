#pragma once

// Strong id types: a CaseId cannot be passed where an AgentId is wanted. Prefixes
// ("case_", "agt_") exist only in the API codec.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace baton::engine {

template <class Tag, class Rep>
class Id {
 public:
  using rep_type = Rep;
  Id() = default;
  explicit Id(Rep v) : v_(std::move(v)) {}
  const Rep& value() const { return v_; }
  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;

 private:
  Rep v_{};
};

// Server-made ids are numbers from one sequence per workspace and kind, so a later
// object's id sorts after an earlier one's.
using CaseId = Id<struct CaseTag, std::uint64_t>;
using OfferId = Id<struct OfferTag, std::uint64_t>;
using HandoffId = Id<struct HandoffTag, std::uint64_t>;
using EventId = Id<struct EventTag, std::uint64_t>;
using CustomerId = Id<struct CustomerTag, std::uint64_t>;
using AccountId = Id<struct AccountTag, std::uint64_t>;
using WebhookId = Id<struct WebhookTag, std::uint64_t>;
using DeliveryId = Id<struct DeliveryTag, std::uint64_t>;
// Agents may carry the client's own id (mirroring an HR system), so they are text.
using AgentId = Id<struct AgentTag, std::string>;
using WorkspaceId = Id<struct WorkspaceTag, std::string>;

}  // namespace baton::engine

template <class Tag, class Rep>
struct std::hash<baton::engine::Id<Tag, Rep>> {
  std::size_t operator()(const baton::engine::Id<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
