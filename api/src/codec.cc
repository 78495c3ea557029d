#include "codec.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include <boost/json.hpp>

namespace baton::api {

using namespace engine;

namespace {

json::value opt_time(const std::optional<TimePoint>& t) {
  return t ? json::value(format_time(*t)) : json::value(nullptr);
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

json::object levels(const SkillLevels& skills) {
  json::object o;
  for (const auto& [k, v] : skills) {
    o[k] = v;
  }
  return o;
}

bool digits(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Appends JSON to a string: the writer behind case_text.
class Out {
 public:
  explicit Out(std::string& s) : s_(s) {}
  // Every key is escaped like a value: attribute and skill names are the client's text.
  Out& key(std::string_view k) {
    if (!first_) {
      s_ += ',';
    }
    first_ = false;
    append_json_quoted(s_, k);
    s_ += ':';
    return *this;
  }
  void open(char c) {
    s_ += c;
    first_ = true;
  }
  void close(char c) {
    s_ += c;
    first_ = false;
  }
  void null() { s_ += "null"; }
  void boolean(bool v) { s_ += v ? "true" : "false"; }
  void num(std::int64_t v) {
    char buf[24];
    s_.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void num(double v) { append_json_number(s_, v); }
  void str(std::string_view v) { append_json_quoted(s_, v); }
  void time(const std::optional<TimePoint>& t) {
    if (t) {
      str(format_time(*t));
    } else {
      null();
    }
  }
  void opt(const std::optional<std::string>& v) {
    if (v) {
      str(*v);
    } else {
      null();
    }
  }
  void strings(const std::vector<std::string>& v) {
    open('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) {
        s_ += ',';
      }
      str(v[i]);
    }
    close(']');
  }

 private:
  std::string& s_;
  bool first_ = true;
};

}  // namespace

std::string case_text(const Case& c) {
  std::string s;
  s.reserve(768);
  Out o(s);
  o.open('{');
  o.key("id").str(case_id(c.id));
  o.key("channel").str(to_string(c.channel));
  o.key("type").str(c.type);
  o.key("subject").str(c.subject);
  o.key("status").str(to_string(c.status));
  o.key("priority").num(static_cast<std::int64_t>(c.priority));
  o.key("queue").str(c.queue);
  o.key("customer_id").str(customer_id(c.customer));
  o.key("account_id").opt(c.account ? std::optional(account_id(*c.account)) : std::nullopt);
  o.key("assignee").opt(c.assignee ? std::optional(agent_id(*c.assignee)) : std::nullopt);
  o.key("offer_id").opt(c.offer ? std::optional(offer_id(*c.offer)) : std::nullopt);
  o.key("required_skills").open('{');
  for (const auto& [k, v] : c.required_skills) {
    o.key(k).num(static_cast<std::int64_t>(v));
  }
  o.close('}');
  o.key("tags").strings(c.tags);
  o.key("suggested_handoffs").strings(c.suggested_handoffs);
  o.key("attributes").open('{');
  for (const auto& [k, v] : c.attributes) {
    o.key(k);
    if (const auto* b = std::get_if<bool>(&v)) {
      s += *b ? "true" : "false";
    } else if (const auto* d = std::get_if<double>(&v)) {
      o.num(*d);
    } else if (const auto* t = std::get_if<std::string>(&v)) {
      o.str(*t);
    } else {
      o.null();
    }
  }
  o.close('}');
  o.key("external_ref").str(c.external_ref);
  o.key("from_handoff")
      .opt(c.from_handoff ? std::optional(handoff_id(*c.from_handoff)) : std::nullopt);
  o.key("sla").open('{');
  o.key("first_response_due").time(c.first_response_due);
  o.key("resolution_due").time(c.resolution_due);
  o.key("first_response_breached").boolean((c.sla_breached & kFirstResponseBreached) != 0);
  o.key("resolution_breached").boolean((c.sla_breached & kResolutionBreached) != 0);
  o.key("paused_since").time(c.sla_paused_at);
  o.close('}');
  o.key("escalation_step").num(static_cast<std::int64_t>(c.escalation_step));
  o.key("first_response_at").time(c.first_response_at);
  o.key("resolved_at").time(c.resolved_at);
  o.key("created_at").time(c.created_at);
  o.key("updated_at").time(c.updated_at);
  o.close('}');
  return s;
}

std::string format_time(TimePoint t) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ, written digit by digit: every case and event carries several.
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(days);
  auto ms = (t - days).count();
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long long>(ms / 3'600'000), static_cast<long long>(ms / 60'000 % 60),
                  static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
    return buf;
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](std::size_t at, long long v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, ms / 3'600'000, 2);
  put(14, ms / 60'000 % 60, 2);
  put(17, ms / 1000 % 60, 2);
  put(20, ms % 1000, 3);
  return out;
}

std::optional<TimePoint> parse_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s.substr(0, 4), y) || !digits(s.substr(5, 2), mo) || !digits(s.substr(8, 2), d) ||
      !digits(s.substr(11, 2), h) || !digits(s.substr(14, 2), mi) ||
      !digits(s.substr(17, 2), sec)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  long long ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 3) {
        ms = ms * 10 + (s[i] - '0');
      }
      ++n;
      ++i;
    }
    if (n == 0) {
      return std::nullopt;
    }
    for (; n < 3; ++n) {
      ms *= 10;
    }
  }
  long long offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(s.substr(i + 1, 2), oh) || !digits(s.substr(i + 4, 2), om)) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) {
    return std::nullopt;
  }
  auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
           std::chrono::seconds(sec) + std::chrono::milliseconds(ms) -
           std::chrono::minutes(offset_min);
  return std::chrono::time_point_cast<Duration>(t);
}

