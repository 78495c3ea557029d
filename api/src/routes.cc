// The routes of API v1 (API.md): who may call what, what a body must hold, and how a
// command reaches the engine strand and its answer leaves after the commit. The
// handlers are in routes/, by resource.

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include "routes_impl.h"

namespace baton::api {

Response json_response(int status, const json::value& v) {
  Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A page of cases, written directly (case_text) like every case answer.
Response cases_response(const Page<Case>& page) {
  std::string body = "{\"data\":[";
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) {
      body += ',';
    }
    body += case_text(page.items[i]);
  }
  body += "],\"next_cursor\":";
  body += page.next_cursor ? json::serialize(json::value(seal_cursor(*page.next_cursor))) : "null";
  body += '}';
  return text_response(200, std::move(body));
}

const std::vector<std::vector<std::string_view>>& Routes::Impl::patterns() {
  static const auto kPatterns = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const auto& r : table()) {
      out.push_back(split(r.pattern));
    }
    return out;
  }();
  return kPatterns;
}

void Routes::Impl::log_case_warning(engine::CaseId id, const std::string& message) {
  spdlog::warn(R"("msg":{},"case":"{}")", json_quote(message), case_id(id));
}

void Routes::Impl::dispatch(const CallPtr& call) {
  auto parsed = boost::urls::parse_origin_form(call->req.target);
  if (!parsed) {
    finish(call, problem_of(400, "the request target is not a valid path"));
    return;
  }
  call->path = std::string(parsed->encoded_path());
  for (auto p : parsed->params()) {
    if (call->query.count(p.key) > 0) {
      finish(call, problem_of(422, "query parameter " + p.key + " is repeated",
                              {FieldError{p.key, "must appear once"}}));
      return;
    }
    call->query[p.key] = p.value;
  }
  if (call->path == "/v1/stream" && call->req.authorization.empty()) {
    // Browsers cannot set headers on a WebSocket: the stream alone takes the token in
    // the query.
    if (auto t = call->query.find("access_token"); t != call->query.end()) {
      call->req.authorization = "Bearer " + t->second;
    }
  }
  std::vector<std::string_view> parts = split(call->path);
  bool path_matched = false;
  const auto& routes = table();
  const auto& pats = patterns();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& route = routes[i];
    if (!match(pats[i], parts)) {
      continue;
    }
    path_matched = true;
    if (call->req.method != route.method) {
      continue;
    }
    call->params.clear();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (pats[i][k].starts_with('{')) {
        call->params.emplace_back(parts[k]);
      }
    }
    if (route.roles != kNoToken) {
      if (auto refused = authenticate(call, route.roles)) {
        finish(call, std::move(*refused));
        return;
      }
    }
    // After a failed commit the engine may hold changes the database never took: reads
    // answer 503 like commands, so nothing that was never committed is shown. Health,
    // readiness (which says why) and metrics still answer.
    if (deps.engine.storage_failed() && route.fn != &Impl::healthz && route.fn != &Impl::readyz &&
        route.fn != &Impl::metrics) {
      Response r = problem_of(503,
                              "a commit to the database failed; this workspace answers "
                              "nothing until it restarts and recovers (GET /readyz says why)");
      r.headers.emplace_back("Retry-After", "60");
      finish(call, std::move(r));
      return;
    }
    // Every list's cursor was sealed by this server (cursor.h): the handlers see the
    // position inside it, or never run.
    if (auto c = call->query.find("cursor"); c != call->query.end() && !c->second.empty()) {
      auto position = open_cursor(c->second);
      if (!position) {
        finish(call, problem_of(422, "cursor was not made by this server",
                                {FieldError{"cursor", "was not made by this server"}}));
        return;
      }
      c->second = std::move(*position);
    }
    (this->*route.fn)(call);
    return;
  }
  if (!path_matched && call->req.method == "GET" && !call->path.starts_with("/v1/")) {
    if (const web::Asset* a = web::find_asset(call->path == "/" ? "/index.html" : call->path)) {
      finish(call, console_file(*a, call->req.if_none_match));
      return;
    }
  }
  finish(call, path_matched ? problem_of(405, "method not allowed on " + call->path)
                            : problem_of(404, "no such endpoint: " + call->path));
}

