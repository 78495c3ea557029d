#pragma once

// The webhook sender: one thread that reads the outbox (rows the journal wrote with their
// events), makes each delivery's body once, signs it and POSTs it, and records what the
// receiver said. At least once: a delivery is marked delivered only after a 2xx, so a
// crash in between sends it again, with the same body and the same Baton-Delivery id.

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

  // Reads the outbox now (new rows were committed).
  void wake();
  // Finishes the attempt in progress, then returns. Idempotent.
  void stop();
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::api