std::string id_text(std::string_view prefix, std::uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string out(prefix);
  char buf[10];
  for (int i = 9; i >= 0; --i) {
    buf[i] = kDigits[n & 31];
    n >>= 5;
  }
  out.append(buf, 10);
  return out;
}

std::optional<std::uint64_t> parse_id(std::string_view prefix, std::string_view text) {
  if (!text.starts_with(prefix) || text.size() != prefix.size() + 10) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (char c : text.substr(prefix.size())) {
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'v') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    n = n * 32 + static_cast<std::uint64_t>(v);
  }
  if (n == 0) {
    return std::nullopt;
  }
  return n;
}

std::optional<AgentId> parse_agent_id(std::string_view text) {
  if (!text.starts_with("agt_") || text.size() == 4) {
    return std::nullopt;
  }
  return AgentId(std::string(text.substr(4)));
}

json::value to_json(const Value& v) {
  return std::visit(
      [](const auto& x) -> json::value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, double>) {
          // Whole numbers (ids, counts) read back as integers; JSON has no NaN or infinity.
          if (auto whole = exact_integer(x)) {
            return *whole;
          }
          return std::isfinite(x) ? json::value(x) : json::value(nullptr);
        } else {
          return json::value(x);
        }
      },
      v);
}

json::object to_json(const Agent& a) {
  json::object capacity, load;
  for (Channel ch : kAllChannels) {
    if (a.capacity[index_of(ch)] > 0) {
      capacity[to_string(ch)] = a.capacity[index_of(ch)];
      load[to_string(ch)] = a.load[index_of(ch)];
    }
  }
  return {{"id", agent_id(a.id)},
          {"name", a.name},
          {"role", to_string(a.role)},
          {"teams", strings(a.teams)},
          {"skills", levels(a.skills)},
          {"languages", strings(a.languages)},
          {"capacity", std::move(capacity)},
          {"load", std::move(load)},
          {"presence", to_string(a.presence)},
          {"presence_since", format_time(a.presence_since)},
          {"missed_offers", a.missed_offers},
          {"created_at", format_time(a.created_at)},
          {"updated_at", format_time(a.updated_at)}};
}