Response Routes::Impl::console_file(const web::Asset& a, std::string_view if_none_match) {
  Response r;
  r.headers = {
      {"ETag", std::string(a.etag)},
      {"Cache-Control", "no-cache"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'"},
  };
  r.content_type = std::string(a.content_type);
  if (if_none_match == a.etag) {
    r.status = 304;
  } else {
    r.body = std::string(a.body);
  }
  return r;
}

std::vector<std::string_view> Routes::Impl::split(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);  // every route has fewer segments: one allocation
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) {
      j = path.size();
    }
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool Routes::Impl::match(const std::vector<std::string_view>& pat,
                         const std::vector<std::string_view>& parts) {
  if (pat.size() != parts.size()) {
    return false;
  }
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (!pat[i].starts_with('{') && pat[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

void Routes::Impl::finish(const CallPtr& call, Response r) {
  answered[std::clamp(r.status / 100, 1, 5)].fetch_add(1, std::memory_order_relaxed);
  call->reply(std::move(r));
}

std::optional<Response> Routes::Impl::authenticate(const CallPtr& call, unsigned roles) {
  std::string_view h = call->req.authorization;
  if (!h.starts_with("Bearer ") || h.size() <= 7) {
    return with_challenge(problem_of(401, "an Authorization: Bearer <token> header is required"));
  }
  std::string secret(h.substr(7));
  TimePoint now = deps.clock.now();
  auto found = tokens.find(secret, now);
  std::optional<Principal> who = std::move(found.who);
  // Each invalid token costs the client's address one from its bucket; an address whose
  // bucket is empty is answered 429 before its token is read, so a flood of made-up tokens
  // neither reaches SQLite nor gets answers fast. Valid tokens cost nothing (a whole
  // office behind one address rechecks its agents' tokens freely).
  auto refuse = [&]() -> std::optional<Response> {
    if (auto wait = auth_failures.wait(call->req.peer, now)) {
      Response r = problem_of(429, "too many invalid tokens from this address; retry after " +
                                       std::to_string(*wait) + " s");
      r.headers.emplace_back("Retry-After", std::to_string(*wait));
      return r;
    }
    return std::nullopt;
  };
  if (found.seen != TokenCache::Seen::Valid) {
    if (auto r = refuse()) {
      return r;
    }
  }
  if (found.seen == TokenCache::Seen::Invalid) {
    auth_failures.take(call->req.peer, now);
    return with_challenge(problem_of(401, "the token is not valid"));
  }
  if (found.seen == TokenCache::Seen::Miss) {
    // Only the hash is stored; a token read once is known by its text for a while.
    std::string hash = sha256_hex(secret);
    token_reads.fetch_add(1, std::memory_order_relaxed);
    auto rec = deps.reads.find_token(hash);
    if (!rec) {
      return problem_of(503, "tokens cannot be read now: " + rec.error().message);
    }
    auto role = rec.value() ? role_bit(rec.value()->role) : std::nullopt;
    bool ended = rec.value() && rec.value()->expires_at && now >= *rec.value()->expires_at;
    if (!rec.value() || rec.value()->revoked_at || ended ||
        rec.value()->workspace != options.workspace || !role) {
      tokens.keep_invalid(std::move(secret), now);
      auth_failures.take(call->req.peer, now);
      return with_challenge(problem_of(401, "the token is not valid"));
    }
    Principal p;
    p.token_id = hash.substr(0, 12);
    p.role = *role;
    p.agent = rec.value()->agent;
    p.actor = p.agent ? p.agent->value() : rec.value()->role + ":" + p.token_id;
    p.token_hash = hash;
    p.expires_at = rec.value()->expires_at;
    who = tokens.keep(std::move(secret), std::move(p), now);
  }
  if ((who->role & roles) == 0) {
    return problem_of(403, "this token's role may not " + call->req.method + " " + call->path);
  }
  if (who->role == kAgent && !who->agent) {
    return problem_of(403, "an agent token must name its agent (token create --agent)");
  }
  if (auto wait = rate.take(who->token_id, now)) {
    Response r = problem_of(
        429, "rate limit of this token reached; retry after " + std::to_string(*wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(*wait));
    return r;
  }
  call->who = std::move(*who);
  return std::nullopt;
}

Response Routes::Impl::with_challenge(Response r) {
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

std::optional<json::object> Routes::Impl::body_of(const CallPtr& call) {
  const auto& req = call->req;
  if (req.body.empty()) {
    return json::object{};
  }
  std::string_view ct = req.content_type;
  if (!ct.starts_with("application/json")) {
    finish(call, problem_of(415, "the body must be application/json"));
    return std::nullopt;
  }
  boost::system::error_code ec;
  // One arena for the whole document (it lives as long as the object does) instead of an
  // allocation for every key, string and table of it.
  json::value v = json::parse(req.body, ec, json::make_shared_resource<json::monotonic_resource>());
  if (ec) {
    finish(call, problem_of(400, "the body is not valid JSON: " + ec.message()));
    return std::nullopt;
  }
  if (!v.is_object()) {
    finish(call, problem_of(422, "the body must be a JSON object",
                            {FieldError{"", "must be an object"}}));
    return std::nullopt;
  }
  return std::move(v.get_object());
}

bool Routes::Impl::refuse_if(const CallPtr& call, const std::vector<FieldError>& errors) {
  if (errors.empty()) {
    return false;
  }
  std::string detail = errors.size() == 1 ? errors[0].field + " " + errors[0].message
                                          : std::to_string(errors.size()) + " fields are invalid";
  finish(call, problem_of(422, detail, errors));
  return true;
}

std::string Routes::Impl::query(const CallPtr& call, const char* name) const {
  auto it = call->query.find(name);
  return it == call->query.end() ? "" : it->second;
}

std::optional<std::size_t> Routes::Impl::limit_of(const CallPtr& call) {
  auto it = call->query.find("limit");
  if (it == call->query.end()) {
    return 50;
  }
  int n = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < 1 || n > 500) {
    finish(call, problem_of(422, "limit must be 1–500", {FieldError{"limit", "must be 1–500"}}));
    return std::nullopt;
  }
  return static_cast<std::size_t>(n);
}

bool Routes::Impl::replayed(const CallPtr& call) {
  if (call->req.idempotency_key.empty()) {
    return false;
  }
  if (call->req.idempotency_key.size() > 255) {
    finish(call, problem_of(422, "Idempotency-Key must be at most 255 bytes",
                            {FieldError{"Idempotency-Key", "must be at most 255 bytes"}}));
    return true;
  }
  call->idem_key = call->who.token_id + ":" + call->req.idempotency_key;
  call->request_hash =
      sha256_hex(call->req.method + " " + call->req.target + "\n" + call->req.body);
  auto seen = idempotency.begin(call->idem_key, call->request_hash, deps.clock.now());
  switch (seen.seen) {
    case IdempotencyStore::Seen::New:
      return false;
    case IdempotencyStore::Seen::OtherRequest:
      finish(call,
             problem_of(422, "this Idempotency-Key was used with a different request",
                        {FieldError{"Idempotency-Key", "was used with a different request"}}));
      break;
    case IdempotencyStore::Seen::InFlight:
      finish(call, problem_of(409, "a request with this Idempotency-Key is still in flight"));
      break;
    case IdempotencyStore::Seen::Answered: {
      Response r;
      r.status = seen.status;
      r.body = std::move(seen.body);
      if (r.status >= 400) {
        r.content_type = "application/problem+json";
      }
      r.headers.emplace_back("Idempotent-Replayed", "true");
      finish(call, std::move(r));
      break;
    }
  }
  return true;
}

void Routes::Impl::settle_key(const CallPtr& call, const Response& r, bool stored) {
  if (call->idem_key.empty()) {
    return;
  }
  idempotency.settle(call->idem_key, r.status, r.body, stored);
}

void Routes::Impl::command(const CallPtr& call, std::function<std::optional<Response>()> fn) {
  if (replayed(call)) {
    return;
  }
  post([this, call, fn = std::move(fn)] {
    Engine& eng = deps.engine;
    eng.hold_commit();
    std::optional<Response> answer = fn();
    if (!answer) {
      // Answered off the strand (a read of the history): nothing was changed or stored.
      eng.release_commit(std::nullopt, nullptr);
      settle_key(call, Response{}, false);
      return;
    }
    Response r = std::move(*answer);
    bool keep = !call->idem_key.empty() && r.status < 500;
    std::optional<StoredResponse> stored;
    if (keep) {
      TimePoint now = deps.clock.now();
      stored = StoredResponse{call->idem_key, call->request_hash, r.status, r.body, now};
      // At most once a minute, answers past their time go with this one's commit.
      if (now - last_forget >= Duration{60'000}) {
        last_forget = now;
        stored->forget_before = now - options.idempotency_ttl;
      }
    }
    eng.release_commit(std::move(stored), [this, call, r = std::move(r), keep](Status st) mutable {
      if (!st.has_value()) {
        r = problem_of(503, "the change could not be made durable: " + st.error().message);
        keep = false;
      }
      settle_key(call, r, keep);
      finish(call, std::move(r));
    });
  });
}

bool Routes::Impl::sees(const Principal& who, const Case& c, const Engine& eng) const {
  return may_see(who, c, [&](OfferId id) -> std::optional<AgentId> {
    const Offer* o = eng.find_offer(id);
    return o != nullptr ? std::optional(o->agent) : std::nullopt;
  });
}

bool Routes::Impl::sees_stored(const Principal& who, const Case& c) {
  return may_see(who, c, [&](OfferId id) -> std::optional<AgentId> {
    auto o = deps.reads.find_offer(id);
    return o && o.value() ? std::optional(o.value()->agent) : std::nullopt;
  });
}

Response Routes::Impl::not_found(std::string_view what, std::string_view id) {
  return problem_of(404, std::string(what) + " " + std::string(id) + " not found");
}

Viewer Routes::Impl::viewer_of(const Principal& who) {
  Viewer v;
  v.agent = who.agent;
  if (!who.agent) {
    v.created_by = who.actor;
  }
  return v;
}

namespace {

// Answers 404 for an object the caller may not read (or the read's error). True when the
// caller may read it.
template <class Finish>
bool allowed(Result<bool> sees, Finish finish, Response hidden) {
  if (!sees) {
    finish(from_error(sees.error()));
    return false;
  }
  if (!sees.value()) {
    finish(std::move(hidden));
    return false;
  }
  return true;
}

}  // namespace

bool Routes::Impl::may_read_customer(const CallPtr& call, CustomerId id) {
  if (call->who.staff()) {
    return true;
  }
  return allowed(
      deps.reads.sees_customer(id, viewer_of(call->who)),
      [&](Response r) { finish(call, std::move(r)); }, not_found("customer", call->params[0]));
}

bool Routes::Impl::may_read_account(const CallPtr& call, AccountId id) {
  if (call->who.staff()) {
    return true;
  }
  return allowed(
      deps.reads.sees_account(id, viewer_of(call->who)),
      [&](Response r) { finish(call, std::move(r)); }, not_found("account", call->params[0]));
}

void Routes::Impl::case_command(const CallPtr& call, int ok_status,
                                std::function<Result<Case>(CaseId)> fn) {
  auto n = parse_id("case_", call->params[0]);
  if (!n) {
    finish(call, not_found("case", call->params[0]));
    return;
  }
  CaseId id(*n);
  command(call, [this, call, id, ok_status, fn = std::move(fn)]() -> std::optional<Response> {
    const Case* c = deps.engine.find_case(id);
    if (c == nullptr) {
      // Closed cases leave memory; the history still knows them, read off the strand.
      off_strand(call, [this, call, id]() -> Response {
        auto stored = deps.reads.find_case(id);
        if (stored && stored.value() && sees_stored(call->who, *stored.value())) {
          return problem_of(
              409, "case " + case_id(id) + " is " + std::string(to_string(stored.value()->status)));
        }
        return not_found("case", call->params[0]);
      });
      return std::nullopt;
    }
    if (!sees(call->who, *c, deps.engine)) {
      return not_found("case", call->params[0]);
    }
    if (call->who.role == kAgent && c->assignee != call->who.agent) {
      // An agent sees a case it is offered, to decide; it changes only a case it holds.
      return problem_of(409, "case " + case_id(id) +
                                 " is offered to you: accept the offer before changing the case");
    }
    auto r = fn(id);
    if (!r) {
      return from_error(r.error());
    }
    return text_response(ok_status, case_text(r.value()));
  });
}

json::object Routes::Impl::explained(const RoutingRecord& r) const {
  json::array candidates;
  for (const auto& c : deps.engine.explain(r)) {
    candidates.push_back(
        json::object{{"agent", agent_id(c.agent)}, {"eligible", c.eligible}, {"reason", c.reason}});
  }
  json::object skills;
  for (const auto& [k, v] : r.required_skills) {
    skills[k] = v;
  }
  return {{"at", format_time(r.at)},
          {"rule", r.rule.empty() ? json::value(nullptr) : json::value(r.rule)},
          {"queue", r.queue},
          {"required_skills", std::move(skills)},
          {"candidates", std::move(candidates)},
          {"chosen", r.chosen ? json::value(agent_id(*r.chosen)) : nullptr},
          {"why", r.why}};
}

const std::vector<Routes::Impl::Route>& Routes::Impl::table() {
  using I = Impl;
  static const std::vector<Route> kTable = {
      {"GET", "/healthz", kNoToken, &I::healthz},
      {"GET", "/readyz", kNoToken, &I::readyz},
      {"GET", "/metrics", kNoToken, &I::metrics},
      {"GET", "/v1/me", kAnyRole, &I::me},
      {"POST", "/v1/agents", kStaff, &I::create_agent},
      {"GET", "/v1/agents", kStaff, &I::list_agents},
      {"GET", "/v1/agents/{id}", kStaff | kAgent, &I::get_agent},
      {"PATCH", "/v1/agents/{id}", kStaff, &I::patch_agent},
      {"PUT", "/v1/agents/{id}/presence", kStaff | kAgent, &I::put_presence},
      {"POST", "/v1/accounts", kStaff, &I::create_account},
      {"GET", "/v1/accounts/{id}", kStaff | kAgent, &I::get_account},
      {"POST", "/v1/customers", kStaff | kGateway, &I::create_customer},
      {"GET", "/v1/customers/{id}", kAnyRole, &I::get_customer},
      {"GET", "/v1/customers/{id}/timeline", kStaff | kAgent, &I::customer_timeline},
      {"POST", "/v1/customers/{id}/merge", kStaff, &I::merge_customer},
      {"POST", "/v1/cases", kStaff | kGateway, &I::create_case},
      {"GET", "/v1/cases", kAnyRole, &I::list_cases},
      {"GET", "/v1/cases/{id}", kAnyRole, &I::get_case},
      {"GET", "/v1/cases/{id}/events", kAnyRole, &I::case_events},
      {"GET", "/v1/cases/{id}/routing", kStaff | kAgent, &I::case_routing},
      {"POST", "/v1/cases/{id}/messages", kAnyRole, &I::add_message},
      {"POST", "/v1/cases/{id}/notes", kStaff | kAgent, &I::add_note},
      {"POST", "/v1/cases/{id}/transfer", kStaff | kAgent, &I::transfer},
      {"POST", "/v1/cases/{id}/resolve", kStaff | kAgent, &I::resolve},
      {"POST", "/v1/cases/{id}/reopen", kAnyRole, &I::reopen},
      {"POST", "/v1/cases/{id}/close", kStaff | kAgent, &I::close},
      {"POST", "/v1/cases/{id}/abandon", kStaff | kGateway, &I::abandon},
      {"POST", "/v1/cases/{id}/csat", kStaff | kGateway, &I::csat},
      {"POST", "/v1/cases/{id}/handoffs", kStaff | kAgent, &I::create_handoff},
      {"GET", "/v1/offers", kStaff | kAgent, &I::list_offers},
      {"GET", "/v1/offers/{id}", kStaff | kAgent, &I::get_offer},
      {"POST", "/v1/offers/{id}/accept", kStaff | kAgent, &I::accept_offer},
      {"POST", "/v1/offers/{id}/decline", kStaff | kAgent, &I::decline_offer},
      {"GET", "/v1/handoffs", kStaff | kAgent, &I::list_handoffs},
      {"GET", "/v1/handoffs/{id}", kStaff | kAgent, &I::get_handoff},
      {"POST", "/v1/handoffs/{id}/complete", kStaff | kAgent, &I::complete_handoff},
      {"GET", "/v1/routing", kStaff, &I::get_routing},
      {"PUT", "/v1/routing", kStaff, &I::put_routing},
      {"POST", "/v1/routing/validate", kStaff, &I::validate_routing},
      {"POST", "/v1/routing/simulate", kStaff, &I::simulate_routing},
      {"GET", "/v1/queues", kStaff | kAgent, &I::queues},
      {"GET", "/v1/reports/summary", kStaff, &I::report_summary},
      {"POST", "/v1/webhooks", kAdmin, &I::create_webhook},
      {"GET", "/v1/webhooks", kAdmin, &I::list_webhooks},
      {"GET", "/v1/webhooks/{id}", kAdmin, &I::get_webhook},
      {"DELETE", "/v1/webhooks/{id}", kAdmin, &I::delete_webhook},
      {"GET", "/v1/webhooks/{id}/deliveries", kAdmin, &I::webhook_deliveries},
      {"GET", "/v1/accounts/{id}/summary", kStaff | kAgent, &I::account_summary},
      {"GET", "/v1/stream", kStaff | kAgent, &I::stream},
      {"PUT", "/v1/agents/{id}/password", kStaff | kAgent, &I::put_password},
      {"POST", "/v1/sessions", kNoToken, &I::create_session},
      {"DELETE", "/v1/sessions/current", kAnyRole, &I::end_session},
      {"GET", "/v1/audit", kAdmin, &I::audit_log},
  };
  return kTable;
}

Routes::Routes(const ServerOptions& options, ServerDeps deps, EnginePost post)
    : impl_(std::make_unique<Impl>(options, std::move(deps), std::move(post))) {}

Routes::~Routes() = default;

Status Routes::load_idempotency() {
  auto since = impl_->deps.clock.now() - impl_->options.idempotency_ttl;
  auto stored = impl_->deps.reads.responses_since(since);
  if (!stored) {
    return stored.error();
  }
  impl_->idempotency.load(std::move(stored).value());
  return {};
}

void Routes::handle(Request req, Reply reply) {
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->reply = std::move(reply);
  impl_->dispatch(call);
}

std::vector<std::string> Routes::list() {
  std::vector<std::string> out;
  for (const auto& r : Impl::table()) {
    out.push_back(std::string(r.method) + " " + r.pattern);
  }
  return out;
}

std::string Routes::metrics_text() const { return impl_->metrics_text(); }

}  // namespace baton::api
