#include "baton/engine/model.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "baton/engine/queries.h"

namespace baton::engine {

namespace {
template <class E, std::size_t N>
std::optional<E> parse_enum(std::string_view s, const std::array<E, N>& all) {
  for (E e : all) {
    if (to_string(e) == s) {
      return e;
    }
  }
  return std::nullopt;
}
}  // namespace

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Agent:
      return "agent";
    case Role::Sales:
      return "sales";
    case Role::Supervisor:
      return "supervisor";
  }
  return "agent";
}

std::string_view to_string(Presence p) {
  switch (p) {
    case Presence::Available:
      return "available";
    case Presence::Away:
      return "away";
    case Presence::Offline:
      return "offline";
    case Presence::WrapUp:
      return "wrap_up";
  }
  return "offline";
}

std::string_view to_string(CaseStatus s) {
  switch (s) {
    case CaseStatus::Queued:
      return "queued";
    case CaseStatus::Offered:
      return "offered";
    case CaseStatus::Assigned:
      return "assigned";
    case CaseStatus::Pending:
      return "pending";
    case CaseStatus::Resolved:
      return "resolved";
    case CaseStatus::Closed:
      return "closed";
    case CaseStatus::Abandoned:
      return "abandoned";
  }
  return "queued";
}

std::string_view to_string(OfferStatus s) {
  switch (s) {
    case OfferStatus::Pending:
      return "pending";
    case OfferStatus::Accepted:
      return "accepted";
    case OfferStatus::Declined:
      return "declined";
    case OfferStatus::TimedOut:
      return "timed_out";
    case OfferStatus::Revoked:
      return "revoked";
  }
  return "pending";
}

std::string_view to_string(HandoffStatus s) {
  switch (s) {
    case HandoffStatus::Open:
      return "open";
    case HandoffStatus::Accepted:
      return "accepted";
    case HandoffStatus::Completed:
      return "completed";
  }
  return "open";
}

std::string_view to_string(HandoffOutcome o) {
  switch (o) {
    case HandoffOutcome::None:
      return "none";
    case HandoffOutcome::Won:
      return "won";
    case HandoffOutcome::Lost:
      return "lost";
    case HandoffOutcome::Resolved:
      return "resolved";
    case HandoffOutcome::NoAction:
      return "no_action";
  }
  return "none";
}

std::string_view to_string(HandoffReason r) {
  switch (r) {
    case HandoffReason::Upsell:
      return "upsell";
    case HandoffReason::Renewal:
      return "renewal";
    case HandoffReason::Technical:
      return "technical";
    case HandoffReason::Billing:
      return "billing";
    case HandoffReason::Onboarding:
      return "onboarding";
    case HandoffReason::Escalation:
      return "escalation";
    case HandoffReason::Other:
      return "other";
  }
  return "other";
}

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::Created:
      return "created";
    case EventType::MessageIn:
      return "message_in";
    case EventType::MessageOut:
      return "message_out";
    case EventType::Routed:
      return "routed";
    case EventType::Offered:
      return "offered";
    case EventType::Accepted:
      return "accepted";
    case EventType::Declined:
      return "declined";
    case EventType::OfferTimedOut:
      return "offer_timed_out";
    case EventType::OfferRevoked:
      return "offer_revoked";
    case EventType::Assigned:
      return "assigned";
    case EventType::Transferred:
      return "transferred";
    case EventType::HandedOff:
      return "handed_off";
    case EventType::PriorityChanged:
      return "priority_changed";
    case EventType::Escalated:
      return "escalated";
    case EventType::SlaBreached:
      return "sla_breached";
    case EventType::StatusChanged:
      return "status_changed";
    case EventType::Note:
      return "note";
    case EventType::Csat:
      return "csat";
    case EventType::HandoffAccepted:
      return "handoff_accepted";
    case EventType::HandoffCompleted:
      return "handoff_completed";
    case EventType::CustomerMerged:
      return "customer_merged";
  }
  return "note";
}