json::object to_json(const Account& a) {
  return {{"id", account_id(a.id)},
          {"name", a.name},
          {"tier", a.tier},
          {"segment", a.segment},
          {"sales_owner", a.sales_owner ? json::value(agent_id(*a.sales_owner)) : nullptr},
          {"created_at", format_time(a.created_at)}};
}

json::object to_json(const Customer& c) {
  json::array ids;
  for (const auto& i : c.identities) {
    ids.push_back(json::object{{"channel", to_string(i.channel)}, {"address", i.address}});
  }
  return {{"id", customer_id(c.id)},
          {"name", c.name},
          {"account_id", c.account ? json::value(account_id(*c.account)) : nullptr},
          {"identities", std::move(ids)},
          {"last_agent", c.last_agent ? json::value(agent_id(*c.last_agent)) : nullptr},
          {"merged_into", c.merged_into ? json::value(customer_id(*c.merged_into)) : nullptr},
          {"created_at", format_time(c.created_at)}};
}

json::object to_json(const Case& c) {
  json::object attrs;
  for (const auto& [k, v] : c.attributes) {
    attrs[k] = to_json(v);
  }
  return {{"id", case_id(c.id)},
          {"channel", to_string(c.channel)},
          {"type", c.type},
          {"subject", c.subject},
          {"status", to_string(c.status)},
          {"priority", c.priority},
          {"queue", c.queue},
          {"customer_id", customer_id(c.customer)},
          {"account_id", c.account ? json::value(account_id(*c.account)) : nullptr},
          {"assignee", c.assignee ? json::value(agent_id(*c.assignee)) : nullptr},
          {"offer_id", c.offer ? json::value(offer_id(*c.offer)) : nullptr},
          {"required_skills", levels(c.required_skills)},
          {"tags", strings(c.tags)},
          {"suggested_handoffs", strings(c.suggested_handoffs)},
          {"attributes", std::move(attrs)},
          {"external_ref", c.external_ref},
          {"from_handoff", c.from_handoff ? json::value(handoff_id(*c.from_handoff)) : nullptr},
          {"sla",
           json::object{{"first_response_due", opt_time(c.first_response_due)},
                        {"resolution_due", opt_time(c.resolution_due)},
                        {"first_response_breached", (c.sla_breached & kFirstResponseBreached) != 0},
                        {"resolution_breached", (c.sla_breached & kResolutionBreached) != 0},
                        {"paused_since", opt_time(c.sla_paused_at)}}},
          {"escalation_step", c.escalation_step},
          {"first_response_at", opt_time(c.first_response_at)},
          {"resolved_at", opt_time(c.resolved_at)},
          {"created_at", format_time(c.created_at)},
          {"updated_at", format_time(c.updated_at)}};
}

json::object to_json(const Offer& o) {
  return {{"id", offer_id(o.id)},
          {"case_id", case_id(o.case_id)},
          {"agent_id", agent_id(o.agent)},
          {"status", to_string(o.status)},
          {"created_at", format_time(o.created_at)},
          {"expires_at", format_time(o.expires_at)},
          {"decided_at", opt_time(o.decided_at)},
          {"reason", o.reason.empty() ? json::value(nullptr) : json::value(o.reason)}};
}

json::object to_json(const Handoff& h) {
  return {{"id", handoff_id(h.id)},
          {"from_case", case_id(h.from_case)},
          {"to_case", case_id(h.to_case)},
          {"from_agent", h.from_agent ? json::value(agent_id(*h.from_agent)) : nullptr},
          // As sent: the engine names an agent target without its prefix.
          {"to", h.to == "sales_owner" || h.to.starts_with("team:") ? h.to : "agt_" + h.to},
          {"to_agent", h.to_agent ? json::value(agent_id(*h.to_agent)) : nullptr},
          {"reason", to_string(h.reason)},
          {"note", h.note},
          {"status", to_string(h.status)},
          {"outcome", h.outcome == HandoffOutcome::None ? json::value(nullptr)
                                                        : json::value(to_string(h.outcome))},
          {"created_at", format_time(h.created_at)},
          {"accepted_at", opt_time(h.accepted_at)},
          {"completed_at", opt_time(h.completed_at)}};
}

