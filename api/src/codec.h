#pragma once

// JSON for the domain model, as API.md names it: prefixed sortable ids, RFC 3339 UTC
// times with milliseconds, snake_case fields.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "baton/engine/engine.h"
#include "baton/engine/model.h"
#include "baton/engine/queries.h"

namespace baton::api {

namespace json = boost::json;

// "2026-11-23T10:15:30.125Z"
std::string format_time(TimePoint t);
// RFC 3339 with a Z or ±HH:MM offset, seconds optionally with a fraction.
std::optional<TimePoint> parse_time(std::string_view s);

// Server-made ids: prefix + 10 base-32 digits (0-9a-v), so they sort as text in the
// order they were made: "case_000000001a".
std::string id_text(std::string_view prefix, std::uint64_t n);
std::optional<std::uint64_t> parse_id(std::string_view prefix, std::string_view text);

inline std::string case_id(engine::CaseId id) { return id_text("case_", id.value()); }
inline std::string offer_id(engine::OfferId id) { return id_text("off_", id.value()); }
inline std::string handoff_id(engine::HandoffId id) { return id_text("hof_", id.value()); }
inline std::string event_id(engine::EventId id) { return id_text("evt_", id.value()); }
inline std::string customer_id(engine::CustomerId id) { return id_text("cus_", id.value()); }
inline std::string account_id(engine::AccountId id) { return id_text("acc_", id.value()); }
inline std::string agent_id(const engine::AgentId& id) { return "agt_" + id.value(); }
// "agt_ana" -> "ana"; nullopt without the prefix.
std::optional<engine::AgentId> parse_agent_id(std::string_view text);

// A case as JSON text, written directly (the hottest answer: no intermediate object).
// The same fields and values as serialize(to_json(c)).
std::string case_text(const engine::Case& c);

json::value to_json(const Value& v);
json::object to_json(const engine::Agent& a);
json::object to_json(const engine::Account& a);
json::object to_json(const engine::Customer& c);
json::object to_json(const engine::Case& c);
json::object to_json(const engine::Offer& o);
json::object to_json(const engine::Handoff& h);
json::object to_json(const engine::CaseEvent& e);
json::object to_json(const engine::QueueStats& q, TimePoint now);
// The secret is never shown again.
json::object to_json(const engine::Webhook& w);
json::object to_json(const engine::DeliveryRecord& d);
inline std::string webhook_id(engine::WebhookId id) { return id_text("whk_", id.value()); }
// GET /v1/reports/summary and `baton report`: the same JSON.
json::object to_json(engine::Summary s);
// GET /v1/accounts/{id}/summary.
json::object to_json(engine::AccountFigures f);

}  // namespace baton::api
