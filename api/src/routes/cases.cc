// Cases: create, list, read, events, routing decisions, messages, notes, transfers, status changes,
// CSAT.

#include <charconv>

#include "routes_impl.h"

namespace baton::api {

void Routes::Impl::create_case(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  NewCase c;
  c.channel = f.one_of<Channel>("channel", true, channel_of, "chat, email, voice, social or web")
                  .value_or(Channel::Chat);
  c.type = f.text("type", false, 100).value_or("support");
  c.subject = f.text("subject", false, 1000).value_or("");
  c.body = f.text("body", false, 100'000).value_or("");
  c.priority = static_cast<int>(f.integer("priority", false, 1, 5, "must be 1–5").value_or(0));
  c.required_skills = f.skills("required_skills").value_or(SkillLevels{});
  c.external_ref = f.text("external_ref", false, 200).value_or("");
  c.actor = call->who.actor;
  c.attributes =
      f.attributes("attributes", options.limits.attributes, options.limits.attribute_bytes)
          .value_or(Attributes{});
  if (const json::object* cust = f.object("customer", true)) {
    Fields g(*cust, errors, "customer.");
    if (g.has("id")) {
      auto id = g.text("id", true, 100);
      if (auto n = id ? parse_id("cus_", *id) : std::nullopt) {
        c.customer.id = CustomerId(*n);
      } else if (id) {
        g.fail("id", "unknown customer");
      }
    } else {
      c.customer.identity = identity_of(g);
      c.customer.name = g.text("name", false, 200).value_or("");
    }
  }
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, c = std::move(c)]() mutable -> Response {
    auto r = deps.engine.create_case(std::move(c));
    return r ? text_response(201, case_text(r.value())) : from_error(r.error());
  });
}

void Routes::Impl::list_cases(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  std::vector<FieldError> errors;
  CaseFilter f;
  query_param(call, "status", f.status, parse_case_status,
              "a case status (queued, offered, assigned, …)", errors);
  f.queue = query(call, "queue");
  query_param(call, "assignee", f.assignee, parse_agent_id, "an agent id (agt_…)", errors);
  query_param(
      call, "customer_id", f.customer,
      [](std::string_view s) -> std::optional<CustomerId> {
        auto n = parse_id("cus_", s);
        return n ? std::optional(CustomerId(*n)) : std::nullopt;
      },
      "a customer id (cus_…)", errors);
  if (refuse_if(call, errors)) {
    return;
  }
  // What a token may see: a gateway its own posts, an agent its own work.
  if (call->who.role == kGateway) {
    f.created_by = call->who.actor;
  } else if (call->who.role == kAgent) {
    if (f.assignee && f.assignee != call->who.agent) {
      finish(call,
             json_response(200, json::object{{"data", json::array()}, {"next_cursor", nullptr}}));
      return;
    }
    f.assignee = call->who.agent;
  }
  auto page = deps.reads.cases(f, query(call, "cursor"), *limit);
  finish(call, page ? cases_response(page.value()) : from_error(page.error()));
}

std::optional<Case> Routes::Impl::visible_case(const CallPtr& call) {
  auto n = parse_id("case_", call->params[0]);
  if (!n) {
    finish(call, not_found("case", call->params[0]));
    return std::nullopt;
  }
  auto c = deps.reads.find_case(CaseId(*n));
  if (!c) {
    finish(call, from_error(c.error()));
    return std::nullopt;
  }
  if (!c.value() || !sees_stored(call->who, *c.value())) {
    finish(call, not_found("case", call->params[0]));
    return std::nullopt;
  }
  return std::move(c.value());
}

void Routes::Impl::get_case(const CallPtr& call) {
  if (auto c = visible_case(call)) {
    finish(call, text_response(200, case_text(*c)));
  }
}

void Routes::Impl::case_events(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  auto c = visible_case(call);
  if (!c) {
    return;
  }
  auto page = deps.reads.case_events(c->id, query(call, "cursor"), *limit);
  finish(call, page ? json_response(200, page_json(page.value())) : from_error(page.error()));
}