json::object to_json(const CaseEvent& e) {
  // The engine records ids and times as bare values; the API shows them as it names them.
  json::object data;
  for (const auto& [k, v] : e.data) {
    const auto* num = std::get_if<double>(&v);
    const auto* text = std::get_if<std::string>(&v);
    auto n = num != nullptr ? static_cast<std::uint64_t>(*num) : 0;
    if (num != nullptr && k == "offer_id") {
      data[k] = offer_id(OfferId(n));
    } else if (num != nullptr && k == "handoff_id") {
      data[k] = handoff_id(HandoffId(n));
    } else if (num != nullptr && (k == "from_case" || k == "to_case")) {
      data[k] = case_id(CaseId(n));
    } else if (num != nullptr && k == "from" && e.type == EventType::CustomerMerged) {
      data[k] = customer_id(CustomerId(n));
    } else if (num != nullptr && k == "account" && e.type == EventType::CustomerMerged) {
      data[k] = account_id(AccountId(n));
    } else if (num != nullptr && k == "expires_at") {
      data[k] = format_time(TimePoint{Duration{static_cast<std::int64_t>(*num)}});
    } else if (text != nullptr && !text->empty() &&
               (k == "agent" || k == "to_agent" || k == "from_agent")) {
      data[k] = "agt_" + *text;
    } else {
      data[k] = to_json(v);
    }
  }
  // A customer's own events (a merge) belong to no case.
  return {
      {"id", event_id(e.id)},
      {"case_id", e.case_id.value() == 0 ? json::value(nullptr) : json::value(case_id(e.case_id))},
      {"type", to_string(e.type)},
      {"at", format_time(e.at)},
      {"actor", e.actor},
      {"data", std::move(data)}};
}

json::object to_json(const QueueStats& q, TimePoint now) {
  json::value service_level = nullptr;
  if (q.answered_today > 0) {
    service_level =
        static_cast<double>(q.answered_in_target_today) / static_cast<double>(q.answered_today);
  }
  json::value oldest = nullptr;
  if (q.oldest_waiting_since) {
    oldest = static_cast<double>((now - *q.oldest_waiting_since).count()) / 1000.0;
  }
  return {{"name", q.queue},
          {"waiting", q.waiting},
          {"oldest_wait_s", oldest},
          {"agents_available", q.agents_available},
          {"agents_busy", q.agents_busy},
          {"answered_today", q.answered_today},
          {"service_level_today", service_level},
          {"sla_target", q.target},
          {"answer_within_s", static_cast<double>(q.answer_within.count()) / 1000.0}};
}

}  // namespace baton::api

namespace baton::api {

namespace {

json::value seconds(std::optional<double> s) {
  if (!s) {
    return nullptr;
  }
  return std::round(*s * 1000.0) / 1000.0;  // ms precision
}

json::value ratio(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) {
    return nullptr;
  }
  return std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10000.0;
}

// {count, p50_s, p90_s, mean_s} of durations.
json::object durations(engine::Samples& s) {
  return {{"count", s.seconds.size()},
          {"p50_s", seconds(s.quantile(0.5))},
          {"p90_s", seconds(s.quantile(0.9))},
          {"mean_s", seconds(s.mean())}};
}

json::object csat_of(engine::Samples& s) {
  return {{"count", s.seconds.size()}, {"mean", seconds(s.mean())}};
}

}  // namespace

