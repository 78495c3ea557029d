// Routing rules (read, save, validate) and webhook subscriptions (admin).

#include "routes_impl.h"
#include "webhook_url.h"

namespace baton::api {

Response Routes::Impl::rules_response(int version, const std::string& source,
                                      const routing::RuleSet& rules) {
  json::array queues, names;
  for (const auto& [name, q] : rules.queues()) {
    queues.emplace_back(name);
  }
  for (const auto& r : rules.rules()) {
    names.emplace_back(r.name);
  }
  Response resp = json_response(200, json::object{{"version", version},
                                                  {"source", source},
                                                  {"queues", std::move(queues)},
                                                  {"rules", std::move(names)}});
  resp.headers.emplace_back("ETag", etag(version));
  return resp;
}

void Routes::Impl::get_routing(const CallPtr& call) {
  post([this, call] {
    const auto& rules = deps.engine.rules();
    finish(call, rules_response(deps.engine.rules_version(), rules.source(), rules));
  });
}

std::optional<routing::RuleSet> Routes::Impl::parsed_rules(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return std::nullopt;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  auto source = f.text("source", true, deps.engine.config().rule_limits.source_bytes);
  if (refuse_if(call, errors)) {
    return std::nullopt;
  }
  auto rules = deps.engine.parse_rules(*source);
  if (!rules) {
    finish(call, problem_of(422, "the rule set does not parse: " + rules.error().message,
                            rules.error().field_errors));
    return std::nullopt;
  }
  return std::move(rules).value();
}

void Routes::Impl::put_routing(const CallPtr& call) {
  if (call->req.if_match.empty()) {
    finish(call,
           problem_of(428, "PUT /v1/routing needs If-Match with the ETag of GET /v1/routing"));
    return;
  }
  auto rules = parsed_rules(call);
  if (!rules) {
    return;
  }
  command(call, [this, call, rules = std::move(*rules)]() mutable -> Response {
    Engine& eng = deps.engine;
    if (call->req.if_match != etag(eng.rules_version()) && call->req.if_match != "*") {
      return problem_of(412, "the rules changed since " + call->req.if_match + "; now " +
                                 etag(eng.rules_version()));
    }
    auto before = eng.rules_version();
    auto v = eng.set_rules(std::move(rules));
    if (!v) {
      return from_error(v.error());
    }
    if (v->version == before) {
      return rules_response(v->version, v->source, eng.rules());  // the same source: no change
    }
    audit(call, "rules.version", "v" + std::to_string(v->version), {{"version", v->version}});
    return rules_response(v->version, v->source, eng.rules());
  });
}

void Routes::Impl::validate_routing(const CallPtr& call) {
  if (auto rules = parsed_rules(call)) {
    finish(call, json_response(200, json::object{{"valid", true},
                                                 {"queues", rules->queues().size()},
                                                 {"rules", rules->rules().size()}}));
  }
}

void Routes::Impl::create_webhook(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  Webhook w;
  w.url = f.text("url", true, 2000).value_or("");
  w.events = f.strings("events", true).value_or(std::vector<std::string>{});
  w.secret = f.text("secret", true, 500).value_or("");
  if (!w.url.empty()) {
    // A URL that cannot be delivered to is refused now, not found out at the first event;
    // a literal address the server may not reach too (names are checked at each connect).
    auto url = parse_webhook_url(w.url);
    if (!url) {
      f.fail("url", url.error().message);
    } else {
      boost::system::error_code ec;
      auto literal = boost::asio::ip::make_address(url->host, ec);
      const auto& o = options.webhooks;
      if (!ec) {
        if (auto why = AddressPolicy{o.allow_private, o.allow_hosts}.refuse(url->host, literal)) {
          f.fail("url", "may not be reached: " + *why);
        }
      }
    }
  }
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, call, w = std::move(w)]() mutable -> Response {
    auto r = deps.engine.create_webhook(std::move(w));
    if (!r) {
      return from_error(r.error());
    }
    json::array events;
    for (const auto& e : r->events) {
      events.emplace_back(e);
    }
    audit(call, "webhook.created", webhook_id(r->id),
          {{"url", r->url}, {"events", std::move(events)}});
    return json_response(201, to_json(r.value()));
  });
}

void Routes::Impl::list_webhooks(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  std::string cursor = query(call, "cursor");
  std::optional<std::uint64_t> after;
  if (!cursor.empty()) {
    after = parse_id("whk_", cursor);
    if (!after) {
      refuse_if(call, {{"cursor", "was not made by this server"}});
      return;
    }
  }
  post([this, call, limit = *limit, after] {
    Page<Webhook> page;
    for (const Webhook* w : deps.engine.webhooks()) {
      if (after && w->id.value() <= *after) {
        continue;
      }
      if (page.items.size() == limit) {
        page.next_cursor = webhook_id(page.items.back().id);
        break;
      }
      page.items.push_back(*w);
    }
    finish(call, json_response(200, page_json(page)));
  });
}

void Routes::Impl::get_webhook(const CallPtr& call) {
  get_held<WebhookId>(call, "whk_", "webhook",
                      [](const Engine& e, WebhookId id) { return e.find_webhook(id); });
}

void Routes::Impl::delete_webhook(const CallPtr& call) {
  auto n = parse_id("whk_", call->params[0]);
  if (!n) {
    finish(call, not_found("webhook", call->params[0]));
    return;
  }
  command(call, [this, call, id = WebhookId(*n)]() -> Response {
    auto r = deps.engine.remove_webhook(id);
    if (!r) {
      return from_error(r.error());
    }
    audit(call, "webhook.removed", webhook_id(id), {{"url", r->url}});
    return json_response(200, to_json(r.value()));
  });
}

void Routes::Impl::webhook_deliveries(const CallPtr& call) {
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  auto n = parse_id("whk_", call->params[0]);
  if (!n) {
    finish(call, not_found("webhook", call->params[0]));
    return;
  }
  // The history is read here (never on the strand); the strand only says whether the
  // webhook exists.
  auto page = deps.reads.deliveries(WebhookId(*n), query(call, "cursor"), *limit);
  if (!page) {
    finish(call, from_error(page.error()));
    return;
  }
  post([this, call, id = WebhookId(*n), body = page_json(page.value())]() mutable {
    finish(call, deps.engine.find_webhook(id) == nullptr ? not_found("webhook", call->params[0])
                                                         : json_response(200, std::move(body)));
  });
}

}  // namespace baton::api
