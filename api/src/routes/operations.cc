// Operations: health, readiness, metrics, who am I, the stream upgrade, reports and live queues.

#include "routes_impl.h"

namespace baton::api {

void Routes::Impl::healthz(const CallPtr& call) {
  finish(call, json_response(200, json::object{{"status", "ok"}}));
}

void Routes::Impl::me(const CallPtr& call) {
  const Principal& who = call->who;
  finish(call,
         json_response(200, json::object{{"role", role_name(who.role)},
                                         {"agent", who.agent ? json::value(agent_id(*who.agent))
                                                             : json::value(nullptr)},
                                         {"workspace", options.workspace}}));
}

void Routes::Impl::readyz(const CallPtr& call) {
  auto st = deps.ready();
  if (!st) {
    finish(call, problem_of(503, deps.engine.storage_failed()
                                     ? "a commit to the database failed (" + st.error().message +
                                           "): the workspace answers nothing until it restarts "
                                           "and recovers from its database"
                                     : st.error().message));
    return;
  }
  finish(call, json_response(200, json::object{{"status", "ready"}}));
}

void Routes::Impl::metrics(const CallPtr& call) {
  if (!(options.metrics_open_on_loopback && call->req.loopback)) {
    if (auto refused = authenticate(call, kStaff)) {
      finish(call, std::move(*refused));
      return;
    }
  }
  post([this, call] {
    const auto& c = deps.engine.counters();
    std::string text;
    auto line = [&](const char* name, const char* help, std::uint64_t v) {
      text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" +
              name + " " + std::to_string(v) + "\n";
    };
    line("baton_cases_created_total", "Cases created.", c.cases_created);
    line("baton_offers_total", "Offers made.", c.offers_made);
    line("baton_offers_accepted_total", "Offers accepted.", c.offers_accepted);
    line("baton_offers_declined_total", "Offers declined.", c.offers_declined);
    line("baton_offers_timed_out_total", "Offers that lapsed.", c.offers_timed_out);
    line("baton_offers_revoked_total", "Offers revoked.", c.offers_revoked);
    line("baton_rule_match_cut_short_total",
         "Rule matches that read only routing.match_text_bytes of a longer text and missed.",
         c.match_cut_short);
    text += "# HELP baton_cases_open Open cases in memory.\n# TYPE baton_cases_open gauge\n";
    text += "baton_cases_open " + std::to_string(deps.engine.open_case_count()) + "\n";
    text +=
        "# HELP baton_cases_capacity Open cases the engine holds before its tables grow "
        "(engine.expected_open_cases).\n# TYPE baton_cases_capacity gauge\n";
    text += "baton_cases_capacity " + std::to_string(deps.engine.case_capacity()) + "\n";
    text +=
        "# HELP baton_cases_waiting Cases waiting for an agent.\n# TYPE baton_cases_waiting "
        "gauge\n";
    text += "baton_cases_waiting " + std::to_string(deps.engine.waiting_count()) + "\n";
    text += metrics_text();
    if (deps.metrics) {
      text += deps.metrics();
    }
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = std::move(text);
    finish(call, std::move(r));
  });
}

std::string Routes::Impl::metrics_text() const {
  std::string text =
      "# HELP baton_http_responses_total HTTP answers by status class.\n"
      "# TYPE baton_http_responses_total counter\n";
  for (int k = 1; k <= 5; ++k) {
    text += "baton_http_responses_total{class=\"" + std::to_string(k) + "xx\"} " +
            std::to_string(answered[k].load(std::memory_order_relaxed)) + "\n";
  }
  text +=
      "# HELP baton_token_reads_total Tokens read from the database (first use, recheck).\n"
      "# TYPE baton_token_reads_total counter\nbaton_token_reads_total " +
      std::to_string(token_reads.load(std::memory_order_relaxed)) + "\n";
  text +=
      "# HELP baton_what_if_running A what-if replay is running (POST /v1/routing/simulate).\n"
      "# TYPE baton_what_if_running gauge\nbaton_what_if_running " +
      std::string(replay_running.load() ? "1" : "0") + "\n";
  return text;
}

void Routes::Impl::stream(const CallPtr& call) {
  if (!call->req.websocket) {
    Response r = problem_of(426, "GET /v1/stream is a WebSocket: send Upgrade: websocket");
    r.headers.emplace_back("Upgrade", "websocket");
    finish(call, std::move(r));
    return;
  }
  auto grant = std::make_shared<StreamGrant>();
  grant->agent = call->who.agent;
  grant->staff = call->who.staff();
  grant->authorization = call->req.authorization;
  grant->token_id = call->who.token_id;
  grant->peer = call->req.peer;
  Response r;
  r.status = 101;
  r.stream = std::move(grant);
  finish(call, std::move(r));
}

void Routes::Impl::off_strand(const CallPtr& call, std::function<Response()> read,
                              ReportWorker* worker) {
  worker = worker != nullptr ? worker : reports.get();
  if (!worker->submit([this, call, read = std::move(read)] { finish(call, read()); })) {
    Response r = problem_of(503, "reads of the history are busy; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    finish(call, std::move(r));
  }
}

void Routes::Impl::off_strand_then(const CallPtr& call,
                                   std::function<std::optional<Response>()> work,
                                   ReportWorker* worker) {
  if (!worker->submit([this, call, work = std::move(work)] {
        if (auto r = work()) {
          finish(call, std::move(*r));
        }
      })) {
    Response r = problem_of(503, "the server is busy; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    finish(call, std::move(r));
  }
}

void Routes::Impl::report_summary(const CallPtr& call) {
  TimePoint now = deps.clock.now();
  std::vector<FieldError> errors;
  auto time_param = [&](const char* name, TimePoint fallback) {
    std::string v = query(call, name);
    if (v.empty()) {
      return fallback;
    }
    auto t = parse_time(v);
    if (!t) {
      errors.push_back({name, "must be an RFC 3339 time (2026-11-23T00:00:00Z)"});
      return fallback;
    }
    return *t;
  };
  // Default: today (UTC) so far.
  auto day = std::chrono::floor<std::chrono::days>(now.time_since_epoch());
  TimePoint from = time_param("from", TimePoint{std::chrono::duration_cast<Duration>(day)});
  TimePoint to = time_param("to", now);
  if (errors.empty() && to <= from) {
    errors.push_back({"to", "must be after from"});
  }
  if (errors.empty() && to - from > std::chrono::duration_cast<Duration>(std::chrono::days(366))) {
    errors.push_back({"to", "a report covers at most 366 days"});
  }
  if (refuse_if(call, errors)) {
    return;
  }
  // The thresholds are the rules' (read on the strand); the figures, the history's.
  post([this, call, from, to] {
    auto req = engine::ReportRequest::under(deps.engine.rules(), from, to);
    off_strand(call, [this, req = std::move(req)]() -> Response {
      auto s = deps.reads.summary(req);
      return s ? json_response(200, to_json(s.value())) : from_error(s.error());
    });
  });
}

void Routes::Impl::account_summary(const CallPtr& call) {
  auto n = parse_id("acc_", call->params[0]);
  if (!n) {
    finish(call, not_found("account", call->params[0]));
    return;
  }
  if (!may_read_account(call, AccountId(*n))) {
    return;
  }
  post([this, call, id = AccountId(*n)] {
    if (deps.engine.find_account(id) == nullptr) {
      finish(call, not_found("account", call->params[0]));
      return;
    }
    TimePoint since =
        deps.clock.now() - std::chrono::duration_cast<Duration>(std::chrono::days(90));
    off_strand(call, [this, id, since]() -> Response {
      auto f = deps.reads.account_figures(id, since);
      return f ? json_response(200, to_json(f.value())) : from_error(f.error());
    });
  });
}

void Routes::Impl::queues(const CallPtr& call) {
  post([this, call] {
    TimePoint now = deps.clock.now();
    std::vector<std::string> teams;
    if (call->who.role == kAgent) {
      if (const Agent* a = deps.engine.find_agent(*call->who.agent)) {
        teams = a->teams;
      }
    }
    json::array data;
    for (const auto& q : deps.engine.queue_stats()) {
      if (call->who.role == kAgent) {
        const auto* cfg = deps.engine.rules().find_queue(q.queue);
        bool serves =
            cfg != nullptr && std::any_of(cfg->teams.begin(), cfg->teams.end(), [&](const auto& t) {
              return std::find(teams.begin(), teams.end(), t) != teams.end();
            });
        if (!serves) {
          continue;
        }
      }
      data.push_back(to_json(q, now));
    }
    finish(call,
           json_response(200, json::object{{"data", std::move(data)}, {"next_cursor", nullptr}}));
  });
}

}  // namespace baton::api
