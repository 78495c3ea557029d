// Webhook subscriptions (the deliveries are queued by command framing).

#include "engine_internal.h"

namespace baton::engine {

using namespace internal;

Result<Webhook> Engine::create_webhook(Webhook w) {
  BATON_RETURN_IF_ERROR(writable());
  if (!w.url.starts_with("http://") && !w.url.starts_with("https://")) {
    return invalid("url", "must be an http:// or https:// URL");
  }
  if (w.events.empty()) {
    return invalid("events", "must name at least one event (or \"*\")");
  }
  const auto& known = webhook_event_names();
  for (std::size_t i = 0; i < w.events.size(); ++i) {
    if (w.events[i] != "*" && std::find(known.begin(), known.end(), w.events[i]) == known.end()) {
      return invalid("events[" + std::to_string(i) + "]", "unknown event '" + w.events[i] + "'");
    }
  }
  if (w.secret.size() < 16) {
    return invalid("secret", "must be at least 16 characters");
  }
  begin();
  w.id = WebhookId(next_webhook_++);
  w.active = true;
  w.created_at = command_now();
  webhooks_.push_back(w);
  pending_.webhooks.push_back(w);
  finish();
  return w;
}

Result<Webhook> Engine::remove_webhook(WebhookId id) {
  BATON_RETURN_IF_ERROR(writable());
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  if (it == webhooks_.end()) {
    return not_found("webhook " + std::to_string(id.value()));
  }
  begin();
  it->active = false;
  pending_.webhooks.push_back(*it);
  finish();
  return *it;
}

const Webhook* Engine::find_webhook(WebhookId id) const {
  auto it = std::find_if(webhooks_.begin(), webhooks_.end(),
                         [&](const Webhook& w) { return w.id == id; });
  return it == webhooks_.end() ? nullptr : &*it;
}

std::vector<const Webhook*> Engine::webhooks() const {
  std::vector<const Webhook*> out;
  for (const auto& w : webhooks_) {
    out.push_back(&w);
  }
  return out;
}

Status Engine::record_access(AccessChange change) {
  BATON_RETURN_IF_ERROR(writable());
  begin();
  pending_.tokens = std::move(change.tokens);
  pending_.passwords = std::move(change.passwords);
  pending_.audit = std::move(change.audit);
  finish();
  return {};
}

}  // namespace baton::engine
