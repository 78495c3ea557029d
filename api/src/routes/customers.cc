// Accounts and customers: create, read, the customer timeline, merges.

#include "routes_impl.h"

namespace baton::api {

void Routes::Impl::create_account(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  NewAccount a;
  a.name = f.text("name", true, 200).value_or("");
  a.tier = f.text("tier", false, 100).value_or("");
  a.segment = f.text("segment", false, 100).value_or("");
  if (f.has("sales_owner")) {
    a.sales_owner = f.agent("sales_owner", true);
  }
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, a = std::move(a)]() mutable -> Response {
    auto r = deps.engine.create_account(std::move(a));
    return r ? json_response(201, to_json(r.value())) : from_error(r.error());
  });
}

void Routes::Impl::get_account(const CallPtr& call) {
  if (auto n = parse_id("acc_", call->params[0]); n && !may_read_account(call, AccountId(*n))) {
    return;
  }
  get_held<AccountId>(call, "acc_", "account",
                      [](const Engine& e, AccountId id) { return e.find_account(id); });
}

std::optional<Identity> Routes::Impl::identity_of(Fields& f) {
  auto ch = f.one_of<Channel>("channel", true, channel_of, "chat, email, voice, social or web");
  auto address = f.text("address", true, 320);
  if (!ch || !address) {
    return std::nullopt;
  }
  if (address->empty()) {
    f.fail("address", "must not be empty");
    return std::nullopt;
  }
  return Identity{*ch, *address};
}

void Routes::Impl::create_customer(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  NewCustomer c;
  c.name = f.text("name", false, 200).value_or("");
  if (auto acc = f.text("account_id", false, 100)) {
    if (auto n = parse_id("acc_", *acc)) {
      c.account = AccountId(*n);
    } else {
      f.fail("account_id", "must be an account id (acc_…)");
    }
  }
  if (body->contains("identities")) {
    const json::value& ids = body->at("identities");
    if (!ids.is_array()) {
      f.fail("identities", "must be an array of {channel, address}");
    } else {
      for (std::size_t i = 0; i < ids.get_array().size(); ++i) {
        const auto& item = ids.get_array()[i];
        std::string prefix = "identities[" + std::to_string(i) + "].";
        if (!item.is_object()) {
          f.fail(prefix.substr(0, prefix.size() - 1), "must be {channel, address}");
          continue;
        }
        Fields g(item.get_object(), errors, prefix);
        if (auto id = identity_of(g)) {
          c.identities.push_back(*id);
        }
      }
    }
  }
  if (refuse_if(call, errors)) {
    return;
  }
  command(call, [this, c = std::move(c)]() mutable -> Response {
    auto r = deps.engine.create_customer(std::move(c));
    return r ? json_response(201, to_json(r.value())) : from_error(r.error());
  });
}

void Routes::Impl::get_customer(const CallPtr& call) {
  // An agent reads a customer while it holds, is offered or has handled one of its cases;
  // a gateway the customers of the cases it posted.
  if (auto n = parse_id("cus_", call->params[0]); n && !may_read_customer(call, CustomerId(*n))) {
    return;
  }
  get_held<CustomerId>(call, "cus_", "customer",
                       [](const Engine& e, CustomerId id) { return e.find_customer(id); });
}

void Routes::Impl::customer_timeline(const CallPtr& call) {
  auto n = parse_id("cus_", call->params[0]);
  auto limit = limit_of(call);
  if (!limit) {
    return;
  }
  if (!n) {
    finish(call, not_found("customer", call->params[0]));
    return;
  }
  if (!may_read_customer(call, CustomerId(*n))) {
    return;
  }
  // An agent sees the events of the customer's cases it may read, not the others'.
  std::optional<Viewer> viewer;
  if (!call->who.staff()) {
    viewer = viewer_of(call->who);
  }
  // A page is a few reads of the database: on the history readers, not an io thread.
  off_strand(
      call,
      [this, id = CustomerId(*n), cursor = query(call, "cursor"), limit = *limit,
       viewer = std::move(viewer)] { return timeline_page(id, cursor, limit, viewer); },
      history.get());
}

Response Routes::Impl::timeline_page(CustomerId id, const std::string& cursor, std::size_t limit,
                                     const std::optional<Viewer>& viewer) {
  auto page = deps.reads.customer_timeline(id, cursor, limit, viewer ? &*viewer : nullptr);
  if (!page) {
    return from_error(page.error());
  }
  // Each item names its case's type and channel: one timeline across teams and channels;
  // a handoff's events carry the handoff itself (reason, target, status, outcome).
  std::map<std::uint64_t, std::optional<Case>> cases;
  std::map<std::uint64_t, std::optional<Handoff>> handoffs;
  json::array data;
  for (const auto& e : page->items) {
    auto [it, fresh] = cases.try_emplace(e.case_id.value());
    if (fresh && e.case_id.value() != 0) {
      auto c = deps.reads.find_case(e.case_id);
      if (!c) {
        return from_error(c.error());
      }
      it->second = std::move(c).value();
    }
    json::object o = to_json(e);
    o["case_type"] = it->second ? json::value(it->second->type) : nullptr;
    o["channel"] = it->second ? json::value(to_string(it->second->channel)) : nullptr;
    if (const auto* hid = e.find("handoff_id");
        hid != nullptr && std::holds_alternative<double>(*hid)) {
      auto key = static_cast<std::uint64_t>(std::get<double>(*hid));
      auto [h, first] = handoffs.try_emplace(key);
      if (first) {
        auto found = deps.reads.find_handoff(HandoffId(key));
        if (!found) {
          return from_error(found.error());
        }
        h->second = std::move(found).value();
      }
      if (h->second) {
        o["handoff"] = to_json(*h->second);
      }
    }
    data.push_back(std::move(o));
  }
  return json_response(
      200,
      json::object{{"data", std::move(data)},
                   {"next_cursor",
                    page->next_cursor ? json::value(seal_cursor(*page->next_cursor)) : nullptr}});
}

void Routes::Impl::merge_customer(const CallPtr& call) {
  auto body = body_of(call);
  if (!body) {
    return;
  }
  std::vector<FieldError> errors;
  Fields f(*body, errors);
  std::optional<CustomerId> from;
  if (auto text = f.text("from", true, 100)) {
    if (auto n = parse_id("cus_", *text)) {
      from = CustomerId(*n);
    } else {
      f.fail("from", "must be a customer id (cus_…)");
    }
  }
  if (refuse_if(call, errors)) {
    return;
  }
  auto n = parse_id("cus_", call->params[0]);
  if (!n) {
    finish(call, not_found("customer", call->params[0]));
    return;
  }
  command(call, [this, call, into = CustomerId(*n), from = *from]() -> Response {
    auto r = deps.engine.merge_customers(into, from, call->who.actor);
    if (!r) {
      return from_error(r.error());
    }
    audit(call, "customer.merged", customer_id(into), {{"from", customer_id(from)}});
    return json_response(200, to_json(r.value()));
  });
}

}  // namespace baton::api
