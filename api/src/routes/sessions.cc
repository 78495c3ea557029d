// Signing in with a password, and the set-up audit: PUT /v1/agents/{id}/password,
// POST /v1/sessions, DELETE /v1/sessions/current, GET /v1/audit.
//
// A password is checked and hashed on the password worker (Argon2id costs tens of
// milliseconds and megabytes), never on an io thread or the engine strand; what it
// changes (a hash, a session token, an audit line) is committed through the engine with
// the audit line in the same commit.

#include "baton/api/tokens.h"

#include "cursor.h"
#include "passwords.h"
#include "routes_impl.h"

namespace baton::api {

namespace {

std::string agent_text(const AgentId& id) { return "agt_" + id.value(); }

// The same answer for an unknown agent, an agent without a password and a wrong password:
// a caller learns nothing about which agents exist.
Response sign_in_refused() { return problem_of(401, "the agent id or the password is wrong"); }

}  // namespace

void Routes::Impl::audit(const CallPtr& call, std::string action, std::string target,
                         json::object data) {
  AccessChange change;
  change.audit.push_back(AuditEntry{0, deps.clock.now(), call->who.actor, std::move(action),
                                    std::move(target), json::serialize(data)});
  if (auto st = deps.engine.record_access(std::move(change)); !st) {
    spdlog::error(R"("msg":"audit line not recorded","error":"{}")", st.error().message);
  }
}

PasswordCost Routes::Impl::password_cost() const {
  return {options.auth.password_ops, options.auth.password_memory};
}

void Routes::Impl::put_password(const CallPtr& call) {
  // An agent sets its own (proving the current one); a supervisor or admin anyone's.
  auto id = path_agent(call, /*own_only=*/true);
  if (!id) {
    return;
  }
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto password = f.text("password", true, 4096);
  bool own = !call->who.staff();
  auto current = f.text("current_password", own, 4096);
  if (password) {
    if (auto why = password_problem(*password)) {
      f.fail("password", *why);
    }
  }
  if (refuse_if(call, errors)) {
    return;
  }
  auto work = [this, call, id = *id, password = *password,
               current = current.value_or("")]() -> std::optional<Response> {
    if (!call->who.staff()) {
      auto stored = deps.reads.find_password(id);
      if (!stored) {
        return from_error(stored.error());
      }
      if (!stored.value() || !check_password(*stored.value(), current)) {
        return problem_of(403, "current_password does not match the agent's password");
      }
    }
    std::string hash = hash_password(password, password_cost());
    if (hash.empty()) {
      return problem_of(503, "the password could not be hashed now; retry shortly");
    }
    command(call, [this, call, id, hash = std::move(hash)]() mutable -> std::optional<Response> {
      if (deps.engine.find_agent(id) == nullptr) {
        return not_found("agent", call->params[0]);
      }
      AccessChange change;
      TimePoint now = deps.clock.now();
      change.passwords.push_back(PasswordRecord{id, std::move(hash), now});
      change.audit.push_back(
          AuditEntry{0, now, call->who.actor, "agent.password_set", agent_text(id), "{}"});
      if (auto st = deps.engine.record_access(std::move(change)); !st) {
        return from_error(st.error());
      }
      Response r;
      r.status = 204;
      return r;
    });
    return std::nullopt;  // the command answers
  };
  off_strand_then(call, std::move(work), passwords.get());
}

void Routes::Impl::create_session(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto agent = f.text("agent_id", true, 200);
  auto password = f.text("password", true, 4096);
  if (refuse_if(call, errors)) {
    return;
  }
  TimePoint now = deps.clock.now();
  // Per agent, and per address as for invalid tokens: guessing is slow either way.
  if (auto wait = sign_in_failures.wait(*agent, now)) {
    Response r = problem_of(429, "too many failed sign-ins for this agent; retry after " +
                                     std::to_string(*wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(*wait));
    return finish(call, std::move(r));
  }
  if (auto wait = auth_failures.wait(call->req.peer, now)) {
    Response r = problem_of(429, "too many failed attempts from this address; retry after " +
                                     std::to_string(*wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(*wait));
    return finish(call, std::move(r));
  }
  auto work = [this, call, agent_id = *agent, password = *password]() -> std::optional<Response> {
    auto id = parse_agent_id(agent_id);
    bool ok = false;
    if (id) {
      auto stored = deps.reads.find_password(*id);
      if (!stored) {
        return from_error(stored.error());
      }
      if (stored.value()) {
        ok = check_password(*stored.value(), password);
      } else {
        check_nothing(password, password_cost());
      }
    } else {
      check_nothing(password, password_cost());
    }
    command(call, [this, call, id, agent_id, ok]() -> std::optional<Response> {
      TimePoint at = deps.clock.now();
      const Agent* a = id ? deps.engine.find_agent(*id) : nullptr;
      json::object data{{"address", call->req.peer}};
      AccessChange change;
      if (!ok || a == nullptr) {
        sign_in_failures.take(agent_id, at);
        auth_failures.take(call->req.peer, at);
        change.audit.push_back(
            AuditEntry{0, at, agent_id, "session.failed", agent_id, json::serialize(data)});
        if (auto st = deps.engine.record_access(std::move(change)); !st) {
          return from_error(st.error());
        }
        return with_challenge(sign_in_refused());
      }
      std::string token = new_token();
      TokenRecord rec;
      rec.hash = sha256_hex(token);
      rec.workspace = options.workspace;
      rec.role = a->role == Role::Supervisor ? "supervisor" : "agent";
      rec.agent = a->id;
      rec.created_at = at;
      rec.expires_at = at + options.auth.session_ttl;
      data["role"] = rec.role;
      data["token_id"] = rec.hash.substr(0, 12);
      change.tokens.push_back(rec);
      change.audit.push_back(AuditEntry{0, at, agent_text(a->id), "session.opened",
                                        agent_text(a->id), json::serialize(data)});
      if (auto st = deps.engine.record_access(std::move(change)); !st) {
        return from_error(st.error());
      }
      return json_response(201, json::object{{"token", token},
                                             {"expires_at", format_time(*rec.expires_at)},
                                             {"role", rec.role},
                                             {"agent", agent_text(a->id)}});
    });
    return std::nullopt;  // the command answers
  };
  off_strand_then(call, std::move(work), passwords.get());
}

void Routes::Impl::end_session(const CallPtr& call) {
  if (!call->who.expires_at) {
    return finish(call, problem_of(409,
                                   "this token is not a session (POST /v1/sessions); an API "
                                   "token is revoked with `baton token revoke`"));
  }
  command(call, [this, call]() -> std::optional<Response> {
    TimePoint at = deps.clock.now();
    TokenRecord rec;
    rec.hash = call->who.token_hash;
    rec.workspace = options.workspace;
    rec.agent = call->who.agent;
    rec.created_at = at;
    rec.revoked_at = at;
    rec.expires_at = call->who.expires_at;
    AccessChange change;
    change.tokens.push_back(rec);
    change.audit.push_back(
        AuditEntry{0, at, call->who.actor, "session.closed", call->who.actor, "{}"});
    if (auto st = deps.engine.record_access(std::move(change)); !st) {
      return from_error(st.error());
    }
    // Gone from this process at once; from others' caches within token_recheck.
    tokens.forget(std::string(call->req.authorization.substr(7)));
    Response r;
    r.status = 204;
    return r;
  });
}

void Routes::Impl::audit_log(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  off_strand(
      call,
      [this, cursor = query(call, "cursor"), limit = *limit]() -> Response {
        auto page = deps.reads.audit(cursor, limit);
        if (!page) {
          return from_error(page.error());
        }
        json::array data;
        for (const auto& a : page->items) {
          boost::system::error_code ec;
          json::value parsed = json::parse(a.data, ec);
          data.push_back(json::object{{"id", id_text("aud_", a.id)},
                                      {"at", format_time(a.at)},
                                      {"actor", a.actor},
                                      {"action", a.action},
                                      {"target", a.target},
                                      {"data", ec ? json::value(json::object{}) : parsed}});
        }
        return json_response(
            200, json::object{
                     {"data", std::move(data)},
                     {"next_cursor",
                      page->next_cursor ? json::value(seal_cursor(*page->next_cursor)) : nullptr}});
      },
      history.get());
}

}  // namespace baton::api