json::object to_json(engine::Summary s) {
  json::array queues, agents, handoffs;
  for (auto& q : s.queues) {
    queues.push_back(
        json::object{{"queue", q.queue},
                     {"cases", q.created},
                     {"answered", q.answered},
                     {"answered_in_target", q.answered_in_target},
                     {"abandoned", q.abandoned},
                     {"resolved", q.resolved},
                     {"service_level", ratio(q.answered_in_target, q.answered + q.abandoned)},
                     {"wait", durations(q.wait)},
                     {"first_response", durations(q.first_response)},
                     {"handle_time", durations(q.handle)},
                     {"resolution_time", durations(q.resolution)},
                     {"csat", csat_of(q.csat)}});
  }
  for (auto& a : s.agents) {
    agents.push_back(json::object{{"agent", agent_id(a.agent)},
                                  {"answered", a.answered},
                                  {"resolved", a.resolved},
                                  {"handoffs_sent", a.handoffs_sent},
                                  {"handoffs_received", a.handoffs_received},
                                  {"first_response", durations(a.first_response)},
                                  {"handle_time", durations(a.handle)},
                                  {"csat", csat_of(a.csat)}});
  }
  for (auto& h : s.handoffs) {
    handoffs.push_back(json::object{{"reason", to_string(h.reason)},
                                    {"created", h.created},
                                    {"accepted", h.accepted},
                                    {"completed", h.completed},
                                    {"outcomes", json::object{{"won", h.won},
                                                              {"lost", h.lost},
                                                              {"resolved", h.resolved},
                                                              {"no_action", h.no_action}}},
                                    // Conversion: of the handoffs decided, the share won.
                                    {"conversion", ratio(h.won, h.completed)},
                                    {"time_to_accept", durations(h.time_to_accept)}});
  }
  return {{"from", format_time(s.from)},
          {"to", format_time(s.to)},
          {"queues", std::move(queues)},
          {"agents", std::move(agents)},
          {"handoffs", std::move(handoffs)}};
}

json::object to_json(engine::AccountFigures f) {
  json::object by_status;
  for (const auto& [status, n] : f.open_by_status) {
    by_status[status] = n;
  }
  json::array open;
  for (const auto& h : f.open_handoffs) {
    open.push_back(to_json(h));
  }
  return {{"account_id", account_id(f.account)},
          {"open_cases", f.open_cases},
          {"open_by_status", std::move(by_status)},
          {"csat_since", format_time(f.csat_since)},
          {"csat", csat_of(f.csat)},
          {"open_handoffs", std::move(open)}};
}

}  // namespace baton::api

namespace baton::api {

std::string summary_json(engine::Summary s) { return json::serialize(to_json(std::move(s))); }

std::optional<TimePoint> parse_rfc3339(std::string_view text) { return parse_time(text); }

}  // namespace baton::api

namespace baton::api {

json::object to_json(const engine::Webhook& w) {
  json::array events;
  for (const auto& e : w.events) {
    events.emplace_back(e);
  }
  return {{"id", webhook_id(w.id)},
          {"url", w.url},
          {"events", std::move(events)},
          {"active", w.active},
          {"created_at", format_time(w.created_at)}};
}

json::object to_json(const engine::DeliveryRecord& d) {
  return {
      {"id", id_text("dlv_", d.id.value())},
      {"webhook_id", webhook_id(d.webhook)},
      {"event_type", d.event_type},
      {"event_id", event_id(d.event)},
      {"case_id", d.case_id.value() == 0 ? json::value(nullptr) : json::value(case_id(d.case_id))},
      {"status", d.status},
      {"attempts", d.attempts},
      {"next_attempt_at",
       d.status == "pending" ? json::value(format_time(d.next_attempt_at)) : json::value(nullptr)},
      {"last_status", d.last_status ? json::value(*d.last_status) : json::value(nullptr)},
      {"last_error", d.last_error},
      {"delivered_at", d.delivered_at ? json::value(format_time(*d.delivered_at)) : nullptr},
      {"created_at", format_time(d.created_at)}};
}

}  // namespace baton::api
