#pragma once

// The webhook sender: reads the outbox (rows the journal wrote with their events), makes
// each delivery's body once, signs it and POSTs it (webhook_client.h: addresses checked,
// TLS verified), many at once but one per webhook, and records what the receiver said.
// At least once: a delivery is marked delivered only after a 2xx, so a crash in between
// sends it again, with the same body and the same Baton-Delivery id. Delivered and dead
// rows are pruned after [webhooks] keep_finished.

#include <memory>
#include <string>

#include "baton/api/server.h"

namespace baton::api {

// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under secret>".
std::string webhook_signature(const std::string& secret, long long unix_seconds,
                              const std::string& body);

class WebhookSender {
 public:
  WebhookSender(WebhookOptions options, engine::WebhookOutbox& outbox, engine::Clock& clock);
  ~WebhookSender();  // stops
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Empty when the sender can run; else why not (a CA file that cannot be read).
  const std::string& error() const;
  // Reads the outbox now (new rows were committed).
  void wake();
  // Stops reading the outbox and drops the attempts in flight (their rows stay pending and
  // are sent again). Idempotent.
  void stop();
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::api