void Routes::Impl::case_routing(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  auto c = visible_case(call);
  if (!c) {
    return;
  }
  std::size_t from = 0;
  if (auto cur = query(call, "cursor"); !cur.empty()) {
    auto [p, ec] = std::from_chars(cur.data(), cur.data() + cur.size(), from);
    if (ec != std::errc() || p != cur.data() + cur.size()) {
      finish(call, problem_of(422, "cursor was not made by this server",
                              {FieldError{"cursor", "was not made by this server"}}));
      return;
    }
  }
  DecisionLog::Page page = decisions.page(c->id, from, *limit);
  post([this, call, shown = std::move(page.records), next = page.next] {
    json::array data;
    for (const auto& r : shown) {
      data.push_back(explained(r));
    }
    finish(call, json_response(
                     200, json::object{
                              {"data", std::move(data)},
                              {"next_cursor",
                               next ? json::value(seal_cursor(std::to_string(*next))) : nullptr}}));
  });
}

void Routes::Impl::add_message(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto dir = f.text("direction", true, 10);
  if (dir && *dir != "in" && *dir != "out") {
    f.fail("direction", "must be in or out");
  }
  auto text = f.text("body", true, 100'000);
  if (refuse_if(call, errors)) {
    return;
  }
  bool inbound = *dir == "in";
  case_command(call, 201, [this, call, inbound, text = *text](CaseId id) {
    return deps.engine.add_message(id, inbound, text, call->who.actor);
  });
}

void Routes::Impl::add_note(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto text = f.text("body", true, 100'000);
  if (refuse_if(call, errors)) {
    return;
  }
  case_command(call, 201, [this, call, text = *text](CaseId id) {
    return deps.engine.add_note(id, text, call->who.actor);
  });
}

void Routes::Impl::transfer(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  std::optional<AgentId> to_agent;
  std::optional<std::string> to_queue;
  if (f.has("to_agent")) {
    to_agent = f.agent("to_agent", true);
  }
  if (f.has("to_queue")) {
    to_queue = f.text("to_queue", true, 100);
  }
  if (f.has("to_agent") == f.has("to_queue")) {
    f.fail("to_agent", "send exactly one of to_agent and to_queue");
  }
  std::string note = f.text("note", false, 10'000).value_or("");
  if (refuse_if(call, errors)) {
    return;
  }
  case_command(call, 200, [this, call, to_agent, to_queue, note](CaseId id) {
    return to_agent ? deps.engine.transfer_to_agent(id, *to_agent, call->who.actor, note)
                    : deps.engine.transfer_to_queue(id, *to_queue, call->who.actor, note);
  });
}

void Routes::Impl::resolve(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  std::string resolution = f.text("resolution", false, 10'000).value_or("");
  if (refuse_if(call, errors)) {
    return;
  }
  case_command(call, 200, [this, call, resolution](CaseId id) {
    return deps.engine.resolve(id, call->who.actor, resolution);
  });
}

void Routes::Impl::reopen(const CallPtr& call) {
  if (!body_of(call)) {
    return;
  }
  case_command(call, 200,
               [this, call](CaseId id) { return deps.engine.reopen(id, call->who.actor); });
}

void Routes::Impl::close(const CallPtr& call) {
  if (!body_of(call)) {
    return;
  }
  case_command(call, 200, [this, call](CaseId id) {
    return deps.engine.close(id, call->who.actor, call->who.staff());
  });
}

// The customer left a live channel before anyone took the case (a gateway's word).
void Routes::Impl::abandon(const CallPtr& call) {
  if (!body_of(call)) {
    return;
  }
  case_command(call, 200,
               [this, call](CaseId id) { return deps.engine.abandon(id, call->who.actor); });
}

void Routes::Impl::csat(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto score = f.integer("score", true, 1, 5, "must be 1–5");
  std::string comment = f.text("comment", false, 10'000).value_or("");
  if (refuse_if(call, errors)) {
    return;
  }
  auto n = parse_id("case_", call->params[0]);
  if (!n) {
    finish(call, not_found("case", call->params[0]));
    return;
  }
  CaseId id(*n);
  // A rating may come after the case left memory: the history has it, read here, before the
  // command, never on the engine strand (the engine takes it only if it holds no newer state).
  auto found = deps.reads.find_case(id);
  if (!found) {
    finish(call, from_error(found.error()));
    return;
  }
  command(call,
          [this, call, id, score = static_cast<int>(*score), comment,
           stored = std::move(found).value()]() -> Response {
            const Case* c = deps.engine.find_case(id);
            if (c == nullptr && stored) {
              c = &*stored;
            }
            if (c == nullptr || !sees(call->who, *c, deps.engine)) {
              return not_found("case", call->params[0]);
            }
            auto r = deps.engine.record_csat(id, score, comment, call->who.actor,
                                             stored ? &*stored : nullptr);
            return r ? text_response(201, case_text(r.value())) : from_error(r.error());
          });
}

}  // namespace baton::api