std::optional<Role> parse_role(std::string_view s) {
  return parse_enum(s, std::array{Role::Agent, Role::Sales, Role::Supervisor});
}
std::optional<Presence> parse_presence(std::string_view s) {
  return parse_enum(
      s, std::array{Presence::Available, Presence::Away, Presence::Offline, Presence::WrapUp});
}
std::optional<CaseStatus> parse_case_status(std::string_view s) {
  return parse_enum(s, std::array{CaseStatus::Queued, CaseStatus::Offered, CaseStatus::Assigned,
                                  CaseStatus::Pending, CaseStatus::Resolved, CaseStatus::Closed,
                                  CaseStatus::Abandoned});
}
std::optional<HandoffOutcome> parse_handoff_outcome(std::string_view s) {
  return parse_enum(s, std::array{HandoffOutcome::Won, HandoffOutcome::Lost,
                                  HandoffOutcome::Resolved, HandoffOutcome::NoAction});
}
std::optional<OfferStatus> parse_offer_status(std::string_view s) {
  return parse_enum(s,
                    std::array{OfferStatus::Pending, OfferStatus::Accepted, OfferStatus::Declined,
                               OfferStatus::TimedOut, OfferStatus::Revoked});
}
std::optional<HandoffStatus> parse_handoff_status(std::string_view s) {
  return parse_enum(
      s, std::array{HandoffStatus::Open, HandoffStatus::Accepted, HandoffStatus::Completed});
}
std::optional<HandoffReason> parse_handoff_reason(std::string_view s) {
  return parse_enum(
      s, std::array{HandoffReason::Upsell, HandoffReason::Renewal, HandoffReason::Technical,
                    HandoffReason::Billing, HandoffReason::Onboarding, HandoffReason::Escalation,
                    HandoffReason::Other});
}

bool is_open(CaseStatus s) {
  return s == CaseStatus::Queued || s == CaseStatus::Offered || s == CaseStatus::Assigned ||
         s == CaseStatus::Pending;
}

bool is_sales_reason(HandoffReason r) {
  return r == HandoffReason::Upsell || r == HandoffReason::Renewal;
}

const Value* CaseEvent::find(std::string_view key) const {
  for (const auto& [k, v] : data) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

}  // namespace baton::engine

namespace baton::engine {

std::optional<double> service_level_of(std::uint64_t answered_in_target, std::uint64_t answered,
                                       std::uint64_t abandoned) {
  std::uint64_t judged = answered + abandoned;
  if (judged == 0) {
    return std::nullopt;
  }
  return static_cast<double>(answered_in_target) / static_cast<double>(judged);
}

std::optional<double> Samples::quantile(double q) {
  if (seconds.empty()) {
    return std::nullopt;
  }
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(seconds.size())));
  std::size_t k = rank == 0 ? 0 : rank - 1;
  std::nth_element(seconds.begin(), seconds.begin() + static_cast<std::ptrdiff_t>(k),
                   seconds.end());
  return seconds[k];
}

std::optional<double> Samples::mean() const {
  if (seconds.empty()) {
    return std::nullopt;
  }
  double sum = 0;
  for (double s : seconds) {
    sum += s;
  }
  return sum / static_cast<double>(seconds.size());
}

}  // namespace baton::engine

namespace baton::engine {

const std::vector<std::string>& webhook_event_names() {
  static const std::vector<std::string> names = {
      "case.created",     "case.status_changed", "case.assigned",  "case.transferred",
      "case.message_in",  "case.message_out",    "case.note",      "case.priority_changed",
      "case.escalated",   "case.sla_breached",   "case.csat",      "handoff.created",
      "handoff.accepted", "handoff.completed",   "customer.merged"};
  return names;
}

std::string webhook_event_name(const CaseEvent& e, bool source_of_handoff) {
  switch (e.type) {
    case EventType::Created:
    case EventType::StatusChanged:
    case EventType::Assigned:
    case EventType::Transferred:
    case EventType::MessageIn:
    case EventType::MessageOut:
    case EventType::Note:
    case EventType::PriorityChanged:
    case EventType::Escalated:
    case EventType::SlaBreached:
    case EventType::Csat:
      return "case." + std::string(to_string(e.type));
    case EventType::HandedOff:
      return source_of_handoff ? "handoff.created" : "";
    case EventType::HandoffAccepted:
      return source_of_handoff ? "handoff.accepted" : "";
    case EventType::HandoffCompleted:
      return source_of_handoff ? "handoff.completed" : "";
    case EventType::CustomerMerged:
      return "customer.merged";
    case EventType::Routed:
    case EventType::Offered:
    case EventType::Accepted:
    case EventType::Declined:
    case EventType::OfferTimedOut:
    case EventType::OfferRevoked:
      return "";  // routing's own steps: on the case's timeline, not pushed out
  }
  return "";
}

}  // namespace baton::engine
