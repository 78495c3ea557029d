#pragma once

// What the route files share: a request in flight (Call), the answers every route writes,
// and Routes::Impl, whose handlers live in routes/ by resource and whose framing (auth,
// rate, bodies, idempotency, visibility, decisions) lives in routes.cc.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "baton/api/tokens.h"
#include "baton/base/assert.h"
#include "baton/web/assets.h"

#include "auth.h"
#include "codec.h"
#include "cursor.h"
#include "decision_log.h"
#include "fields.h"
#include "http.h"
#include "idempotency.h"
#include "passwords.h"
#include "problem.h"
#include "report_worker.h"
#include "stream.h"

namespace baton::api {

// The routes speak of the engine's types on every line.
using namespace engine;

// How many of a source case's last messages a handoff carries to its linked case.
inline constexpr std::size_t kHandoffContextMessages = 3;

Response json_response(int status, const json::value& v);
Response text_response(int status, std::string body);
// A page of cases, written directly (case_text) like every case answer.
Response cases_response(const Page<Case>& page);

template <class T>
json::object page_json(const Page<T>& page) {
  json::array data;
  for (const auto& item : page.items) {
    data.push_back(to_json(item));
  }
  return {
      {"data", std::move(data)},
      {"next_cursor", page.next_cursor ? json::value(seal_cursor(*page.next_cursor)) : nullptr}};
}

// One request in flight.
struct Call {
  Request req;
  Reply reply;
  Principal who;
  std::string path;
  std::vector<std::string> params;  // the {…} parts of the route, in order
  std::map<std::string, std::string, std::less<>> query;
  std::string idem_key;  // scoped to the token; empty without an Idempotency-Key
  std::string request_hash;
};
using CallPtr = std::shared_ptr<Call>;

struct Routes::Impl {
  using Handler = void (Impl::*)(const CallPtr&);
  struct Route {
    const char* method;
    const char* pattern;
    unsigned roles;
    Handler fn;
  };

  ServerOptions options;
  ServerDeps deps;
  EnginePost post;
  static const std::vector<Route>& table();
  // Each route's pattern split into segments, once (table()'s order).
  static const std::vector<std::vector<std::string_view>>& patterns();
  std::unique_ptr<ReportWorker> reports = std::make_unique<ReportWorker>("baton-reports", 1, 8);
  // Timeline pages: short reads of the history, off the io threads ([limits] history_*).
  std::unique_ptr<ReportWorker> history = std::make_unique<ReportWorker>(
      "baton-history", options.limits.history_readers, options.limits.history_queue);

  // What-if replays: one thread, in the background (nice 19), one at a time per
  // workspace (a second is 409).
  std::unique_ptr<ReportWorker> replays =
      std::make_unique<ReportWorker>("baton-replay", 1, 1, ReportWorker::Priority::Background);
  std::atomic<bool> replay_running{false};

  // Password hashes and checks: costly on purpose, so few at once and a short queue.
  std::unique_ptr<ReportWorker> passwords =
      std::make_unique<ReportWorker>("baton-passwords", 2, 32);
  TokenCache tokens{options.auth.token_recheck, options.auth.unknown_token_ttl};
  // Failed sign-ins per agent id (POST /v1/sessions).
  RateLimiter sign_in_failures{options.auth.sign_in_failures_per_minute / 60.0,
                               options.auth.sign_in_failures_per_minute};
  RateLimiter rate{options.limits.rate_per_second, options.limits.rate_burst};
  // Per client address: token reads and invalid tokens (AuthOptions).
  RateLimiter auth_failures{options.auth.failures_per_second, options.auth.failure_burst};
  IdempotencyStore idempotency{options.idempotency_ttl, options.limits.idempotency_keys};
  TimePoint last_forget{};  // on the engine strand: when old answers were last forgotten
  DecisionLog decisions;

  std::atomic<std::uint64_t> answered[6] = {};  // by status class 1xx..5xx (index 1..5)
  std::atomic<std::uint64_t> token_reads{0};    // tokens read from the database
  std::atomic<std::uint64_t> agent_serial{0};   // server-made agent ids within one ms

  Impl(const ServerOptions& o, ServerDeps d, EnginePost p)
      : options(o), deps(std::move(d)), post(std::move(p)) {
    deps.engine.set_decision_sink([this](RoutingRecord&& r) { decisions.keep(std::move(r)); });
    deps.engine.set_warning_sink(&log_case_warning);
  }

  // One log line (warn) for what the engine says of a case.
  static void log_case_warning(engine::CaseId id, const std::string& message);

  void dispatch(const CallPtr& call);

  // A file of the web console. The console's own policy forbids every origin but this one
  // (no inline script, no CDN, no frame), so customer text that slipped past its escaping
  // could still not run. Revalidated on every load: an upgrade of the binary shows at once.
  static Response console_file(const web::Asset& a, std::string_view if_none_match);

  static std::vector<std::string_view> split(std::string_view path);

  // Whether the path's segments fit the pattern's ({name} takes any one segment).
  static bool match(const std::vector<std::string_view>& pat,
                    const std::vector<std::string_view>& parts);

  void finish(const CallPtr& call, Response r);

  std::optional<Response> authenticate(const CallPtr& call, unsigned roles);

  static Response with_challenge(Response r);

  // The body as a JSON object; an empty body reads as {}. nullopt after answering.
  std::optional<json::object> body_of(const CallPtr& call);

  bool refuse_if(const CallPtr& call, const std::vector<FieldError>& errors);

  std::string query(const CallPtr& call, const char* name) const;

  // A query parameter read by `parse` into `into`; an unreadable one adds a field error.
  template <class T, class Parse>
  void query_param(const CallPtr& call, const char* name, std::optional<T>& into, Parse parse,
                   const char* expected, std::vector<FieldError>& errors) const {
    if (auto s = query(call, name); !s.empty()) {
      into = parse(s);
      if (!into) {
        errors.push_back({name, std::string("must be ") + expected});
      }
    }
  }

  // ?limit= (1–500, default 50); nullopt after answering 422.
  std::optional<std::size_t> limit_of(const CallPtr& call);

  // Before a command: answers a retry (stored answer, 409 in flight, 422 other body) or
  // marks the key in flight. True when the call was answered.
  bool replayed(const CallPtr& call);

  void settle_key(const CallPtr& call, const Response& r, bool stored);

  // Runs `fn` on the engine strand with its changes held; the answer it returns is stored
  // with them (for an Idempotency-Key) and sent once they are committed. `fn` returns
  // nullopt when it changed nothing and handed the answer to off_strand().
  void command(const CallPtr& call, std::function<std::optional<Response>()> fn);

  // Staff see every case, a gateway what it posted, an agent what it holds or is offered.
  // `offer_agent(id)` names the agent of the case's pending offer (or nullopt).
  template <class OfferAgent>
  static bool may_see(const Principal& who, const Case& c, OfferAgent offer_agent) {
    if (who.staff()) {
      return true;
    }
    if (who.role == kGateway) {
      return c.created_by == who.actor;
    }
    if (c.assignee == who.agent) {
      return true;
    }
    if (!c.offer) {
      return false;
    }
    std::optional<AgentId> offered_to = offer_agent(*c.offer);
    return offered_to.has_value() && offered_to == who.agent;
  }

  // On the engine strand, from the engine's state.
  bool sees(const Principal& who, const Case& c, const Engine& eng) const;

  // Off the strand, from the read model.
  bool sees_stored(const Principal& who, const Case& c);

  static Response not_found(std::string_view what, std::string_view id);

  // What a caller who is not staff may read of customers and accounts (Viewer).
  static Viewer viewer_of(const Principal& who);
  // For a caller who is not staff: whether the customer (or account) `params[0]` names
  // is one it may read; otherwise answers 404 (or the read's error). True when it may.
  bool may_read_customer(const CallPtr& call, CustomerId id);
  bool may_read_account(const CallPtr& call, AccountId id);

  // Runs a case command on the strand once the case is found and visible.
  void case_command(const CallPtr& call, int ok_status, std::function<Result<Case>(CaseId)> fn);

  // REQUIRES: on the engine strand (the words name agents and queue rules).
  json::object explained(const RoutingRecord& r) const;

  void healthz(const CallPtr& call);

  // Who the token is: the console asks once to know which views to show.
  void me(const CallPtr& call);

  void readyz(const CallPtr& call);

  void metrics(const CallPtr& call);

  std::string metrics_text() const;

  // The agent `params[0]` names; nullopt after answering 404. `own_only`: an agent token
  // may name only itself (staff any agent).
  std::optional<AgentId> path_agent(const CallPtr& call, bool own_only = false);

  void create_agent(const CallPtr& call);

  std::uint64_t next_agent_serial();

  void list_agents(const CallPtr& call);

  void get_agent(const CallPtr& call);

  void patch_agent(const CallPtr& call);

  void put_presence(const CallPtr& call);

  void create_account(const CallPtr& call);

  // GET of an object the engine holds in memory: parse the id, read it on the strand.
  template <class IdT, class Find>
  void get_held(const CallPtr& call, std::string_view prefix, const char* what, Find find) {
    auto n = parse_id(prefix, call->params[0]);
    if (!n) {
      finish(call, not_found(what, call->params[0]));
      return;
    }
    post([this, call, id = IdT(*n), what, find] {
      const auto* found = find(deps.engine, id);
      finish(call, found == nullptr ? not_found(what, call->params[0])
                                    : json_response(200, to_json(*found)));
    });
  }

  void get_account(const CallPtr& call);

  std::optional<Identity> identity_of(Fields& f);

  void create_customer(const CallPtr& call);

  void get_customer(const CallPtr& call);

  void customer_timeline(const CallPtr& call);
  // One page of a customer's timeline, read on the history readers.
  Response timeline_page(CustomerId id, const std::string& cursor, std::size_t limit,
                         const std::optional<Viewer>& viewer);

  void merge_customer(const CallPtr& call);

  void create_case(const CallPtr& call);

  void list_cases(const CallPtr& call);

  // The case, when the token may see it; answers 404 otherwise.
  std::optional<Case> visible_case(const CallPtr& call);

  void get_case(const CallPtr& call);

  void case_events(const CallPtr& call);

  void case_routing(const CallPtr& call);

  void add_message(const CallPtr& call);

  void add_note(const CallPtr& call);

  void transfer(const CallPtr& call);

  void resolve(const CallPtr& call);

  void reopen(const CallPtr& call);

  void close(const CallPtr& call);
  void abandon(const CallPtr& call);

  void csat(const CallPtr& call);

  void create_handoff(const CallPtr& call);

  void list_offers(const CallPtr& call);

  void get_offer(const CallPtr& call);

  void decide_offer(const CallPtr& call, bool accept);

  void accept_offer(const CallPtr& call) { decide_offer(call, true); }
  void decline_offer(const CallPtr& call) { decide_offer(call, false); }

  void list_handoffs(const CallPtr& call);

  bool sees(const Principal& who, const Handoff& h) const;

  void get_handoff(const CallPtr& call);

  void complete_handoff(const CallPtr& call);

  static std::string etag(int version) { return "\"v" + std::to_string(version) + "\""; }

  static Response rules_response(int version, const std::string& source,
                                 const routing::RuleSet& rules);

  void get_routing(const CallPtr& call);

  // The source of a rule set from the body, parsed; nullopt after answering.
  std::optional<routing::RuleSet> parsed_rules(const CallPtr& call);

  void put_routing(const CallPtr& call);

  void validate_routing(const CallPtr& call);
  void simulate_routing(const CallPtr& call);

  void stream(const CallPtr& call);

  void create_webhook(const CallPtr& call);

  void list_webhooks(const CallPtr& call);

  void get_webhook(const CallPtr& call);

  void delete_webhook(const CallPtr& call);

  void webhook_deliveries(const CallPtr& call);
  void put_password(const CallPtr& call);
  void create_session(const CallPtr& call);
  void end_session(const CallPtr& call);
  void audit_log(const CallPtr& call);
  // A line of the set-up audit by the caller, committed with the command it runs in
  // (REQUIRES: on the engine strand, inside command()).
  void audit(const CallPtr& call, std::string action, std::string target, json::object data = {});
  PasswordCost password_cost() const;
  // Runs `work` on `worker`; its answer, if it gives one, goes out from there (else it
  // handed the call on, to command()). 503 while the worker's queue is full.
  void off_strand_then(const CallPtr& call, std::function<std::optional<Response>()> work,
                       ReportWorker* worker);

  // Runs `read` on the report worker; the answer goes out from there.
  // Answers with `read()` on the report worker, never on the engine strand or an io
  // thread: reports, and the history a command finds it needs (a case or offer that left
  // memory). 503 while the worker's queue is full.
  // `worker`: the report worker unless named (the history readers).
  void off_strand(const CallPtr& call, std::function<Response()> read,
                  ReportWorker* worker = nullptr);

  void report_summary(const CallPtr& call);

  void account_summary(const CallPtr& call);

  void queues(const CallPtr& call);
};

}  // namespace baton::api
